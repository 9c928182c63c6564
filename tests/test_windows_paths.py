"""Paths that become URLs are built so that they read back as the same path, Windows
paths included (issue 9: `file://C:\\larder2\\results` crashed every worker node with
"Port could not be cast to integer"), and the atomic write waits out a reader that holds
the file on Windows, raising at once anything else.

Windows paths are fed through the same builders and the parsers that read them (Celery's,
kombu's, SQLAlchemy's) as text; the POSIX paths go through build_config and a real Celery
result store on disk."""
import os
import subprocess
import sys
import time
from pathlib import PurePosixPath, PureWindowsPath

import pytest
from celery import Celery
from celery.app.backends import by_url
from celery.backends.filesystem import FilesystemBackend
from kombu.utils.url import maybe_sanitize_url
from sqlalchemy.engine import make_url

from webapp import atomic_files, create_app
from webapp.background.broker import AtomicFileBackend, result_backend_url
from webapp.config import build_config, sqlite_url

WINDOWS_FOLDERS = [
    r"C:\larder2\results",
    r"C:\Users\Jane Doe\AppData\Local\Larder\results",
    r"D:\Données\shop #1 100%\results",
    r"\\shop-server\shared\Larder\results",
]
POSIX_FOLDERS = ["/home/jane/.local/share/Larder/results", "/srv/shop #1 100%/a?b/results"]


def celery_reads_back(url, windows):
    """The folder Celery's FilesystemBackend derives from `url`: by_url splits off the
    class, _find_path strips the scheme, and on Windows (os.name == "nt") its __init__
    drops one leading "/" (celery/backends/filesystem.py)."""
    backend, inner = by_url(url, loader=Celery(set_as_current=False).loader)
    assert backend is AtomicFileBackend
    path = FilesystemBackend._find_path(None, inner)
    if windows and path.startswith("/"):
        path = path[1:]
    return path


@pytest.mark.parametrize("folder", WINDOWS_FOLDERS)
def test_result_store_url_of_a_windows_folder_reads_back(folder):
    url = result_backend_url(folder)
    maybe_sanitize_url(url)  # what the worker's start-up banner does: it raised here
    assert PureWindowsPath(celery_reads_back(url, windows=True)) == PureWindowsPath(folder)
    assert celery_reads_back(url, windows=True) == folder


@pytest.mark.parametrize("folder", POSIX_FOLDERS)
def test_result_store_url_of_a_posix_folder_reads_back(folder):
    url = result_backend_url(folder)
    maybe_sanitize_url(url)
    assert PurePosixPath(celery_reads_back(url, windows=False)) == PurePosixPath(folder)


@pytest.mark.parametrize("path", [r"C:\Users\Jane Doe\AppData\Local\Larder\larder.db",
                                  r"D:\shop 100%20\larder.db",
                                  r"\\shop-server\shared\Larder\larder.db",
                                  "/srv/shop #1 100%20/a?b/larder.db"])
def test_sqlite_url_reads_back_as_the_same_file(path):
    assert make_url(sqlite_url(path)).database == path


def test_data_dir_with_url_characters_keeps_its_database_and_results(tmp_path):
    """A real data folder whose name holds %20, # and a space: the database URL and the
    result store both point into it (f"sqlite:///{path}" read %20 back as a space)."""
    data_dir = tmp_path / "shop #1 100%20 ok"
    cfg = build_config(data_dir)
    assert make_url(cfg["SQLALCHEMY_DATABASE_URI"]).database == str(data_dir / "larder.db")
    app = create_app({"TESTING": True}, data_dir=data_dir)
    backend = app.extensions["celery"].backend
    assert isinstance(backend, AtomicFileBackend)
    backend.set(b"celery-task-meta-x", b'{"status": "SUCCESS"}')
    assert (data_dir / "results" / "celery-task-meta-x").read_bytes() == \
        b'{"status": "SUCCESS"}'
    assert backend.get(b"celery-task-meta-x") == b'{"status": "SUCCESS"}'


# ---- the atomic write's retry ----------------------------------------------------------

def test_only_a_windows_sharing_error_is_waited_out():
    held = PermissionError(13, "Access is denied")  # WinError 5 and 32 arrive like this
    assert atomic_files.transient(held, os_name="nt")
    assert not atomic_files.transient(held, os_name="posix")
    assert not atomic_files.transient(FileNotFoundError(2, "gone"), os_name="nt")
    assert not atomic_files.transient(IsADirectoryError(21, "dir"), os_name="nt")


def test_the_waits_are_short_and_bounded():
    waits = list(atomic_files.pauses())
    assert waits[0] <= 0.01 and max(waits) <= 0.1
    assert 1.5 <= sum(waits) <= atomic_files.RETRY_FOR


def test_a_replace_blocked_for_a_moment_succeeds_once_released(tmp_path):
    """A real OS error that another process clears: the target is a non-empty folder
    (rename onto it fails) until a second process removes it; with that error counted as
    transient (as a sharing violation is on Windows) the replace waits and succeeds."""
    target = tmp_path / "status.json"
    (target / "held").mkdir(parents=True)
    src = tmp_path / "new.json"
    src.write_text("new")
    with pytest.raises(OSError):
        os.replace(src, target)  # really blocked
    releaser = subprocess.Popen([sys.executable, "-c",
                                 "import shutil, sys, time; time.sleep(0.3); "
                                 "shutil.rmtree(sys.argv[1])", str(target)])
    try:
        atomic_files.retrying(os.replace, src, target,
                              is_transient=lambda exc: isinstance(exc, OSError))
    finally:
        releaser.wait(10)
    assert target.read_text() == "new"


def test_a_blocked_replace_gives_up_with_the_real_error(tmp_path):
    target = tmp_path / "held"
    (target / "inside").mkdir(parents=True)
    src = tmp_path / "new"
    src.write_text("new")
    started = time.monotonic()
    with pytest.raises(OSError):
        atomic_files.retrying(os.replace, src, target, total=0.2,
                              is_transient=lambda exc: isinstance(exc, OSError))
    assert time.monotonic() - started < 5  # bounded (generous: a loaded machine)
    assert src.read_text() == "new"


@pytest.mark.skipif(os.name == "nt", reason="on Windows an access denied is waited out "
                                            "by design (a reader may hold the file)")
def test_any_other_error_is_raised_at_once_and_leaves_nothing(tmp_path):
    target = tmp_path / "folder"
    (target / "inside").mkdir(parents=True)
    calls = []

    def replace(a, b):
        calls.append(1)
        os.replace(a, b)

    src = tmp_path / "x"
    src.write_text("x")
    with pytest.raises(OSError):
        atomic_files.retrying(replace, src, target)  # not Windows, not transient
    assert len(calls) == 1
    with pytest.raises(OSError):
        atomic_files.write_atomically(target, b"data")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "x"]  # no temp left


READER = """
import os, sys, time
from webapp import atomic_files
path, stop = sys.argv[1], sys.argv[2]
seen, bad = set(), 0
open(stop + ".ready", "w").close()
while not os.path.exists(stop):
    data = atomic_files.read_bytes(path)
    if data != data[:2] * 5000:
        bad += 1
    seen.add(data[:2])
    time.sleep(0.002)  # a busy poller (the web process polls a result every 50 ms+)
print(len(seen), bad)
"""


def test_readers_and_a_writer_at_once_see_whole_files(tmp_path):
    """Two processes, as the web process and a worker: one replaces a result 200 times
    while the other reads it every 2 ms. Every read is one whole version and every
    replace goes through (on Windows, where a file being read cannot be replaced, by
    waiting for the reader: run under Wine by build/wine.sh)."""
    path, stop = tmp_path / "result", tmp_path / "stop"
    atomic_files.write_atomically(path, b"v0" * 5000)
    reader = subprocess.Popen([sys.executable, "-c", READER, str(path), str(stop)],
                              stdout=subprocess.PIPE, text=True,
                              cwd=os.path.dirname(os.path.dirname(__file__)))
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "stop.ready").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        for i in range(200):
            atomic_files.write_atomically(path, f"v{i % 10}".encode() * 5000)
            time.sleep(0.001)
    finally:
        stop.write_text("")
        out, _ = reader.communicate(timeout=60)
    seen, bad = map(int, out.split())
    assert reader.returncode == 0 and bad == 0 and seen > 1, out
