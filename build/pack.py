"""Pack a folder program into ONE file that unpacks itself once (Linux).

    python build/pack.py ONEDIR_FOLDER OUTPUT_FILE

ONEDIR_FOLDER holds the program `larder` (PyInstaller's onedir build: `larder` +
`_internal/`). OUTPUT_FILE = build/unpack_once.c compiled + the folder as PARTS tar.gz
archives of about equal size (they unpack in parallel) + a table of the parts + a trailer
with the build id (build/unpack_once.c says what happens at start). build/build.py calls
this after PyInstaller; tests/test_unpack_once.py packs a tiny stand-in program with it.
Needs a C compiler (`cc`) and zlib's header (Debian: gcc, zlib1g-dev).
"""
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tarfile
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
# gzip level 6: within 1-2 % of level 9's size here, twice as fast to build; unpacking
# speed does not depend on the level.
GZIP_LEVEL = 6


class PackError(Exception):
    pass


def compile_stub(out):
    """Compile the launcher; returns its path."""
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        raise PackError("no C compiler (cc) found: install gcc (Debian: apt-get install gcc)")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [compiler, "-O2", "-Wall", "-Wextra", "-Werror", "-s", "-o", str(out),
           str(STUB_SOURCE), "-lz"]
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


def make_part(folder, folders, paths, out, level=GZIP_LEVEL):
    """One tar.gz: all the folders first, then the given files, named relative to the
    folder. Every part makes every folder itself: GNU tar gives up on a file whose missing
    parent folders another tar created meanwhile ("Cannot open: No such file")."""
    folder = Path(folder)
    with tarfile.open(out, "w:gz", compresslevel=level) as tar:
        for path in [*folders, *paths]:
            tar.add(path, arcname=str(path.relative_to(folder)), recursive=False,
                    filter=_anonymous)
    return Path(out)


def make_parts(folder, work, parts=PARTS):
    folder = Path(folder)
    if not (folder / APP).is_file():
        raise PackError(f"{folder} has no program named {APP!r}")
    folders, groups = split(folder, parts)
    # In threads: zlib compresses without holding the GIL (build time ~halved on 2 cores).
    with ThreadPoolExecutor(len(groups)) as pool:
        return list(pool.map(lambda i: make_part(folder, folders, groups[i],
                                                 Path(work) / f"part{i}.tar.gz"),
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


def pack(folder, out, work=None):
    """The whole job; returns the build id."""
    out = Path(out)
    work = Path(work) if work else out.parent
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
