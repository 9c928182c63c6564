"""Processes stop together, the Windows way where Linux can run it (docs/windows.md):
- a child spawned with a stop pipe stops gracefully when the pipe closes: when its parent
  asks (stop_processes) and when its parent is killed (the OS closes the pipe);
- the Job Object code is importable and a no-op off Windows (its structure has the size
  Windows expects);
- leftover one-file folders (`_MEI*`) are removed at start, and only those: real folders.
"""
import os
import subprocess
import sys
import time

import pytest

from desktop import onefile
from webapp.background import procs, status
from worker_proc import ROOT, alive, process_tree, wait_for

import proctable  # noqa: E402  (in build/, which worker_proc puts on sys.path)


def test_job_object_is_a_no_op_off_windows():
    if os.name == "nt":
        pytest.skip("Linux behaviour")
    assert procs.kill_on_close_job() is None
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    assert procs.add_to_job(child) is False
    child.wait(10)
    assert procs.watch_onefile_parent() is False
    assert onefile.tidy_temp_at_start() is None


def test_job_limits_structure_has_the_windows_layout():
    import ctypes

    if ctypes.sizeof(ctypes.c_void_p) != 8:
        pytest.skip("64-bit layout")
    info = procs._job_structure()()
    assert ctypes.sizeof(info) == 144  # JOBOBJECT_EXTENDED_LIMIT_INFORMATION, x64
    assert type(info).BasicLimitInformation.offset == 0
    assert type(info.BasicLimitInformation).LimitFlags.offset == 16


def _worker_with_stop_pipe(data_dir):
    log = open(data_dir / "worker.out", "ab")
    proc = procs.spawn(["--data-dir", str(data_dir), "worker"], stop_pipe=True, cwd=ROOT,
                       stdout=log, stderr=subprocess.STDOUT)
    log.close()
    wait_for(lambda: status.local_state(str(data_dir)) == "ok", timeout=90,
             what="every worker node to consume")
    return proc


def test_closing_the_stop_pipe_stops_the_worker_gracefully(data_dir):
    proc = _worker_with_stop_pipe(data_dir)
    nodes = process_tree(proc.pid)
    assert nodes
    procs.stop_processes([proc], grace=30)
    assert proc.returncode == 0  # its own clean exit, not a kill
    assert status.read_status(str(data_dir)) is None  # cleared in its `finally`
    wait_for(lambda: not any(alive(p) for p in nodes), timeout=10, what="the nodes to stop")
    assert "Traceback" not in (data_dir / "worker.out").read_text()


def test_a_killed_parent_closes_the_pipe_and_the_child_stops(data_dir):
    """The parent (as a killed launcher) never asks: its end of the pipe closes with it."""
    parent = subprocess.Popen(
        [sys.executable, "-c",
         "import subprocess, sys, time\n"
         "from webapp.background.procs import spawn\n"
         "p = spawn(['--data-dir', sys.argv[1], 'worker'], stop_pipe=True,\n"
         "          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
         "print(p.pid, flush=True)\n"
         "time.sleep(600)\n", str(data_dir)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    tree = []
    try:
        child = int(parent.stdout.readline())
        wait_for(lambda: status.local_state(str(data_dir)) == "ok", timeout=90,
                 what="every worker node to consume")
        tree = [child, *process_tree(child)]
        parent.kill()  # SIGKILL; TerminateProcess on Windows
        parent.wait(10)
        wait_for(lambda: not any(alive(p) for p in tree), timeout=20, what="the worker to stop")
        if os.name != "nt":
            assert status.read_status(str(data_dir)) is None  # a graceful stop, not a kill
        # On Windows the parent's kill-on-close Job Object ends them at once (no handler
        # runs): the status file stays, and its dead pid reads as "down".
        assert status.local_state(str(data_dir)) in (None, "down")
    finally:
        parent.kill()
        for pid in tree:
            proctable.kill(pid)


# ---- leftover one-file folders ---------------------------------------------------------

def _unpacked(temp, name, age=600, pid=None, larder=True):
    folder = temp / name
    (folder / "webapp" / ("templates" if larder else "other")).mkdir(parents=True)
    (folder / "base_library.zip").write_bytes(b"PK" + os.urandom(2000))
    (folder / "python311.dll").write_bytes(os.urandom(5000))
    if pid is not None:
        (folder / onefile.MARKER).write_text(str(pid))
    old = time.time() - age
    os.utime(folder, (old, old))
    return folder


def _dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(10)
    return child.pid


def test_leftover_unpacked_folders_are_removed_and_only_those(tmp_path):
    temp = tmp_path / "Temp"
    temp.mkdir()
    gone = [_unpacked(temp, "_MEI123451", pid=_dead_pid()),
            _unpacked(temp, "_MEI123452"),  # killed before it wrote its pid
            _unpacked(temp, "_MEI123453.stale"),  # renamed aside, then interrupted
            _unpacked(temp, "_MEI0000014c2")]  # a hex pid in the name (seen under Wine)
    kept = [_unpacked(temp, "_MEI223451", pid=os.getpid()),  # a running Larder's
            _unpacked(temp, "_MEI223452", age=5),  # being unpacked right now
            _unpacked(temp, "_MEI223453", larder=False),  # another program's
            _unpacked(temp, "_MEI-abc"),  # not PyInstaller's name
            _unpacked(temp, "_MEI223454")]  # our own (sys._MEIPASS)
    (temp / "_MEI999").write_text("a file, not a folder")
    removed = onefile.remove_stale(str(temp), own=str(kept[-1]))
    assert sorted(removed) == sorted(str(p) for p in gone)
    assert not any(p.exists() or p.with_name(p.name + ".stale").exists() for p in gone)
    assert all((p / "base_library.zip").exists() for p in kept)
    assert (temp / "_MEI999").exists()
    assert onefile.remove_stale(str(temp), own=str(kept[-1])) == []


def test_a_folder_that_cannot_be_renamed_aside_is_left_whole(tmp_path):
    """The rename is the last "in use" test (Windows refuses it while a file inside is
    open): a rename that fails leaves every file in place. Here it fails for real: a
    folder already holds the name it would be renamed to."""
    temp = tmp_path / "Temp"
    temp.mkdir()
    folder = _unpacked(temp, "_MEI777")
    (temp / "_MEI777.stale" / "busy").mkdir(parents=True)  # young: not itself removed
    assert onefile.remove_stale(str(temp)) == []
    assert (folder / "python311.dll").exists() and (folder / "base_library.zip").exists()


def test_marking_our_folder_keeps_it_from_later_starts(tmp_path):
    folder = _unpacked(tmp_path, "_MEI555")
    onefile.mark_own_folder(str(folder))
    onefile.mark_own_folder(str(folder))  # a worker child: the first pid stays
    assert (folder / onefile.MARKER).read_text() == str(os.getpid())
    assert onefile.remove_stale(str(tmp_path)) == []


def test_a_stop_request_arriving_inside_the_wait_it_ends_does_not_hang():
    """A signal's handler runs between two bytecodes of the main thread: the supervisor's
    stop.set() could run while that thread held the Event's lock inside stop.wait(0.2),
    and never return (seen once: a supervisor that did not stop on SIGTERM)."""
    import threading

    stop = threading.Event()
    handler = procs.in_a_thread(stop.set)

    def signal_inside_the_wait():
        with stop._cond:  # what stop.wait() holds as it wakes up
            handler()

    caller = threading.Thread(target=signal_inside_the_wait, daemon=True)
    caller.start()
    caller.join(10)
    assert not caller.is_alive()
    assert stop.wait(10)
