"""The one file's launcher (build/unpack_once.c, packed by build/pack.py), with a tiny
stand-in program instead of Larder: fast, so it runs in the default suite. The real
executable gets the same checks in tests/test_executable*.py (slow)."""
import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import require_binary

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "build"))
import pack  # noqa: E402  (build/ is not a package)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the unpack-once launcher is for Linux")

# Stands in for PyInstaller's onedir `larder`: prints what it was given, where it runs
# from and one data file's text; `wait FILE` writes FILE and sleeps (a running version).
PROGRAM = """#!/bin/sh
here=$(dirname "$0")
if [ "$1" = wait ]; then echo "$$" > "$2"; exec sleep 60; fi
echo "pid=$$"
echo "here=$here"
echo "exe=$LARDER_EXECUTABLE"
echo "data=$(cat "$here/_internal/data.txt")"
for arg in "$@"; do echo "arg=$arg"; done
exit 7
"""


def make_program(folder, data):
    folder = Path(folder)
    (folder / "_internal" / "sub").mkdir(parents=True)
    (folder / "larder").write_text(PROGRAM)
    (folder / "larder").chmod(0o755)
    (folder / "_internal" / "data.txt").write_text(data)
    # Big enough to land in both parts, plus a symlink (PyInstaller's onedir has them).
    (folder / "_internal" / "sub" / "big.bin").write_bytes(os.urandom(300_000))
    (folder / "_internal" / "link.txt").symlink_to("data.txt")
    (folder / "_internal" / "alias").symlink_to("sub", target_is_directory=True)
    # Many folders whose files land in different parts, which unpack at the same time.
    for i in range(60):
        nested = folder / "_internal" / f"pkg{i}" / "lib"
        nested.mkdir(parents=True)
        for name in ("a.so", "b.so"):
            (nested / name).write_bytes(os.urandom(4000))
    return folder


@pytest.fixture(scope="module")
def stub(tmp_path_factory):
    require_binary("cc")
    require_binary("tar")
    try:
        return pack.compile_stub(tmp_path_factory.mktemp("stub") / "unpack_once")
    except pack.PackError as exc:  # e.g. no libzstd-dev: skipped locally, fails in CI
        if os.environ.get("CI"):
            raise
        pytest.skip(f"cannot compile the launcher: {exc}")


@pytest.fixture
def packed(stub, tmp_path):
    """packed(data) -> (path of a one file holding the stand-in program, its build id)."""
    count = 0

    def make(data="version one"):
        nonlocal count
        count += 1
        work = tmp_path / f"build{count}"
        folder = make_program(work / "onedir", data)
        parts = pack.make_parts(folder, work)
        out = tmp_path / "dist" / f"larder{count}"  # dist/ made by assemble (fresh clone)
        return out, pack.assemble(stub, parts, out)

    return make


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


def run(exe, cache, *args):
    env = {k: v for k, v in os.environ.items() if k != "LARDER_EXECUTABLE"}
    env["XDG_CACHE_HOME"] = str(cache)
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=env,
                          timeout=60)


def fields(out):
    return [line.split("=", 1) for line in out.splitlines()]


def versions(cache):
    return sorted(p.name for p in (cache / "larder" / "app").iterdir())


def test_first_start_unpacks_then_runs_the_program_in_place(packed, cache):
    exe, build_id = packed()
    proc = run(exe, cache, "two words", "--data-dir", "x")
    assert proc.returncode == 7, proc.stderr  # the program's own exit status
    assert "unpacking" in proc.stderr and build_id in proc.stderr
    out = dict(fields(proc.stdout))
    assert out["here"] == str(cache / "larder" / "app" / build_id)
    assert out["exe"] == str(exe)
    assert out["data"] == "version one"
    assert [v for k, v in fields(proc.stdout) if k == "arg"] == ["two words", "--data-dir", "x"]
    assert versions(cache) == [".lock", build_id]
    assert (cache / "larder" / "app").stat().st_mode & 0o777 == 0o700
    assert os.readlink(cache / "larder" / "app" / build_id / "_internal" / "link.txt") == "data.txt"
    assert os.readlink(cache / "larder" / "app" / build_id / "_internal" / "alias") == "sub"
    assert (cache / "larder" / "app" / build_id / "_internal" / "sub" / "big.bin").stat().st_size \
        == 300_000
    assert len(list((cache / "larder" / "app" / build_id / "_internal").glob("pkg*/lib/*.so"))) == 120


def test_later_starts_reuse_the_unpacked_folder(packed, cache):
    exe, build_id = packed()
    run(exe, cache)
    inode = (cache / "larder" / "app" / build_id).stat().st_ino
    proc = run(exe, cache, "again")
    assert proc.returncode == 7
    assert proc.stderr == ""  # nothing unpacked, nothing said
    assert (cache / "larder" / "app" / build_id).stat().st_ino == inode


def test_the_program_replaces_the_launcher_process(packed, cache):
    """exec(): same pid, so signals and `kill` reach the app, and nothing stays behind."""
    exe, _ = packed()
    env = dict(os.environ, XDG_CACHE_HOME=str(cache))
    proc = subprocess.Popen([str(exe)], stdout=subprocess.PIPE, text=True, env=env)
    out, _ = proc.communicate(timeout=60)
    assert dict(fields(out))["pid"] == str(proc.pid)


def test_simultaneous_first_starts_unpack_once(packed, cache):
    exe, build_id = packed()
    env = dict(os.environ, XDG_CACHE_HOME=str(cache))
    procs = [subprocess.Popen([str(exe)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for _ in range(4)]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [7] * 4
    assert sum("unpacking" in err for _, err in results) == 1
    assert all(dict(fields(out))["data"] == "version one" for out, _ in results)
    assert versions(cache) == [".lock", build_id]


def wait_file(path, timeout=30):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def test_a_new_version_replaces_the_old_one_once_it_has_stopped(packed, cache, tmp_path):
    old, old_id = packed("version one")
    new, new_id = packed("version two")
    assert old_id != new_id
    running = subprocess.Popen([str(old), "wait", str(tmp_path / "started")],
                               env=dict(os.environ, XDG_CACHE_HOME=str(cache)))
    try:
        wait_file(tmp_path / "started")
        # The running version holds a shared lock on its folder (kept across exec()).
        folder = os.open(cache / "larder" / "app" / old_id, os.O_RDONLY)
        with pytest.raises(BlockingIOError):
            fcntl.flock(folder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(folder)
        proc = run(new, cache)
        assert proc.returncode == 7 and dict(fields(proc.stdout))["data"] == "version two"
        assert versions(cache) == sorted([".lock", old_id, new_id])  # old one still in use
    finally:
        running.kill()
        running.wait()
    assert run(new, cache).returncode == 7
    assert versions(cache) == [".lock", new_id]  # removed at the next start


def test_a_killed_first_start_leaves_nothing_that_lasts(packed, cache):
    exe, build_id = packed()
    leftover = cache / "larder" / "app" / ".unpack-abc123"
    (leftover / "_internal").mkdir(parents=True)  # what a SIGKILL mid-unpack leaves
    (leftover / "larder").write_text("half")
    assert run(exe, cache).returncode == 7
    assert versions(cache) == [".lock", build_id]


def test_a_damaged_unpacked_folder_is_unpacked_again(packed, cache):
    exe, build_id = packed()
    run(exe, cache)
    (cache / "larder" / "app" / build_id / "larder").unlink()  # e.g. removed by hand
    proc = run(exe, cache)
    assert proc.returncode == 7, proc.stderr
    assert "unpacking" in proc.stderr
    assert dict(fields(proc.stdout))["data"] == "version one"
    assert versions(cache) == [".lock", build_id]


def test_a_truncated_file_is_refused_in_one_line(packed, cache, tmp_path):
    exe, _ = packed()
    data = exe.read_bytes()
    broken = tmp_path / "truncated"
    broken.write_bytes(data[:-10])
    broken.chmod(0o755)
    proc = run(broken, cache)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("larder: this file is incomplete or damaged")
    assert not (cache / "larder" / "app").exists() or versions(cache) == []


def test_a_corrupt_part_fails_cleanly_and_unpacks_nothing(packed, cache, tmp_path):
    exe, _ = packed()
    data = bytearray(exe.read_bytes())
    middle = len(data) // 2  # inside a part (the launcher is ~20 KB of ~300 KB)
    data[middle:middle + 64] = bytes(64)
    broken = tmp_path / "corrupt"
    broken.write_bytes(bytes(data))
    broken.chmod(0o755)
    proc = run(broken, cache)
    assert proc.returncode == 2, proc.stdout
    assert proc.stderr.splitlines()[-1].startswith("larder: unpacking into")
    assert versions(cache) == [".lock"]  # no version, no half-unpacked folder


def test_a_cache_folder_that_is_not_ours_is_refused(packed, cache, tmp_path):
    exe, _ = packed()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (cache / "larder").mkdir(parents=True)
    (cache / "larder" / "app").symlink_to(elsewhere)
    proc = run(exe, cache)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"larder: {cache / 'larder' / 'app'} is not a folder of yours: " \
                                  "remove it or set XDG_CACHE_HOME"
    assert list(elsewhere.iterdir()) == []
