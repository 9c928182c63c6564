"""Run by tests/test_desktop_locale.py in its own process (the GUI loop needs the main
thread): open the real window (desktop.window.run_window, through bridge_probe's
probe_window) on the app under Xvfb and report the language its web engine gives the page
(what it draws date pickers in).

Usage: locale_probe.py DATA_DIR DISPLAY; prints `RESULT {json}`."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bridge_probe import probe_window  # noqa: E402

LANGUAGE = """
  if (document.body && document.body.className) {
    fetch('/probe?language=' + encodeURIComponent(navigator.language) +
          '&html_lang=' + encodeURIComponent(document.documentElement.lang));
  }"""


if __name__ == "__main__":
    print("RESULT " + json.dumps(probe_window(sys.argv[1], sys.argv[2], LANGUAGE)), flush=True)
