"""Run by tests/test_desktop_locale.py in its own process (the GUI loop needs the main
thread): open the real window (desktop.window.run_window) on the app under Xvfb and report
the language its web engine gives the page (what it draws date pickers in).

Usage: locale_probe.py DATA_DIR DISPLAY; prints `RESULT {json}`."""
import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import request  # noqa: E402

from desktop import window as win  # noqa: E402
from desktop.server import ServerThread  # noqa: E402
from webapp import create_app  # noqa: E402


class Ready:
    """What desktop.launcher.AppStart gives run_window: an app already made."""

    def __init__(self, app, url):
        self.app, self.url = app, url

    def wait(self):
        return self.url


def main(data_dir, display):
    os.environ["DISPLAY"] = display
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = "--no-sandbox"
    app = create_app({"LARDER_TOKEN": "tok", "LARDER_DESKTOP_WINDOW": True},
                     data_dir=data_dir)
    result = {}
    seen = threading.Event()

    def probe():
        result.update(request.args.to_dict())
        seen.set()
        return "ok"

    app.add_url_rule("/probe", "probe", probe)
    server = ServerThread(app).start()

    def ready(window):
        def check():
            deadline = time.monotonic() + 60
            while not seen.is_set() and time.monotonic() < deadline:
                window.run_js("""
                  if (document.body && document.body.className) {
                    fetch('/probe?language=' + encodeURIComponent(navigator.language) +
                          '&html_lang=' + encodeURIComponent(document.documentElement.lang));
                  }""")
                seen.wait(1)
            window.destroy()
        threading.Thread(target=check, daemon=True).start()

    win.run_window(Ready(app, f"{server.url}/?token=tok"), data_dir, on_ready=ready)
    server.stop()
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
