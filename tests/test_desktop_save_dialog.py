"""Issue 12: a finished report is saved with the native save dialog in the window. The
real window, page, bridge and Qt dialog under Xvfb; the dialog is answered with the
keyboard (xdotool), as a person would. In a browser the same link is a plain download
(static/desktop.js does nothing there: tests/test_reports.py downloads it)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import require_binary
from x11 import VirtualDisplay

PROBE = Path(__file__).with_name("save_dialog_probe.py")


def test_report_is_saved_where_the_owner_chooses(data_dir, tmp_path):
    pytest.importorskip("webview")
    require_binary("xdotool")
    start = tmp_path / "dialog-starts-here"  # the dialog opens in the probe's folder
    chosen = tmp_path / "usb-stick"
    start.mkdir()
    chosen.mkdir()
    screen = VirtualDisplay()
    try:
        proc = subprocess.run([sys.executable, str(PROBE), str(data_dir), screen.display,
                               str(chosen)], cwd=start, capture_output=True, text=True,
                              timeout=240)
    finally:
        screen.stop()
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, proc.stdout + proc.stderr[-3000:]
    result = json.loads(lines[-1][7:])
    assert "error" not in result, result["error"] + proc.stderr[-3000:]
    assert result["steps"] == ["suggested name", "typed path", "cancelled"]
    report = (data_dir / "reports" / f"{result['report_id']}.csv").read_bytes()
    # Enter on the suggested name: saved under it, in the folder the dialog opened on.
    assert [p.name for p in start.iterdir()] == ["larder-report-2025-01-01-to-2025-01-31.csv"]
    assert (start / "larder-report-2025-01-01-to-2025-01-31.csv").read_bytes() == report
    # A path typed in: saved there. Escape: nothing more written anywhere.
    assert [p.name for p in chosen.iterdir()] == ["sales.csv"]
    assert (chosen / "sales.csv").read_bytes() == report
    log = (data_dir / "logs" / "larder.log")
    assert not log.exists() or "Traceback" not in log.read_text()
