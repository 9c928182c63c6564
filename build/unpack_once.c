/* The one-file Larder for Linux: unpack the bundled app ONCE per version, then run it.
 *
 * dist/larder = this small program + PARTS + TABLE + TRAILER, made by build/pack.py:
 *   PARTS    tar.zst archives that together hold PyInstaller's onedir build (the program
 *            `larder` + `_internal/`), split by size so they unpack in parallel
 *   TABLE    per part: offset (u64 LE), size (u64 LE)
 *   TRAILER  "LARDER-ONEFILE-1" | table offset (u64 LE) | number of parts (u64 LE)
 *            | build id (32 hex digits: SHA-256 of the parts, truncated)
 *
 * Why: PyInstaller's own one-file mode unpacks ~400 MB into /tmp at EVERY start (~2.3 s
 * here), which alone breaks the 3 s start-up target. This program unpacks into
 *   $XDG_CACHE_HOME/larder/app/<build id>/   (default ~/.cache/larder/app/<build id>/;
 *   Qt WebEngine keeps its own cache beside it, in ~/.cache/larder/QtWebEngine/)
 * the first time a version runs, and afterwards only exec()s the unpacked program: the
 * same process (pid, signals, exit status), nothing left running, nothing in /tmp.
 *
 * - Private: the cache folder is created 0700 and must be a real folder owned by us.
 * - Atomic: unpacked into `.unpack-XXXXXX`, renamed into place when complete, under an
 *   exclusive lock (`.lock`), so two first starts at once unpack once and a killed first
 *   start leaves only a `.unpack-*` folder, removed by the next unpack.
 * - One version kept: every running version holds a shared lock on its folder (the
 *   descriptor is inherited across exec()); each start removes the other versions whose
 *   lock is free (not running), so an upgrade frees the old one's space at once or, if
 *   it was still running, at the next start.
 * - Unpacking: one process per part decompresses it (zstd, linked in statically: Larder's
 *   largest part in 0.3 s where zlib takes 0.7 s) into the system's `tar -x` (always
 *   there on Linux).
 * Errors: one line on stderr, exit status 2.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#define MAGIC "LARDER-ONEFILE-1"
#define MAGIC_LEN 16
#define ID_LEN 32
#define TRAILER_LEN (MAGIC_LEN + 8 + 8 + ID_LEN)
#define MAX_PARTS 16

struct part {
    uint64_t offset, size;
};
#define APP "larder"

static void fail(const char *fmt, ...)
{
    va_list args;
    fputs("larder: ", stderr);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);
    exit(2);
}

/* out = a + "/" + b, refused when too long (PATH_MAX buffers everywhere). */
static void join(char out[PATH_MAX], const char *a, const char *b)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", a, b);
    if (n < 0 || n >= PATH_MAX)
        fail("the cache folder path is too long: set XDG_CACHE_HOME to a shorter one");
}

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void damaged(const char *why)
{
    fail("this file is incomplete or damaged (%s): download or build it again", why);
}

/* The parts' places in this file and the build id; a damaged file is refused. */
static int read_trailer(int fd, struct part parts[MAX_PARTS], char id[ID_LEN + 1])
{
    struct stat st;
    unsigned char t[TRAILER_LEN], table[MAX_PARTS * 16];
    if (fstat(fd, &st) != 0 || st.st_size < TRAILER_LEN ||
        pread(fd, t, TRAILER_LEN, st.st_size - TRAILER_LEN) != TRAILER_LEN ||
        memcmp(t, MAGIC, MAGIC_LEN) != 0)
        damaged("no Larder payload at its end");
    uint64_t table_at = le64(t + MAGIC_LEN), count = le64(t + MAGIC_LEN + 8);
    if (count < 1 || count > MAX_PARTS ||
        table_at + count * 16 + TRAILER_LEN != (uint64_t)st.st_size ||
        pread(fd, table, count * 16, (off_t)table_at) != (ssize_t)(count * 16))
        damaged("bad table of parts");
    for (uint64_t i = 0; i < count; i++) {
        parts[i].offset = le64(table + 16 * i);
        parts[i].size = le64(table + 16 * i + 8);
        if (parts[i].offset + parts[i].size > table_at || parts[i].size == 0)
            damaged("a part is out of place");
    }
    memcpy(id, t + MAGIC_LEN + 16, ID_LEN);
    id[ID_LEN] = '\0';
    if (strspn(id, "0123456789abcdef") != ID_LEN)
        damaged("bad build id");
    return (int)count;
}

/* mkdir -p; the folders it creates are private (0700). */
static int make_dirs(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return (mkdir(buf, 0700) != 0 && errno != EEXIST) ? -1 : 0;
}

/* $XDG_CACHE_HOME/larder/app (XDG_CACHE_HOME only when absolute, as the XDG spec says),
 * else ~/.cache/larder/app; created private, refused unless it is our own real folder. */
static void cache_root(char *out, size_t len)
{
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int n;
    if (xdg && xdg[0] == '/') {
        n = snprintf(out, len, "%s/larder/app", xdg);
    } else {
        if (!home || home[0] != '/') {
            struct passwd *pw = getpwuid(getuid());
            home = pw ? pw->pw_dir : NULL;
        }
        if (!home || home[0] != '/')
            fail("no home folder to unpack into: set XDG_CACHE_HOME to a writable folder");
        n = snprintf(out, len, "%s/.cache/larder/app", home);
    }
    if (n < 0 || (size_t)n >= len)
        fail("the cache folder path is too long: set XDG_CACHE_HOME to a shorter one");
    if (make_dirs(out) != 0)
        fail("cannot create %s (%s): set XDG_CACHE_HOME to a writable folder", out,
             strerror(errno));
    struct stat st;
    if (lstat(out, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid())
        fail("%s is not a folder of yours: remove it or set XDG_CACHE_HOME", out);
    if ((st.st_mode & 077) != 0)
        chmod(out, 0700);
}

/* The unpacked version's folder, opened with a shared lock held (kept across exec: it
 * tells a newer version's cleanup that this one is running); -1 if not (fully) there. */
static int open_version(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    struct stat by_fd, by_path;
    if (flock(fd, LOCK_SH) != 0 || fstat(fd, &by_fd) != 0 || stat(dir, &by_path) != 0 ||
        by_fd.st_ino != by_path.st_ino || by_fd.st_dev != by_path.st_dev ||
        faccessat(fd, APP, X_OK, 0) != 0) {
        close(fd); /* removed while we waited for the lock, or never completed */
        return -1;
    }
    return fd;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)ftw;
    return (flag == FTW_DP ? rmdir(path) : unlink(path)) != 0 && errno != ENOENT;
}

static void remove_tree(const char *path)
{
    nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS);
}

static int write_all(int fd, const unsigned char *buf, size_t len)
{
    while (len > 0) {
        ssize_t put = write(fd, buf, len);
        if (put < 0 && errno == EINTR)
            continue;
        if (put <= 0)
            return -1;
        buf += put;
        len -= (size_t)put;
    }
    return 0;
}

/* Decompress one part (a zstd frame) from this file into `out`; 0 on success. */
static int decompress_part(int exe_fd, struct part part, int out)
{
    static unsigned char in[1 << 20], buf[1 << 20];
    ZSTD_DStream *z = ZSTD_createDStream();
    if (!z)
        return -1;
    size_t hint = 1; /* ZSTD_decompressStream's answer: 0 once the frame is complete */
    uint64_t offset = part.offset, left = part.size;
    while (hint != 0 && left > 0) {
        ssize_t got = pread(exe_fd, in, left < sizeof in ? (size_t)left : sizeof in,
                            (off_t)offset);
        if (got <= 0)
            break;
        offset += (uint64_t)got;
        left -= (uint64_t)got;
        ZSTD_inBuffer input = {in, (size_t)got, 0};
        while (input.pos < input.size || hint != 0) {
            ZSTD_outBuffer output = {buf, sizeof buf, 0};
            hint = ZSTD_decompressStream(z, &output, &input);
            if (ZSTD_isError(hint) || write_all(out, buf, output.pos) != 0) {
                ZSTD_freeDStream(z);
                return -1;
            }
            if (output.pos < output.size && input.pos == input.size)
                break; /* all of this input used and flushed: read more */
        }
    }
    ZSTD_freeDStream(z);
    return hint == 0 ? 0 : -1;
}

/* In a child process: one part -> `tar -x` in folder `into`; exits 0 on success. */
static void unpack_part(int exe_fd, struct part part, const char *into)
{
    int fds[2];
    if (pipe(fds) != 0)
        _exit(1);
    pid_t tar = fork();
    if (tar < 0)
        _exit(1);
    if (tar == 0) {
        dup2(fds[0], 0);
        close(fds[0]);
        close(fds[1]);
        execlp("tar", "tar", "-xf", "-", "--no-same-owner", "-C", into, (char *)NULL);
        _exit(127);
    }
    close(fds[0]);
    signal(SIGPIPE, SIG_IGN); /* tar failing must show as its exit status */
    int ok = decompress_part(exe_fd, part, fds[1]) == 0;
    close(fds[1]);
    int status;
    while (waitpid(tar, &status, 0) < 0 && errno == EINTR)
        ;
    _exit(ok && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1);
}

/* All parts at once, one process each (they hold disjoint files); 0 on success. */
static int unpack_parts(int exe_fd, const struct part *parts, int count, const char *into)
{
    pid_t pids[MAX_PARTS];
    int ok = 1;
    for (int i = 0; i < count; i++) {
        pids[i] = fork();
        if (pids[i] == 0)
            unpack_part(exe_fd, parts[i], into);
        if (pids[i] < 0)
            ok = 0;
    }
    for (int i = 0; i < count; i++) {
        int status;
        if (pids[i] < 0)
            continue;
        while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            ok = 0;
    }
    return ok ? 0 : -1;
}

/* Remove version `name` unless a process runs it (holds its lock); 0 when removed.
 * Called with the root's exclusive lock held. */
static int discard_version(const char *root, const char *name)
{
    char path[PATH_MAX], trash[PATH_MAX], old[ID_LEN + 16];
    join(path, root, name);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int removed = -1;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        /* Renamed first, so a start of that version never sees it half removed. */
        snprintf(old, sizeof old, ".unpack-old-%s", name);
        join(trash, root, old);
        if (rename(path, trash) == 0) {
            remove_tree(trash);
            removed = 0;
        }
    }
    close(fd);
    return removed;
}

/* Remove the versions but `keep` that no process is running, and what a killed unpack
 * left behind. Called with the root's exclusive lock held. */
static void remove_old_versions(const char *root, const char *keep)
{
    DIR *dir = opendir(root);
    if (!dir)
        return;
    struct dirent *entry;
    char path[PATH_MAX];
    while ((entry = readdir(dir)) != NULL) {
        const char *name = entry->d_name;
        if (!strcmp(name, ".") || !strcmp(name, "..") || !strcmp(name, ".lock") ||
            !strcmp(name, keep))
            continue;
        join(path, root, name);
        if (!strncmp(name, ".unpack-", 8)) {
            remove_tree(path); /* a killed unpack's leftovers: we hold the lock */
            continue;
        }
        if (strlen(name) != ID_LEN || strspn(name, "0123456789abcdef") != ID_LEN)
            continue; /* not ours: leave it */
        discard_version(root, name);
    }
    closedir(dir);
}

static int lock_root(const char *root, int how)
{
    char path[PATH_MAX];
    join(path, root, ".lock");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        fail("cannot open %s: %s", path, strerror(errno));
    if (flock(fd, how) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Every start: remove unused other versions, unless another start is unpacking now. */
static void tidy(const char *root, const char *keep)
{
    int lock = lock_root(root, LOCK_EX | LOCK_NB);
    if (lock >= 0) {
        remove_old_versions(root, keep);
        close(lock);
    }
}

static int unpack(int exe_fd, const struct part *parts, int count, const char *root,
                  const char *id, const char *dir)
{
    char tmp[PATH_MAX];
    int lock = lock_root(root, LOCK_EX);
    if (lock < 0)
        fail("cannot lock %s/.lock: %s", root, strerror(errno));
    int fd = open_version(dir); /* another first start may have unpacked it meanwhile */
    if (fd >= 0) {
        close(lock);
        return fd;
    }
    double size = 0;
    for (int i = 0; i < count; i++)
        size += (double)parts[i].size;
    fprintf(stderr, "larder: first start of this version: unpacking %.1f MB into %s "
                    "(once; later starts skip this)\n", size / 1e6, dir);
    join(tmp, root, ".unpack-XXXXXX");
    if (!mkdtemp(tmp))
        fail("cannot create a folder in %s: %s", root, strerror(errno));
    if (unpack_parts(exe_fd, parts, count, tmp) != 0) {
        remove_tree(tmp);
        fail("unpacking into %s failed (is the disk full? is `tar` installed?)", root);
    }
    /* A folder of this version that open_version() refused (its program was deleted
     * or damaged by hand): replaced, unless something still runs from it. */
    struct stat st;
    if (lstat(dir, &st) == 0 && discard_version(root, id) != 0) {
        remove_tree(tmp);
        fail("%s is damaged and in use: close Larder, remove that folder, start again", dir);
    }
    if (rename(tmp, dir) != 0) {
        int err = errno;
        remove_tree(tmp);
        fail("cannot move the unpacked app to %s: %s", dir, strerror(err));
    }
    fd = open_version(dir);
    remove_old_versions(root, id);
    close(lock);
    return fd;
}

int main(int argc, char **argv)
{
    (void)argc;
    char exe[PATH_MAX], root[PATH_MAX], dir[PATH_MAX], app[PATH_MAX], id[ID_LEN + 1];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        fail("cannot find this program's own file (/proc/self/exe)");
    exe[n] = '\0';
    int exe_fd = open(exe, O_RDONLY | O_CLOEXEC);
    if (exe_fd < 0)
        fail("cannot read %s: %s", exe, strerror(errno));
    struct part parts[MAX_PARTS];
    int count = read_trailer(exe_fd, parts, id);
    cache_root(root, sizeof root);
    join(dir, root, id);
    join(app, dir, APP);
    int version_fd = open_version(dir);
    if (version_fd >= 0)
        tidy(root, id);
    else
        version_fd = unpack(exe_fd, parts, count, root, id, dir);
    if (version_fd < 0)
        fail("%s is incomplete after unpacking: remove it and start again", dir);
    close(exe_fd);
    /* The app may want the file the user started (e.g. to show it); the lock on the
     * version folder stays held by version_fd, which exec() keeps open. */
    setenv("LARDER_EXECUTABLE", exe, 1);
    execv(app, argv);
    fail("cannot start %s: %s", app, strerror(errno));
    return 2;
}
