"""Waking a waiting process as soon as the file it waits for is written (issue 13): a
queued task wakes the worker node, a written result wakes whoever waits in `.get()`.

How: a process that waits binds a UDP socket on 127.0.0.1 (a port the system picks)
and registers it as an empty file `<port>.<pid>.<host>` in the folder's `wake/`
subfolder. A writer, once its file is renamed into place, sends one byte to every port
registered there by its host. The files stay the truth: the nudge only says "look now",
so a lost one (a registration removed, a full socket buffer) costs one recheck
interval, never a message.

Why a local socket and not the system's file notification (inotify, kqueue,
ReadDirectoryChangesW, e.g. through `watchdog`): the same few lines work on Linux,
macOS, Windows, under Wine and frozen by PyInstaller (no new package, no observer
thread per folder, no per-platform hidden imports); they do not depend on the file
system (notification is missing or unreliable on network drives and some file
systems); and the same socket also wakes the wait when the process is asked to stop
(`signal.set_wakeup_fd`), so a node can sleep for seconds and still stop at once. A
process that cannot make the socket (no loopback, a sandbox) polls as before and
logs one line.
"""
import hashlib
import logging
import os
import select
import signal
import socket
import threading
import time

from .procs import pid_alive

log = logging.getLogger("larder.broker")
LOOPBACK = "127.0.0.1"
NUDGE = b"!"
_sender = {"sock": None, "failed": False}
_sender_lock = threading.Lock()


def host_tag():
    """This computer, in a registration's name: a data folder on a shared drive may be
    seen by other hosts, whose ports are not ours to nudge."""
    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


def wake_folder(folder):
    return os.path.join(os.fsdecode(folder), "wake")


class Listener:
    """A registered socket that `nudge(folder)` wakes; `wait(timeout)` sleeps on it."""

    def __init__(self, folder, sock):
        self.folder, self.sock = wake_folder(folder), sock
        self.port = sock.getsockname()[1]
        self.pid = os.getpid()
        self.path = os.path.join(self.folder, f"{self.port}.{self.pid}.{host_tag()}")
        self._poke = None
        self._signals = False
        self._signalled_at = None
        os.makedirs(self.folder, mode=0o700, exist_ok=True)
        with open(self.path, "wb"):
            pass

    @classmethod
    def open(cls, folder, what):
        """A listener for folder, or None (after one log line: `what` then polls)."""
        sock = None
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((LOOPBACK, 0))
            sock.setblocking(False)
            return cls(folder, sock)
        except OSError as exc:
            if sock is not None:
                sock.close()
            log.warning("%s: instant wake-ups unavailable (%s): checking for new files "
                        "on a timer instead", what, exc)
            return None

    def wait(self, timeout):
        """Sleep until nudged (True) or timeout seconds (False); None waits for good."""
        try:
            ready = select.select([self.sock], [], [], timeout)[0]
        except (OSError, ValueError):  # closed meanwhile
            return False
        if ready:
            self._drain()
        return bool(ready)

    def _drain(self):
        for _ in range(1000):
            try:
                data = self.sock.recv(16)
            except BlockingIOError:
                return
            except OSError:  # Windows: an earlier unreachable port reported here
                continue
            if data != NUDGE:  # the signal number that Python writes (set_wakeup_fd)
                self._signalled_at = time.monotonic()

    def signalled_within(self, seconds):
        """A signal (a stop request) woke this listener in the last `seconds`."""
        return self._signalled_at is not None and \
            time.monotonic() - self._signalled_at < seconds

    def poke(self):
        """Wake this listener from another thread of the same process."""
        send(self.port)

    def catch_signals(self):
        """Wake the wait when a signal arrives (a stop request), so a long wait does not
        delay a stop. Only from the main thread, and only if no one else set it."""
        if threading.current_thread() is not threading.main_thread():
            return False
        try:
            poke = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            poke.connect((LOOPBACK, self.port))
            poke.setblocking(False)
            previous = signal.set_wakeup_fd(poke.fileno(), warn_on_full_buffer=False)
        except (OSError, ValueError):
            return False
        if previous != -1:  # someone else's: theirs stays
            signal.set_wakeup_fd(previous)
            poke.close()
            return False
        self._poke, self._signals = poke, True
        return True

    def close(self):
        if self._signals and threading.current_thread() is threading.main_thread():
            try:
                signal.set_wakeup_fd(-1)
            except ValueError:
                pass
            self._signals = False
        for sock in (self._poke, self.sock):
            if sock is not None:
                sock.close()
        try:
            os.remove(self.path)
        except OSError:
            pass


def _registered(folder):
    """(port, pid, name) of the listeners of folder on this host."""
    try:
        names = os.listdir(wake_folder(folder))
    except OSError:
        return []
    tag, found = host_tag(), []
    for name in names:
        port, _, rest = name.partition(".")
        pid, _, host = rest.partition(".")
        if host == tag and port.isdigit() and pid.isdigit():
            found.append((int(port), int(pid), name))
    return found


def send(port):
    with _sender_lock:
        if _sender["sock"] is None and not _sender["failed"]:
            try:
                _sender["sock"] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                _sender["sock"].setblocking(False)
            except OSError as exc:  # the listeners then find the file at their next check
                _sender["failed"] = True
                log.warning("cannot wake the waiting processes (%s): they will find new "
                            "files on a timer", exc)
        sock = _sender["sock"]
    if sock is None:
        return
    try:
        sock.sendto(NUDGE, (LOOPBACK, port))
    except OSError:  # gone, or its buffer is full: it is awake anyway
        pass


def nudge(folder):
    """Tell every process waiting on folder (on this host) to look now."""
    for port, _, _ in _registered(folder):
        send(port)


def prune(folder):
    """Remove the registrations of processes that are gone (killed: no clean-up)."""
    removed = 0
    for _, pid, name in _registered(folder):
        if not pid_alive(pid):
            try:
                os.remove(os.path.join(wake_folder(folder), name))
                removed += 1
            except OSError:
                pass
    return removed


class Waiter:
    """A process's waits on a folder, from any number of threads: one listener, and a
    thread that turns its nudges into a generation number under a condition."""

    def __init__(self, listener):
        self.listener = listener
        self.generation = 0
        self.changed = threading.Condition()
        threading.Thread(target=self._listen, name="result-wake", daemon=True).start()

    def _listen(self):
        while self.listener.wait(None):
            with self.changed:
                self.generation += 1
                self.changed.notify_all()

    def wait_after(self, seen, timeout):
        """Wait until a nudge later than generation `seen`, or timeout seconds."""
        with self.changed:
            self.changed.wait_for(lambda: self.generation != seen, timeout)


_waiters = {}
_waiters_lock = threading.Lock()


def waiter(folder, what):
    """This process's Waiter for folder (made at the first wait), or None: poll."""
    key = (os.fsdecode(folder), os.getpid())  # a forked child makes its own
    with _waiters_lock:
        if key not in _waiters:
            listener = Listener.open(folder, what)
            _waiters[key] = Waiter(listener) if listener else None
            if listener:
                import atexit

                atexit.register(listener.close)
        return _waiters[key]
