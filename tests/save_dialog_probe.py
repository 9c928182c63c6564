"""Run by tests/test_desktop_save_dialog.py in its own process (the GUI loop needs the
main thread): the real window on the real app under Xvfb, a finished report on the
Reports page; its Download link is clicked in the page (static/desktop.js takes it to
the bridge's save_report), and the real Qt save dialog that opens is answered with the
keyboard (xdotool): Enter on the suggested name, a path typed in, Escape.

Usage: save_dialog_probe.py DATA_DIR DISPLAY TARGET_DIR (run with cwd = where the
dialog starts); prints `RESULT {json}`."""
import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bridge_probe import Ready  # noqa: E402
from desktop import window as win  # noqa: E402
from desktop.server import ServerThread  # noqa: E402
from webapp import create_app  # noqa: E402
from x11 import VirtualDisplay  # noqa: E402

DIALOG_TITLE = "Save file"  # pywebview's title for the Qt save dialog


def wait_for(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError


def main(data_dir, display, target_dir):
    os.environ["DISPLAY"] = display
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = "--no-sandbox"
    app = create_app({"LARDER_TOKEN": "tok", "LARDER_DESKTOP_WINDOW": True,
                      "CELERY_OVERRIDES": {"task_always_eager": True}}, data_dir=data_dir)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = "Bearer tok"
    job = client.post("/api/reports", json={"from": "2025-01-01", "to": "2025-01-31",
                                            "format": "csv"}).json  # eager: done at once
    server = ServerThread(app).start()
    screen = VirtualDisplay.__new__(VirtualDisplay)  # the display the test started
    screen.display = display
    result = {"report_id": job["report_id"], "steps": []}

    def ready(window):
        def drive():
            try:
                wait_for(lambda: (window.get_current_url() or "").endswith("/"))
                window.load_url(f"{server.url}/reports/")
                wait_for(lambda: window.evaluate_js(
                    "document.body.classList.contains('desktop') && "
                    "!!document.querySelector('a[data-report-id]')"))
                answers = [("suggested name", None, "Return"),
                           ("typed path", str(Path(target_dir, "sales.csv")), "Return"),
                           ("cancelled", None, "Escape")]
                for step, text, key in answers:
                    window.run_js("document.querySelector('a[data-report-id]').click()")
                    dialog = wait_for(lambda: screen.find_windows(DIALOG_TITLE))[0]
                    time.sleep(0.5)  # the dialog lists its folder before taking keys
                    screen.answer_dialog(dialog, text, key)
                    wait_for(lambda: not screen.find_windows(DIALOG_TITLE))
                    time.sleep(0.5)  # the bridge copies the file
                    result["steps"].append(step)
            except Exception as exc:  # reported to the test, which fails on it
                result["error"] = repr(exc)
            finally:
                window.destroy()
        threading.Thread(target=drive, daemon=True).start()

    win.run_window(Ready(app, f"{server.url}/?token=tok"), data_dir, on_ready=ready)
    server.stop()
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
