"""Before the window opens, the launcher checks that its engine can start (WebView2 and
.NET on Windows, desktop/window_engine.py); when it cannot, a box says so and the app
opens in the browser. The registry and the child process are the only stand-ins (the
system's edge); the fallback itself runs for real on Linux, forced by
LARDER_WINDOW_ENGINE=unavailable, with a real Qt box on Xvfb and a recording "browser"."""
import signal
import stat
import sys

import pytest
import requests

from desktop import window_engine
from desktop.window_engine import WEBVIEW2_KEYS, run_probe, webview2_version, \
    windows_engine_problem
from desktop_app import DesktopApp, alive, process_tree
from worker_proc import wait_for
from webapp.background.procs import self_command

HKLM64, HKLM, HKCU = WEBVIEW2_KEYS


def registry(values):
    """A stand-in for the registry: {(root, key): pv}."""
    return lambda root, key, name: values.get((root, key)) if name == "pv" else None


class Probe:
    """A stand-in for the child process: records the command, answers as told."""

    def __init__(self, code, output):
        self.answer, self.commands = (code, output), []

    def __call__(self, command):
        self.commands.append(command)
        return self.answer


@pytest.mark.parametrize("values", [{}, {HKLM64: ""}, {HKLM64: "0.0.0.0", HKCU: "0.0.0.0"}])
def test_no_webview2_runtime_is_found_without_starting_a_child(values):
    probe = Probe(0, window_engine.PROBE_OK)
    assert webview2_version(registry(values)) is None
    assert windows_engine_problem(registry(values), probe) == window_engine.NO_WEBVIEW2
    assert probe.commands == []


@pytest.mark.parametrize("key", [HKLM64, HKLM, HKCU])
def test_webview2_in_any_documented_key_counts(key):
    assert webview2_version(registry({key: "120.0.2210.91"})) == "120.0.2210.91"


def test_with_webview2_the_child_decides():
    found = registry({HKLM64: "120.0.2210.91"})
    ok = Probe(0, "window engine ok\n")
    assert windows_engine_problem(found, ok) is None
    assert ok.commands == [self_command("check-window-engine")]
    crashed = Probe(3, "")  # pythonnet dying in native code (Wine: exit code 3)
    assert windows_engine_problem(found, crashed) == \
        "the window engine (.NET with WebView2) cannot start: exit code 3"
    hung = Probe(None, "no answer in 60 s")
    assert "no answer in 60 s" in windows_engine_problem(found, hung)
    mshtml = Probe(1, "pywebview would use mshtml, not WebView2\n")
    assert windows_engine_problem(found, mshtml).endswith("would use mshtml, not WebView2")


def test_the_real_probe_child_answers_and_a_crashing_child_is_contained():
    assert run_probe(self_command("check-window-engine")) == (0, "window engine ok\n")
    code, _ = run_probe([sys.executable, "-c", "import os; os.abort()"])  # a native crash
    assert code not in (0, None)
    found = registry({HKCU: "120.0.2210.91"})
    problem = windows_engine_problem(
        found, lambda _: run_probe([sys.executable, "-c", "import os; os.abort()"]))
    assert problem.startswith("the window engine (.NET with WebView2) cannot start")
    assert run_probe([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5) \
        == (None, "no answer in 0.5 s")


def test_forced_unavailable_engine_is_a_problem_everywhere(monkeypatch):
    monkeypatch.setenv("LARDER_WINDOW_ENGINE", "unavailable")
    assert window_engine.engine_problem() == window_engine.FORCED
    monkeypatch.delenv("LARDER_WINDOW_ENGINE")
    assert window_engine.engine_problem() is None  # Linux: the display check does the rest


def test_no_engine_says_so_in_a_box_then_serves_in_the_browser(data_dir, tmp_path):
    pytest.importorskip("PyQt6.QtWidgets")
    pytest.importorskip("webview")
    from x11 import VirtualDisplay

    opened = tmp_path / "browser.txt"
    browser = tmp_path / "browser"
    browser.write_text(f"#!/bin/sh\necho \"$1\" >> {opened}\n")
    browser.chmod(browser.stat().st_mode | stat.S_IEXEC)
    screen = VirtualDisplay()
    app = DesktopApp(data_dir, screen.display,
                     extra_env={"LARDER_WINDOW_ENGINE": "unavailable", "BROWSER": str(browser)})
    try:
        box = wait_for(lambda: screen.find_windows("Larder opens in your web browser"),
                       timeout=60, what="the message box")[0]
        assert app.proc.poll() is None and not opened.exists()  # waits for the owner
        screen.close_window(box)
        line = wait_for(lambda: [ln for ln in app.output().splitlines()
                                 if "serving without a window" in ln], what="the headless line")[0]
        assert line.startswith(f"Larder: {window_engine.FORCED}: serving without a window at ")
        url = line.split(" at ")[1].split(" ")[0]
        wait_for(lambda: opened.exists(), what="the browser to be opened")
        assert opened.read_text().split() == [url]
        assert requests.get(url, timeout=5).status_code == 200  # the link signs in
        assert requests.get(url.split("/?")[0] + "/health", timeout=5).status_code == 200
        assert not screen.find_windows("Larder")  # no app window was opened
        assert "no window: the window engine is turned off" in app.log()
        tree = process_tree(app.proc.pid)
        app.proc.send_signal(signal.SIGTERM)
        assert app.proc.wait(30) == 0
        wait_for(lambda: not any(alive(p) for p in tree), timeout=10, what="every child")
    finally:
        app.stop()
        screen.stop()
