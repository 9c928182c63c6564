"""The pywebview window on the app, and the native touches its pages can call
(`window.pywebview.api.*` in static/desktop.js): save dialogs for reports and backups, an open dialog
for CSV import, outside links in the system browser. The window remembers its size."""
import itertools
import json
import logging
import os
import shutil
import sys
import webbrowser
from pathlib import Path

log = logging.getLogger("larder.window")
ASSETS = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parent.parent)) / "desktop" / "assets"
DEFAULT_SIZE = (1120, 720)

LOADING_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Larder</title>
<style>body{font:16px system-ui,sans-serif;display:flex;align-items:center;justify-content:center;
height:100vh;margin:0;background:#fbfaf7;color:#1d2327}
.box{text-align:center}.dot{display:inline-block;width:10px;height:10px;margin:4px;border-radius:50%;
background:#2f6f4f;animation:b 1s infinite alternate}.dot:nth-child(2){animation-delay:.2s}
.dot:nth-child(3){animation-delay:.4s}@keyframes b{to{opacity:.2}}</style></head>
<body><div class="box"><h1>Larder</h1><p>Opening your shop&hellip;</p>
<span class="dot"></span><span class="dot"></span><span class="dot"></span></div></body></html>"""


def load_size(data_dir):
    try:
        state = json.loads(Path(data_dir, "window.json").read_text())
        width, height = int(state["width"]), int(state["height"])
        if 400 <= width <= 10000 and 300 <= height <= 10000:
            return width, height
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return DEFAULT_SIZE


def save_size(data_dir, width, height):
    try:
        Path(data_dir, "window.json").write_text(json.dumps({"width": width, "height": height}))
    except OSError:
        log.warning("could not save the window size")


class DesktopApi:
    """Methods the pages call through pywebview's bridge (they run on a bridge thread).
    The app is `starting.app`: the window opens before the app is made, and the app is
    there before its first page is served."""

    def __init__(self, starting):
        # Underscored: pywebview exposes (and walks into) every public attribute.
        self._starting = starting
        self._window = None

    @property
    def _app(self):
        return self._starting.app

    def save_report(self, report_id):
        import webview

        from webapp import reports
        from webapp.extensions import db
        from webapp.background.jobs import params
        from webapp.config import files_folder
        from webapp.models import Job

        with self._app.app_context():
            job = db.session.get(Job, str(report_id))
            if job is None or job.kind != "report" or job.state != "success":
                return {"error": "This report is not ready."}
            p = params(job)
            source = files_folder("reports", self._app.config) / f"{job.id}.{p['format']}"
            first, last = reports.parse_range(p["from"], p["to"])
            name = reports.report_filename(first, last, p["format"])
        if not source.is_file():
            return {"error": "The report file was removed by the daily cleanup."}
        chosen = self._window.create_file_dialog(webview.FileDialog.SAVE, save_filename=name)
        if not chosen:
            return {"cancelled": True}
        target = chosen if isinstance(chosen, str) else chosen[0]
        try:
            shutil.copyfile(source, target)
        except OSError as exc:
            return {"error": f"Could not save {target}: {exc.strerror or exc}"}
        log.info("report %s saved to %s", report_id, target)
        return {"saved": target}

    def save_backup(self, name):
        """The Backups page's Download in the window: a save dialog, then a copy. The
        backup is looked up by name in the folder's listing, never opened by path."""
        import webview

        from webapp.backups import find_backup

        found = find_backup(self._app.config["DATA_DIR"], str(name))
        if found is None:
            return {"error": "There is no such backup."}
        chosen = self._window.create_file_dialog(webview.FileDialog.SAVE,
                                                 save_filename=found.name)
        if not chosen:
            return {"cancelled": True}
        target = chosen if isinstance(chosen, str) else chosen[0]
        try:
            shutil.copyfile(found.path, target)
        except OSError as exc:
            return {"error": f"Could not save {target}: {exc.strerror or exc}"}
        log.info("backup %s saved to %s", found.name, target)
        return {"saved": target}

    def open_external(self, url):
        if not str(url).startswith(("http://", "https://", "mailto:")):
            return {"error": "only web and mail links open outside"}
        webbrowser.open(str(url))
        return {"opened": True}


def run_window(starting, data_dir, on_ready=None, on_page_loaded=None, on_closing=None):
    """Open the window on a loading page at once, then the app once `starting` has it
    (starting.wait() -> the signed-in URL, or None when the app failed: the window then
    closes; starting.app: the Flask app; starting.wait_address(), when there, the same URL
    as soon as the server listens: the window asks for it while the app is made).
    Blocks until the window closes.
    on_ready(window) is called once the GUI runs; on_page_loaded() once, when the app's
    first page is drawn; on_closing() as soon as the user closes it (it must return at
    once)."""
    import webview

    api = DesktopApi(starting)
    width, height = load_size(data_dir)
    window = webview.create_window("Larder", html=LOADING_PAGE, js_api=api, width=width,
                                   height=height, min_size=(640, 480))
    api._window = window
    state = {"app_loaded": False, "url": None}
    loads = itertools.count(1)  # pywebview's `loaded` fires once per page, each on a thread

    def on_loaded():
        if next(loads) == 1:
            return  # the loading page (its URL can read as the app's once that is asked for)
        current = window.get_current_url() or ""
        if state["url"] and current.startswith(state["url"].split("?")[0]) and \
                not state["app_loaded"]:
            state["app_loaded"] = True
            log.info("window: page loaded %s", current)
            if on_page_loaded is not None:
                on_page_loaded()

    def on_resized(width, height):
        save_size(data_dir, width, height)

    window.events.loaded += on_loaded
    window.events.resized += on_resized
    if on_closing is not None:
        window.events.closing += on_closing

    def started():  # on a thread of pywebview's, once the GUI loop runs
        log.info("window: shown")
        if on_ready is not None:
            on_ready(window)
        # The first page is asked for as soon as the server listens, once the loading
        # page is loaded (`before_load`: pywebview's bridge is put into a page after it
        # loads; a page still loading would be replaced by a blank one while the app is
        # made): the web engine's new page process and connection get ready meanwhile,
        # and the request is answered the moment the app is made (bench/window_start.py).
        early = getattr(starting, "wait_address", None)
        url = early() if early is not None else None
        while url is not None and not window.events.before_load.wait(0.1):
            if window.events.closed.is_set():
                return
        if url is not None:
            state["url"] = url
            log.info("window: asking for the app")
            window.load_url(url)
        ready = starting.wait()
        if ready is None:
            window.destroy()
            return
        if url is None:
            state["url"] = ready
            window.load_url(ready)

    gui = "qt" if sys.platform.startswith("linux") else None
    if gui == "qt":  # the date pickers in the shop's format (desktop/shop_locale.py)
        from desktop.shop_locale import set_engine_language

        set_engine_language(data_dir)
    icon = str(ASSETS / "larder.png")
    webview.start(started, gui=gui, private_mode=False,
                  storage_path=os.path.join(data_dir, "webview"), icon=icon)
    log.info("window: closed")

