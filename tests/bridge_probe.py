"""Run by tests/test_desktop_bridge.py in its own process (the GUI loop needs the main
thread): open the real window on the app under Xvfb, call the pywebview bridge from the
page the way static/desktop.js does, and report what the page saw via a probe route.

Usage: bridge_probe.py DATA_DIR DISPLAY; prints `RESULT {json}`."""
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


# What the page calls: the bridge's open_external (the way static/desktop.js does), then
# reports the page it was on and the bridge's answer.
BRIDGE_CALL = """
  if (window.pywebview && window.pywebview.api && window.pywebview.api.open_external) {
    window.pywebview.api.open_external('ftp://nope').then(function (r) {
      fetch('/probe?page=' + encodeURIComponent(document.body.className) +
            '&answer=' + encodeURIComponent(r.error));
    });
  }"""


def probe_window(data_dir, display, script):
    """Open the real window on the app and run `script` in the page (every second, until
    it calls /probe?...): {name: value} of what it sent. Other probes use it too."""
    os.environ["DISPLAY"] = display
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = "--no-sandbox"
    # The config the desktop launcher gives the app (tests check the launcher uses it).
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
                window.run_js(script)  # run_js runs the code as is (evaluate_js wraps it)
                seen.wait(1)
            window.destroy()
        threading.Thread(target=check, daemon=True).start()

    win.run_window(Ready(app, f"{server.url}/?token=tok"), data_dir, on_ready=ready)
    server.stop()
    return result


def main(data_dir, display):
    print("RESULT " + json.dumps(probe_window(data_dir, display, BRIDGE_CALL)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
