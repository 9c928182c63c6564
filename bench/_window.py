"""Helpers for bench/window_start.py and bench/memory.py: launch the desktop app (this
checkout, another revision's worktree, or an executable) under a private Xvfb or
headless, watch its window with X11 events, time its stages, measure its memory.

A baseline revision runs from a temporary `git worktree` of that revision with the same
Python (the shared virtualenv), so old and new are measured by one script, interleaved.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "build"), str(ROOT)]
import proctable  # noqa: E402
from smoke_test import alive, clean_env  # noqa: E402


class Checkout:
    """Where `python -m desktop` runs from: this checkout, or REV in a temporary worktree."""

    def __init__(self, rev=None):
        self.rev = rev
        self.folder = None
        self.root = ROOT
        if rev:
            self.folder = Path(tempfile.mkdtemp(prefix="larder-baseline-"))
            self.root = self.folder / "tree"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach",
                            str(self.root), rev], check=True, capture_output=True)

    @property
    def label(self):
        return f"before ({self.rev})" if self.rev else "now"

    def command(self):
        return [sys.executable, "-m", "desktop"]

    def env(self):
        env = clean_env()
        env["PYTHONPATH"] = str(self.root)
        return env

    def remove(self):
        if self.folder:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(self.root)], capture_output=True)
            shutil.rmtree(self.folder, ignore_errors=True)


class Executable(Checkout):
    def __init__(self, path):
        super().__init__()
        self.path = Path(path)

    @property
    def label(self):
        return str(self.path.name)

    def command(self):
        return [str(self.path)]

    def env(self):
        return clean_env()


def add_subjects(parser):
    """--baseline REV and --exe PATH, the things a window bench measures beside this
    source tree; `subjects(args)` makes them."""
    parser.add_argument("--baseline", metavar="REV", help="also this revision, side by side")
    parser.add_argument("--exe", help="also this executable (e.g. dist/larder)")


def subjects(args):
    found = [Checkout()]
    if args.baseline:
        found.append(Checkout(args.baseline))
    if args.exe:
        found.append(Executable(args.exe))
    return found


class MapWatcher:
    """Records when a top-level window titled `title` is first mapped (MapNotify on the
    root window: what the X server says, not a poll)."""

    def __init__(self, display, title="Larder"):
        from Xlib import X
        from Xlib import display as xdisplay

        self.title = title
        self.mapped_at = None
        self._d = xdisplay.Display(display)
        root = self._d.screen().root
        root.change_attributes(event_mask=X.SubstructureNotifyMask)
        self._d.sync()
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _name(self, window):
        try:
            name = window.get_wm_name()
            if isinstance(name, bytes):
                name = name.decode(errors="replace")
            if name:
                return name
            prop = window.get_full_property(self._d.intern_atom("_NET_WM_NAME"), 0)
            return prop.value.decode() if prop and isinstance(prop.value, bytes) else None
        except Exception:
            return None

    def _run(self):
        from Xlib import X

        while not self._stop:
            if not self._d.pending_events():
                time.sleep(0.002)
                continue
            event = self._d.next_event()
            if event.type == X.MapNotify and self.mapped_at is None:
                now = time.monotonic()
                if self._name(event.window) == self.title:
                    self.mapped_at = now

    def close(self):
        self._stop = True
        self._thread.join(2)
        self._d.close()


def send_close(display, title="Larder"):
    """WM_DELETE_WINDOW to the window, as a window manager's close button does."""
    from x11 import VirtualDisplay

    screen = VirtualDisplay.__new__(VirtualDisplay)
    screen.display = display
    windows = screen.find_windows(title)
    if not windows:
        raise RuntimeError("no Larder window to close")
    screen.close_window(windows[0])


def descendants(pid):
    return sorted(proctable.descendants(pid))


class Launch:
    """One launch of the desktop app in a fresh data dir: `display` None = headless."""

    def __init__(self, checkout, display=None, data_dir=None):
        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix="larder-bench-win-"))
        self.log_path = self.data_dir / "logs" / "larder.log"
        env = checkout.env()
        env.pop("WAYLAND_DISPLAY", None)
        env.pop("DISPLAY", None)
        if display:
            env["DISPLAY"] = display
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # Chromium refuses its sandbox as root
            flags = env.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
            env["QTWEBENGINE_CHROMIUM_FLAGS"] = f"{flags} --no-sandbox".strip()
        env["BROWSER"] = "true"  # headless: no real browser is opened
        args = checkout.command() + ["--data-dir", str(self.data_dir)]
        if not display:
            args.append("--headless")
        # A data dir used before: only what this launch logs counts.
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._out = open(self.data_dir / "launcher.out", "wb")
        self.started_wall = time.time()  # for the log's own timestamps (log_time)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(args, cwd=checkout.root, env=env, stdout=self._out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)

    def log(self):
        if not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as fh:
            fh.seek(self._log_start)
            return fh.read().decode(errors="replace")

    def wait_log(self, text, timeout=90):
        """Seconds from launch until `text` is in the log (polled every 10 ms)."""
        while text not in self.log():
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app exited {self.proc.returncode}: "
                                   f"{(self.data_dir / 'launcher.out').read_text()[-2000:]}")
            if time.monotonic() - self.started > timeout:
                raise RuntimeError(f"no {text!r} after {timeout} s")
            time.sleep(0.01)
        return time.monotonic() - self.started

    def log_time(self, text):
        """Seconds from launch to the first log line containing `text`, by the line's
        own timestamp (millisecond resolution), or None."""
        from datetime import datetime

        for line in self.log().splitlines():
            if text in line:
                try:
                    at = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
                except ValueError:
                    return None
                return at - self.started_wall
        return None

    def wait_worker(self, nodes=2, timeout=90, settled=1.5):
        """Until the bundled worker runs its children: at least `nodes` processes under the
        supervisor, and no new one for `settled` s (0.5.0: the quick node and one report
        node per core beyond the first, beat a thread; before: three nodes + beat)."""
        deadline = time.monotonic() + timeout
        seen, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            tree = descendants(self.proc.pid)
            workers = [p for p in tree if "worker --beat" in proctable_cmdline(p)]
            count = len(descendants(workers[0])) if workers else 0
            if count != seen:
                seen, since = count, time.monotonic()
            elif count >= nodes and time.monotonic() - since >= settled:
                return
            time.sleep(0.1)
        raise RuntimeError("the bundled worker did not start")

    def tree(self):
        return [self.proc.pid] + descendants(self.proc.pid)

    def stop(self, remove=True):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._out.close()
        if remove:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def proctable_cmdline(pid):
    from smoke_test import cmdline

    return cmdline(pid)


def wait_gone(pids, timeout=30):
    started = time.monotonic()
    while any(alive(p) for p in pids):
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"still running after {timeout} s: {[p for p in pids if alive(p)]}")
        time.sleep(0.005)
    return time.monotonic() - started


def median(values):
    values = sorted(v for v in values if v is not None)
    return values[len(values) // 2] if values else None
