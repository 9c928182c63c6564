"""Child processes of the same program, and watching a parent (cross-platform).

Windows (docs/windows.md): there is no SIGTERM from outside (terminate() is
TerminateProcess, no handler runs), so a child spawned here is asked to stop by closing
its stdin pipe: it then raises SIGTERM in itself, and the same handlers as on Linux
hand back its jobs and stop its own children (`stop_when_stdin_closes`). Every child is
put in a Job Object that kills it when this process ends, however it ends (the job's
only handle is this process's: `kill_on_close_job`).
"""
import os
import signal
import subprocess
import sys
import threading
import time

STOP_PIPE_ENV = "LARDER_STOP_ON_STDIN_EOF"


def self_command(*args):
    """Run this program again: `larder ARGS` when frozen, `python -m desktop ARGS` else."""
    if getattr(sys, "frozen", False):
        return [sys.executable, *args]
    return [sys.executable, "-m", "desktop", *args]


def spawn(args, stop_pipe=None, **kwargs):
    """Start `larder ARGS` as a child. stop_pipe (default: on Windows) gives it a stdin
    pipe whose closing asks it to stop (stop_processes does that before killing)."""
    stop_pipe = os.name == "nt" if stop_pipe is None else stop_pipe
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    if stop_pipe:
        kwargs["stdin"] = subprocess.PIPE
        kwargs["env"] = {**(kwargs.get("env") or os.environ), STOP_PIPE_ENV: "1"}
    if os.name == "nt":
        kwargs.setdefault("creationflags", subprocess.CREATE_NEW_PROCESS_GROUP)
    proc = subprocess.Popen(self_command(*args), **kwargs)
    proc.larder_stop_pipe = stop_pipe
    add_to_job(proc)
    return proc


def on_stop_request(handler):
    """handler() when this process is asked to stop: SIGTERM; on Windows also Ctrl+Break
    (CTRL_BREAK_EVENT to its process group) and its stop pipe closing."""
    for name in ("SIGTERM", "SIGBREAK"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), lambda *_: handler())
    stop_when_stdin_closes()


def in_a_thread(handler):
    """handler() run from a signal in a thread of its own. A signal handler runs between
    two bytecodes of the main thread, which may hold the very lock handler() takes: an
    Event's set() while the main thread is inside that Event's wait() never returns."""
    return lambda *_: threading.Thread(target=handler, name="stop-request",
                                       daemon=True).start()


def stop_when_stdin_closes():
    """In a child spawned with a stop pipe: when the pipe closes (the parent stops it, or
    the parent died), raise SIGTERM here, so the usual handlers stop this process."""
    if os.environ.pop(STOP_PIPE_ENV, None) != "1":  # not for this process's own children
        return False

    def watch():
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        signal.raise_signal(signal.SIGTERM)

    threading.Thread(target=watch, name="stop-pipe", daemon=True).start()
    return True


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
        signal.raise_signal(signal.SIGTERM)  # the usual handlers; no handler: it ends here
        time.sleep(3)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def stop_processes(procs, grace):
    """Ask all to stop (SIGTERM, or closing the stop pipe), wait up to `grace` seconds
    in all, then kill what is left."""
    for proc in procs:
        if proc.poll() is None:
            try:
                if getattr(proc, "larder_stop_pipe", False):
                    proc.stdin.close()
                else:
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


# ---- Windows: a Job Object that kills the children with this process ------------------

JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x2000
JOB_OBJECT_EXTENDED_LIMIT_INFORMATION_CLASS = 9
_job = {"handle": None, "tried": False}
_job_lock = threading.Lock()


def _job_structure():
    import ctypes

    class BasicLimits(ctypes.Structure):
        _fields_ = [("PerProcessUserTimeLimit", ctypes.c_int64),
                    ("PerJobUserTimeLimit", ctypes.c_int64),
                    ("LimitFlags", ctypes.c_uint32),
                    ("MinimumWorkingSetSize", ctypes.c_size_t),
                    ("MaximumWorkingSetSize", ctypes.c_size_t),
                    ("ActiveProcessLimit", ctypes.c_uint32),
                    ("Affinity", ctypes.c_size_t),
                    ("PriorityClass", ctypes.c_uint32),
                    ("SchedulingClass", ctypes.c_uint32)]

    class IoCounters(ctypes.Structure):
        _fields_ = [(name, ctypes.c_uint64) for name in (
            "ReadOperationCount", "WriteOperationCount", "OtherOperationCount",
            "ReadTransferCount", "WriteTransferCount", "OtherTransferCount")]

    class ExtendedLimits(ctypes.Structure):  # JOBOBJECT_EXTENDED_LIMIT_INFORMATION
        _fields_ = [("BasicLimitInformation", BasicLimits), ("IoInfo", IoCounters),
                    ("ProcessMemoryLimit", ctypes.c_size_t),
                    ("JobMemoryLimit", ctypes.c_size_t),
                    ("PeakProcessMemoryUsed", ctypes.c_size_t),
                    ("PeakJobMemoryUsed", ctypes.c_size_t)]

    return ExtendedLimits


def kill_on_close_job():
    """This process's Job Object (created once): every process in it is killed when its
    last handle closes, i.e. when this process ends, even by TerminateProcess. The handle
    is never inherited nor closed. None off Windows, or when Windows refuses."""
    if os.name != "nt":
        return None
    with _job_lock:
        if not _job["tried"]:
            _job["tried"] = True
            _job["handle"] = _create_job()
        return _job["handle"]


def _create_job():
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.CreateJobObjectW.restype = wintypes.HANDLE
    kernel32.CreateJobObjectW.argtypes = [ctypes.c_void_p, wintypes.LPCWSTR]
    kernel32.SetInformationJobObject.argtypes = [wintypes.HANDLE, ctypes.c_int,
                                                 ctypes.c_void_p, wintypes.DWORD]
    job = kernel32.CreateJobObjectW(None, None)  # no security attributes: not inherited
    if not job:
        return None
    info = _job_structure()()
    info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
    if not kernel32.SetInformationJobObject(job, JOB_OBJECT_EXTENDED_LIMIT_INFORMATION_CLASS,
                                            ctypes.byref(info), ctypes.sizeof(info)):
        kernel32.CloseHandle(job)
        return None
    return job


def add_to_job(proc):
    """Put a child in this process's kill-on-close job (Windows; elsewhere a no-op that
    returns False: there each child watches its parent). A child that escapes (Windows
    refused: e.g. an older Wine) still stops by its stop pipe and parent watch."""
    job = kill_on_close_job()
    if job is None:
        return False
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.AssignProcessToJobObject.argtypes = [wintypes.HANDLE, wintypes.HANDLE]
    return bool(kernel32.AssignProcessToJobObject(job, int(proc._handle)))


def watch_onefile_parent():
    """Windows one-file executable: the program that was started (PyInstaller's
    bootloader) runs Python as its child. When the bootloader is killed, stop too (and
    the job ends the workers): same program file as our parent means that parent."""
    if os.name != "nt" or not getattr(sys, "frozen", False):
        return False
    parent = os.getppid()
    if os.path.normcase(_image_of(parent) or "") != os.path.normcase(sys.executable):
        return False
    exit_when_parent_dies(parent)
    return True


def _image_of(pid):
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.OpenProcess.restype = wintypes.HANDLE
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return None
    try:
        size = wintypes.DWORD(32768)
        buffer = ctypes.create_unicode_buffer(size.value)
        if not kernel32.QueryFullProcessImageNameW(handle, 0, buffer, ctypes.byref(size)):
            return None
        return buffer.value
    finally:
        kernel32.CloseHandle(handle)
