"""Child processes of the same program, and watching a parent (cross-platform)."""
import os
import signal
import subprocess
import sys
import threading
import time


def self_command(*args):
    """Run this program again: `larder ARGS` when frozen, `python -m desktop ARGS` else."""
    if getattr(sys, "frozen", False):
        return [sys.executable, *args]
    return [sys.executable, "-m", "desktop", *args]


def spawn(args, **kwargs):
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    if os.name == "nt":
        kwargs.setdefault("creationflags", subprocess.CREATE_NEW_PROCESS_GROUP)
    return subprocess.Popen(self_command(*args), **kwargs)


def pid_alive(pid):
    if os.name == "nt":
        import ctypes

        synchronize, wait_timeout = 0x00100000, 0x102
        handle = ctypes.windll.kernel32.OpenProcess(synchronize, False, pid)
        if not handle:
            return False
        try:
            return ctypes.windll.kernel32.WaitForSingleObject(handle, 0) == wait_timeout
        finally:
            ctypes.windll.kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def parent_alive(pid):
    if os.name != "nt" and os.getppid() != pid:  # re-parented: the parent is gone
        return False
    return pid_alive(pid)


def exit_when_parent_dies(parent_pid, on_exit=None, interval=0.5):
    """A daemon thread: when the parent dies, stop this process (gracefully first)."""

    def watch():
        while parent_alive(parent_pid):
            time.sleep(interval)
        if on_exit is not None:
            on_exit()
        if os.name != "nt":
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(3)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def stop_processes(procs, grace):
    """SIGTERM all, wait up to `grace` seconds in all, then kill what is left."""
    for proc in procs:
        if proc.poll() is None:
            try:
                proc.terminate()
            except OSError:
                pass
    deadline = time.monotonic() + grace
    for proc in procs:
        remaining = deadline - time.monotonic()
        try:
            proc.wait(max(remaining, 0.01))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
