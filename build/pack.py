"""Pack a folder program into ONE file that unpacks itself once (Linux).

    python build/pack.py ONEDIR_FOLDER OUTPUT_FILE

ONEDIR_FOLDER holds the program `larder` (PyInstaller's onedir build: `larder` +
`_internal/`). OUTPUT_FILE = build/unpack_once.c compiled + the folder as PARTS tar.zst
archives of about equal size (they unpack in parallel) + a table of the parts + a trailer
with the build id (build/unpack_once.c says what happens at start). build/build.py calls
this after PyInstaller; tests/test_unpack_once.py packs a tiny stand-in program with it.
Needs a C compiler (`cc`), zstd's header and static library (Debian: gcc, libzstd-dev),
and the `zstandard` package (requirements-dev.txt).
"""
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
STUB_SOURCE = HERE / "unpack_once.c"
MAGIC = b"LARDER-ONEFILE-1"
ID_LEN = 32
TRAILER = struct.Struct(f"<{len(MAGIC)}sQQ{ID_LEN}s")  # magic, table at, parts, build id
PART = struct.Struct("<QQ")  # offset, size
APP = "larder"
# Two parts: QtWebEngineCore alone is about half of Larder, so more parts would not
# unpack faster; two keep both cores of a small machine busy.
PARTS = 2
# zstd level 12: 148 MB where gzip -6 made 169 MB, ~7 s to compress on 2 cores, and
# Qt WebEngine's part decompresses in 0.28 s (zlib: 0.7 s). Level 19 makes 134 MB but
# takes a minute to build and 0.6 s to decompress.
ZSTD_LEVEL = 12


class PackError(Exception):
    pass


def compile_stub(out):
    """Compile the launcher; returns its path."""
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        raise PackError("no C compiler (cc) found: install gcc (Debian: apt-get install gcc)")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # zstd linked in statically: the user's machine may not have libzstd.so.1.
    cmd = [compiler, "-O2", "-Wall", "-Wextra", "-Werror", "-s", "-o", str(out),
           str(STUB_SOURCE), "-Wl,-Bstatic", "-lzstd", "-Wl,-Bdynamic"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise PackError(f"compiling {STUB_SOURCE.name} failed:\n{result.stderr}")
    return out


def _anonymous(info):
    """No trace of the build machine's users in the archive."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def split(folder, parts=PARTS):
    """(folders, groups): every folder below `folder` (parents first), and its files and
    symlinks in `parts` groups of about equal size (largest first into the lightest)."""
    folders, entries = [], []
    # os.walk does not descend into symlinked folders: they are entries (links) here.
    for top, dirs, files in os.walk(folder):
        for name in sorted(dirs):
            path = Path(top, name)
            (entries if path.is_symlink() else folders).append(path)
        entries += [Path(top, name) for name in files]
    entries.sort(key=lambda p: (-p.lstat().st_size, str(p)))
    groups = [[] for _ in range(parts)]
    sizes = [0] * parts
    for path in entries:
        smallest = sizes.index(min(sizes))
        groups[smallest].append(path)
        sizes[smallest] += path.lstat().st_size
    return folders, [sorted(group) for group in groups if group]


def make_part(folder, folders, paths, out, level=ZSTD_LEVEL):
    """One tar.zst: all the folders first, then the given files, named relative to the
    folder. Every part makes every folder itself: GNU tar gives up on a file whose missing
    parent folders another tar created meanwhile ("Cannot open: No such file")."""
    try:
        import zstandard  # a build requirement only (requirements-dev.txt)
    except ImportError:
        raise PackError("the zstandard package is missing: "
                        "pip install -r requirements-dev.txt") from None

    folder = Path(folder)
    compressor = zstandard.ZstdCompressor(level=level, write_checksum=True, threads=-1)
    with open(out, "wb") as raw, compressor.stream_writer(raw, closefd=False) as zst, \
            tarfile.open(fileobj=zst, mode="w|") as tar:
        for path in [*folders, *paths]:
            tar.add(path, arcname=str(path.relative_to(folder)), recursive=False,
                    filter=_anonymous)
    return Path(out)


def make_parts(folder, work, parts=PARTS):
    folder = Path(folder)
    if not (folder / APP).is_file():
        raise PackError(f"{folder} has no program named {APP!r}")
    folders, groups = split(folder, parts)
    # In threads: zstd compresses without holding the GIL.
    with ThreadPoolExecutor(len(groups)) as pool:
        return list(pool.map(lambda i: make_part(folder, folders, groups[i],
                                                 Path(work) / f"part{i}.tar.zst"),
                             range(len(groups))))


def build_id(files):
    digest = hashlib.sha256()
    for name in files:
        with open(name, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:ID_LEN]


def assemble(stub, parts, out):
    """stub + parts + table + trailer -> out (written beside, then renamed into place:
    never half a file); returns the build id."""
    out = Path(out)
    ident = build_id(parts)
    table = []
    tmp = out.with_name(out.name + ".tmp")
    out.parent.mkdir(parents=True, exist_ok=True)  # dist/ does not exist in a fresh clone
    with open(tmp, "wb") as dest:
        for index, part in enumerate([stub, *parts]):
            offset = dest.tell()
            with open(part, "rb") as src:
                shutil.copyfileobj(src, dest, 1 << 20)
            if index:
                table.append(PART.pack(offset, dest.tell() - offset))
        table_at = dest.tell()
        dest.write(b"".join(table))
        dest.write(TRAILER.pack(MAGIC, table_at, len(table), ident.encode()))
    tmp.chmod(0o755)
    os.replace(tmp, out)
    return ident


def read_build_id(path):
    """The build id in a packed file's trailer, or None (not a file made by assemble)."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() < TRAILER.size:
            return None
        f.seek(-TRAILER.size, os.SEEK_END)
        magic, _, _, ident = TRAILER.unpack(f.read(TRAILER.size))
    return ident.decode() if magic == MAGIC else None


def pack(folder, out, work=None):
    """The whole job; returns the build id."""
    out = Path(out)
    if work is None:
        with tempfile.TemporaryDirectory(prefix="larder-pack-") as tmp:
            return pack(folder, out, tmp)
    work = Path(work)
    stub = compile_stub(work / "unpack_once")
    parts = make_parts(folder, work)
    try:
        return assemble(stub, parts, out)
    finally:
        for part in parts:
            part.unlink()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python build/pack.py ONEDIR_FOLDER OUTPUT_FILE", file=sys.stderr)
        return 2
    try:
        ident = pack(argv[0], argv[1])
    except (PackError, OSError) as exc:
        print(f"pack.py: {exc}", file=sys.stderr)
        return 2
    print(f"packed {argv[1]} (build id {ident})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
