"""The desktop app: `python -m desktop` with no command, or the executable double-clicked.

The window opens first, on a loading page, while the app is made in a thread (AppStart:
Waitress on 127.0.0.1 on a free port with a fresh launch token, then create_app); it
asks for the signed-in app as soon as the server listens, and gets it once it is made.
The bundled worker with its schedules runs as a child process.
One instance per data dir (window or `serve`): a second launch brings the running window
forward, or refuses next to a `serve`. Closing the window stops everything. When it
cannot start (the data folder cannot be written...), desktop.cli.main prints one line
and shows it in a native error box. With no display or no GUI backend it serves headless;
when the window's engine cannot start (Windows without WebView2 or .NET: checked first,
desktop/window_engine.py) a box says so and the app opens in the system browser.
"""
import logging
import os
import secrets
import sys
import threading
import time
import webbrowser

from desktop.locks import AlreadyRunning, app_lock
from webapp.background.procs import in_a_thread, on_stop_request

log = logging.getLogger("larder.desktop")


def display_available(attempts=5, pause=0.2):
    """pywebview cannot catch a missing display (GTK exits, Qt aborts): check first.
    An X server refuses connections while it resets (after its last client left; seen
    with Xvfb between two runs: the app then served headless for no reason), so a
    refusal is retried before giving up."""
    if sys.platform in ("win32", "darwin"):
        return True
    if os.environ.get("WAYLAND_DISPLAY"):
        return True
    if not os.environ.get("DISPLAY"):
        return False
    try:
        import ctypes
        import ctypes.util

        xlib = ctypes.cdll.LoadLibrary(ctypes.util.find_library("X11") or "libX11.so.6")
    except OSError:
        return False
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    for attempt in range(attempts):
        display = xlib.XOpenDisplay(None)
        if display:
            xlib.XCloseDisplay(display)
            return True
        log.info("display %s refused a connection (attempt %d of %d)",
                 os.environ["DISPLAY"], attempt + 1, attempts)
        if attempt + 1 < attempts:
            time.sleep(pause)
    return False


def gui_available():
    if not display_available():
        return False, "no display"
    try:
        import webview  # noqa: F401

        if sys.platform.startswith("linux"):
            import PyQt6.QtWebEngineWidgets  # noqa: F401
    except ImportError as exc:
        return False, f"no GUI backend ({exc.name or exc})"
    return True, ""


NO_WINDOW_TITLE = "Larder opens in your web browser"


def window_engine_available():
    """(True, "") when the window's engine can start (desktop/window_engine.py); else the
    owner is told in a box, and (False, why): the app is then served in the browser."""
    from desktop.dialogs import show_warning
    from desktop.window_engine import engine_problem

    problem = engine_problem()
    if problem is None:
        return True, ""
    log.warning("no window: %s", problem)
    message = (f"Larder cannot open its own window on this computer: {problem}.\n\n"
               "It opens in your web browser instead, and works the same there. Keep "
               "Larder running while you use it.")
    if sys.platform == "win32":
        # MessageBoxW may run on any thread: the browser opens while the box is read, and
        # an unattended start (a hosted CI runner) is not held up by a box nobody closes.
        threading.Thread(target=show_warning, args=(NO_WINDOW_TITLE, message),
                         name="no-window-box", daemon=True).start()
    else:
        show_warning(NO_WINDOW_TITLE, message)  # Qt's box belongs on the main thread
    return False, problem


def bring_forward(info):
    """Ask the running instance (server.json's `info`) to show its window; True when it
    did (a `serve` has no window: it answers 404)."""
    import requests

    if not info:
        return False
    try:
        response = requests.post(f"{info['url']}/desktop/focus", timeout=3,
                                 headers={"Authorization": f"Bearer {info['token']}"})
        return response.status_code == 200
    except (KeyError, TypeError, requests.RequestException):
        return False


def add_desktop_routes(app, windows):
    """/desktop/focus (token required like every route): show and raise the window."""

    def focus():
        for window in windows:
            window.restore()
            window.show()
            window.on_top = True
            window.on_top = False
        return {"focused": bool(windows)}

    app.add_url_rule("/desktop/focus", "desktop_focus", focus, methods=["POST"])

    app.wsgi_app = RequestLog(app.wsgi_app)


class RequestLog:
    """The window's request log: what it asked for (tests read it too). A WSGI layer
    around the app, not a Flask hook: a hook added after create_app would turn the
    cached pages' fast path off (webapp/fast_path.py), and this sees its answers too."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self.log = logging.getLogger("larder.requests")

    def __call__(self, environ, start_response):
        def logged(status, headers, exc_info=None):
            self.log.info("%s %s %s", environ.get("REQUEST_METHOD"),
                          environ.get("PATH_INFO"), status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, logged)


def run_desktop(data_dir, headless=False):
    from desktop.logs import setup_logging
    from desktop.server import remove_server_file
    from webapp import __version__
    from webapp.config import ensure_private_dir

    ensure_private_dir(data_dir)  # a DataDirError says why it cannot be used
    log_path = setup_logging(data_dir)
    try:
        lock = app_lock(data_dir)
    except AlreadyRunning as exc:
        # A second double-click: the running window comes forward. Next to a `serve`
        # (no window to show), or one still starting: refuse, naming it.
        if bring_forward(exc.info):
            print("Larder is already running: its window was brought forward.")
            return 0
        raise
    log.info("Larder %s starting on %s (log: %s)", __version__, data_dir, log_path)
    if os.environ.get("LARDER_EXECUTABLE"):  # set by the one file's launcher (Linux)
        log.info("program: %s, unpacked in %s", os.environ["LARDER_EXECUTABLE"],
                 os.path.dirname(sys.executable))
    windows = []
    window_shown = False
    # The app (its imports, the database check) is made in a thread while the window's
    # engine loads on this one: the window shows its loading page without waiting for it.
    starting = AppStart(data_dir, windows).begin()
    worker = DeferredWorker(lambda: start_bundled_worker(data_dir))
    stop = threading.Event()
    try:
        ok, reason = (False, "--headless") if headless else gui_available()
        if ok:
            ok, reason = window_engine_available()
        if ok:
            # The worker's processes (supervisor, nodes, beat: each a Python start-up)
            # would compete with the window for the CPU: started once the first page is
            # drawn, or WORKER_DELAY_S after the app is ready at the latest. Jobs asked
            # for meanwhile wait in the queue (it is on disk).
            starting.when_ready(lambda: worker.start_later(WORKER_DELAY_S))

            def on_closing():  # the worker and the server stop while the window closes
                threading.Thread(target=stop_all, args=(worker, starting), name="stopping",
                                 daemon=True).start()

            run_window_until_closed(starting, data_dir, windows, stop, worker.start,
                                    on_closing)
            starting.result()  # the app could not start: the window closed, now say why
            window_shown = True
        else:
            url = starting.result()
            worker.start()
            serve_headless(url, reason, stop)
    finally:  # also before an error box is shown: the lock is free for the next try
        log.info("stopping")
        stop_all(worker, starting)
        remove_server_file(data_dir)
        lock.release()
        log.info("stopped")
    if window_shown:
        from desktop.logs import exit_now

        # Python's and Qt's own teardown (the web engine's objects, module by module)
        # took about a second more once every process had stopped (bench/window_start.py).
        exit_now(0)
    return 0


def stop_all(worker, starting):
    """The worker (SIGTERM, killed after the grace time) and the server, side by side;
    safe to call twice (the window's closing, then the launcher's end)."""
    starting.stop_server(wait=False)
    worker.stop(grace=0.9)
    starting.stop_server()


def start_bundled_worker(data_dir):
    from webapp.background.supervisor import start_bundled_worker as start

    return start(data_dir)


class AppStart:
    """The server and the app, in a background thread. Waitress listens first (an AppGate
    holds requests): the window can ask for its first page while the app is made
    (create_app, server.json); result() gives the signed-in URL, or raises what made the
    app fail to start."""

    def __init__(self, data_dir, windows):
        self.data_dir = data_dir
        self.windows = windows
        self.app = self.server = None
        self._on_ready = None
        self._lock = threading.Lock()
        self._address = self._url = None
        self._error = None
        self._listening = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="app-start", daemon=True)

    def begin(self):
        self._thread.start()
        return self

    def _run(self):
        gate = None
        try:
            from desktop.server import AppGate, ServerThread, write_server_file

            token = secrets.token_urlsafe(32)
            gate = AppGate()
            self.server = ServerThread(gate).start()
            self._address = f"{self.server.url}/?token={token}"
            self._listening.set()

            from webapp import create_app
            from webapp.background.supervisor import announce_worker

            # LARDER_DESKTOP_WINDOW: the page policy lets pywebview's bridge work
            # (security_headers).
            app = create_app({"LARDER_TOKEN": token, "LARDER_DESKTOP_WINDOW": True,
                              "LARDER_SERVER_PORT": self.server.port},
                             data_dir=self.data_dir)
            add_desktop_routes(app, self.windows)
            self.app = app
            write_server_file(self.data_dir, self.server.url, self.server.port, token)
            announce_worker(self.data_dir)  # pages say "starting" (no banner) until it runs
            self._url = self._address
            gate.open(app)
            log.info("app ready at %s", self.server.url)
        except BaseException as exc:  # raised again on the main thread by result()
            self._error = exc
            if gate is not None:
                gate.fail()
        finally:
            self._listening.set()
            with self._lock:
                self._done.set()
                on_ready = self._on_ready
        if self._error is None and on_ready is not None:
            on_ready()

    def when_ready(self, fn):
        """Call fn() once the app is ready (at once if it is already; never if it failed)."""
        with self._lock:
            if not self._done.is_set():
                self._on_ready = fn
                return
        if self._error is None:
            fn()

    def wait_address(self):
        """The signed-in URL as soon as the server listens (its pages wait for the app),
        or None when it could not listen."""
        self._listening.wait()
        return self._address

    def wait(self):
        """The URL once the app is ready, or None when it failed (result() raises why)."""
        self._done.wait()
        return self._url

    def result(self):
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._url

    def stop_server(self, wait=True):
        self._done.wait()
        if self.server is not None:
            self.server.stop(timeout=5 if wait else 0)


WORKER_DELAY_S = 3.0


class DeferredWorker:
    """The bundled worker, started once: by start(), or by a timer; never after cancel().
    start_fn returns a WorkerKeeper: it starts the worker again whenever it dies."""

    def __init__(self, start_fn):
        self._start_fn = start_fn
        self._lock = threading.Lock()
        self._proc = None
        self._cancelled = False
        self._timer = None

    def start(self):
        with self._lock:
            if self._proc is None and not self._cancelled:
                self._proc = self._start_fn()
                log.info("worker started")

    def start_later(self, seconds):
        self._timer = threading.Timer(seconds, self.start)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self):
        with self._lock:
            self._cancelled = True
        if self._timer is not None:
            self._timer.cancel()

    def processes(self):
        return [self._proc] if self._proc is not None else []

    def stop(self, grace):
        self.cancel()
        for kept in self.processes():
            kept.stop(grace)


def run_window_until_closed(starting, data_dir, windows, stop, on_page_loaded=None,
                            on_closing=None):
    from desktop.window import run_window

    def close(*_):
        for window in list(windows):
            window.destroy()

    # SIGTERM (a session logout, a test; Windows: Ctrl+Break, a closed stop pipe) closes
    # the window like the user would. Signal handlers can only be set on the main thread
    # (on_ready runs on pywebview's thread), so it is set here, before the GUI loop starts.
    on_stop_request(close)

    if sys.platform.startswith("linux") and os.geteuid() == 0:
        # QtWebEngine's Chromium refuses to run its sandbox as root.
        flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
        if "--no-sandbox" not in flags:
            os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = f"{flags} --no-sandbox".strip()
    run_window(starting, data_dir, on_ready=windows.append, on_page_loaded=on_page_loaded,
               on_closing=on_closing)


def serve_headless(url, reason, stop):
    log.info("headless (%s)", reason)
    print(f"Larder: {reason}: serving without a window at {url} (Ctrl+C to stop)", flush=True)
    try:
        webbrowser.open(url)
    except Exception:  # no browser either: the printed link is enough
        pass
    on_stop_request(in_a_thread(stop.set))  # not set() inside the wait below (procs.py)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
