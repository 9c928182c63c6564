"""A data folder that cannot be written, or a full disk: one `larder: error: ...` line and
exit 2 for every command; in the window mode a native error box says the same.

The folders are really unwritable, also for root (CI runs as root, where chmod stops
nothing): a read-only tmpfs, a tmpfs that is full, a path under a regular file."""
import os
import subprocess
import sys

import pytest

from test_cli import larder, one_line_error
from worker_proc import ROOT, wait_for
from x11 import VirtualDisplay


def _mount_tmpfs(path, size):
    path.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")


@pytest.fixture
def read_only_data_dir(tmp_path):
    """A data dir made by an earlier run, then made unwritable (like after `sudo larder`):
    as root a tmpfs remounted read-only, else the folder's write bits taken away."""
    mount = tmp_path / "mnt"
    if os.geteuid() == 0:
        _mount_tmpfs(mount, "64m")
    else:
        mount.mkdir()
    data_dir = mount / "data"
    assert larder(data_dir, "demo", "--orders", "5").returncode == 0
    if os.geteuid() == 0:
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
    else:
        data_dir.chmod(0o500)
    yield data_dir
    if os.geteuid() == 0:
        subprocess.run(["umount", "-l", str(mount)], check=False)
    else:
        data_dir.chmod(0o700)


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB tmpfs: room for a new data dir, not for 20,000 demo orders."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small disk needs root")
    mount = tmp_path / "small"
    _mount_tmpfs(mount, "3m")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


COMMANDS = [
    ["demo", "--orders", "5", "--replace"],
    ["import", "products", os.devnull],
    ["user", "add", "sam", "--password", "longpassword"],
    ["report", "--from", "2025-01-01", "--to", "2025-01-31", "--format", "json",
     "-o", os.path.join(os.sep, "tmp", "larder-test-report.json")],
    ["serve", "--no-worker"],
    ["worker"],
    ["--headless"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda args: args[0].lstrip("-"))
def test_read_only_data_dir_is_one_line_for_every_command(read_only_data_dir, args):
    error = one_line_error(larder(read_only_data_dir, *args))
    assert str(read_only_data_dir) in error


def test_data_dir_under_a_file_is_one_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for args in (["serve"], ["--headless"], ["demo", "--orders", "5"]):
        error = one_line_error(larder(blocker / "data", *args))
        assert error == (f"larder: error: cannot create the folder {blocker / 'data'}: "
                         f"{blocker} is a file")


def test_full_disk_is_one_line(small_disk):
    data_dir = small_disk / "data"
    result = larder(data_dir, "demo", "--orders", "20000")
    error = one_line_error(result)
    assert "the disk is full" in error and str(data_dir) in error
    log = error.rsplit("(details in ", 1)[1].rstrip(")")
    assert "Traceback" in open(log, encoding="utf-8").read()  # for whoever helps


def test_window_mode_shows_the_error_in_a_box(read_only_data_dir, tmp_path):
    """Double-clicked with an unwritable data folder: a native box says why (the data
    folder's log cannot be written: the box names the log where the details went)."""
    pytest.importorskip("PyQt6.QtWidgets")
    screen = VirtualDisplay()
    out = tmp_path / "launcher.out"
    env = {k: v for k, v in os.environ.items() if k != "WAYLAND_DISPLAY"}
    env["DISPLAY"] = screen.display
    try:
        with open(out, "wb") as fh:
            proc = subprocess.Popen([sys.executable, "-m", "desktop", "--data-dir",
                                     str(read_only_data_dir)], cwd=ROOT, env=env,
                                    stdout=fh, stderr=subprocess.STDOUT)
        try:
            box = wait_for(lambda: screen.find_windows("Larder cannot start"), timeout=60,
                           what="the error box")[0]
            assert proc.poll() is None  # it waits for the box to be closed
            screen.close_window(box)
            assert proc.wait(30) == 2
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    finally:
        screen.stop()
    lines = out.read_text().strip().splitlines()
    assert lines[-1].startswith(f"larder: error: cannot write to the folder {read_only_data_dir}")
    assert "Traceback" not in out.read_text()


def test_damaged_database_is_one_line_naming_the_log(data_dir):
    """Any other database failure: one line, and the traceback in the data folder's log."""
    (data_dir / "larder.db").write_bytes(os.urandom(8192))
    for args in (["demo", "--orders", "5"], ["serve", "--no-worker"]):
        error = one_line_error(larder(data_dir, *args))
        log = data_dir / "logs" / "larder.log"
        assert error == ("larder: error: the database could not be used: file is not a "
                         f"database (details in {log})")
    assert "Traceback" in log.read_text()
