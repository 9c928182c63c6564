"""The desktop window's bridge (window.pywebview.api, used by static/desktop.js) still
works under the pages' Content-Security-Policy; a real window under Xvfb."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from x11 import VirtualDisplay

PROBE = Path(__file__).with_name("bridge_probe.py")


def test_bridge_answers_the_page_under_the_policy(data_dir):
    pytest.importorskip("webview")
    screen = VirtualDisplay()
    try:
        proc = subprocess.run([sys.executable, str(PROBE), str(data_dir), screen.display],
                              capture_output=True, text=True, timeout=120)
    finally:
        screen.stop()
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, proc.stdout + proc.stderr[-3000:]
    result = json.loads(lines[-1][7:])
    assert result == {"page": "desktop", "answer": "only web and mail links open outside"}, \
        proc.stderr[-3000:]

