"""The desktop app from source: a real window under Xvfb (started by the fixture)."""
import json
import os
import signal
import subprocess
import time

import pytest
import requests

from desktop_app import DesktopApp, alive, process_tree, screenshot_is_not_blank
from worker_proc import wait_for
from x11 import VirtualDisplay


@pytest.fixture(scope="module")
def display():
    pytest.importorskip("webview")
    screen = VirtualDisplay()
    yield screen.display, screen
    screen.stop()


@pytest.fixture
def launch(data_dir):
    apps = []

    def start(display=None, command=None, env=None):
        app = DesktopApp(data_dir, display, command, env)
        apps.append(app)
        return app

    yield start
    for app in apps:
        app.stop()


def test_window_shows_the_dashboard(display, launch, tmp_path):
    name, screen = display
    app = launch(name)
    app.wait_page_loaded()
    log = app.log()
    assert "GET / 200" in log  # the window asked for the dashboard, signed in
    windows = wait_for(lambda: screen.find_windows("Larder"), what="the window")
    assert len(windows) == 1
    time.sleep(0.5)  # let the page paint
    ok, detail = screenshot_is_not_blank(screen.screenshot(tmp_path / "window.png"))
    assert ok, detail
    info = json.loads((app.data_dir / "server.json").read_text())
    assert info["url"].startswith("http://127.0.0.1:")
    assert requests.get(f"{info['url']}/api/stats", timeout=5).status_code == 401


def test_second_launch_brings_the_window_forward(display, launch):
    name, screen = display
    first = launch(name)
    first.wait_page_loaded()
    first.wait_workers()
    second = launch(name)
    assert second.proc.wait(60) == 0
    assert "brought forward" in second.output()
    assert "POST /desktop/focus 200" in first.log()
    assert len(first.workers()) == 1
    assert not process_tree(second.proc.pid)


def test_closing_the_window_stops_everything(display, launch):
    name, screen = display
    app = launch(name)
    app.wait_page_loaded()
    app.wait_workers()
    tree = process_tree(app.proc.pid)
    from webapp.background.supervisor import node_specs

    # the worker's supervisor (with beat), its nodes (wait_workers), the web engine
    assert len(tree) >= 2 + len(node_specs())
    window = wait_for(lambda: screen.find_windows("Larder"), what="the window")[0]
    screen.close_window(window)
    assert app.proc.wait(30) == 0
    wait_for(lambda: not any(alive(p) for p in tree), timeout=10, what="every child to exit")
    assert not (app.data_dir / "server.json").exists()
    log = app.log()
    assert "stopping" in log and "stopped" in log


def test_killing_the_launcher_ends_the_worker(display, launch):
    name, _ = display
    app = launch(name)
    app.wait_page_loaded()
    workers = app.wait_workers()
    tree = [p for p in process_tree(workers[0])] + workers
    app.proc.send_signal(signal.SIGKILL)
    app.proc.wait(10)
    wait_for(lambda: not any(alive(p) for p in tree), timeout=20,
             what="the orphaned worker to exit")


def test_window_remembers_its_size(display, launch):
    name, screen = display
    app = launch(name)
    app.wait_page_loaded()
    window = wait_for(lambda: screen.find_windows("Larder"), what="the window")[0]
    subprocess.run(["xdotool", "windowsize", str(window), "900", "650"], check=True,
                   env={"DISPLAY": name})
    state = app.data_dir / "window.json"
    wait_for(lambda: state.exists() and json.loads(state.read_text()) == {"width": 900, "height": 650},
             what="the saved size")
    screen.close_window(window)
    app.proc.wait(30)
    again = launch(name)
    again.wait_page_loaded()
    window = wait_for(lambda: screen.find_windows("Larder"), what="the window")[0]
    geometry = subprocess.run(["xdotool", "getwindowgeometry", str(window)], check=True,
                              capture_output=True, text=True, env={"DISPLAY": name}).stdout
    assert "900x650" in geometry


def test_no_display_serves_headless(launch):
    app = launch(display=None, env={"BROWSER": "true"})  # `true` stands in for a browser
    line = wait_for(lambda: [ln for ln in app.output().splitlines() if "serving without" in ln],
                    what="the headless line")[0]
    assert line.startswith("Larder: no display: serving without a window at http://127.0.0.1:")
    url = line.split(" at ")[1].split(" ")[0]
    assert "?token=" in url
    base = url.split("/?")[0]
    assert requests.get(f"{base}/health", timeout=5).json()["status"] == "ok"
    assert requests.get(url, timeout=5).status_code == 200  # the link signs in
    workers = app.wait_workers()
    tree = process_tree(app.proc.pid)
    app.proc.send_signal(signal.SIGINT)  # Ctrl+C
    assert app.proc.wait(30) == 0
    wait_for(lambda: not any(alive(p) for p in tree + workers), timeout=10,
             what="everything to stop")


def test_display_check_waits_for_a_busy_display(monkeypatch, caplog):
    """An X server that refuses the first connections (busy, or still starting) does not
    send the app headless: the check retries. A display that never answers does."""
    import logging
    import threading

    from desktop.launcher import display_available

    pytest.importorskip("Xlib")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":1999")  # nothing there
    with caplog.at_level(logging.INFO, logger="larder.desktop"):
        assert display_available(attempts=3, pause=0.05) is False
    assert "refused a connection (attempt 3 of 3)" in caplog.text

    screens = []
    later = threading.Timer(0.3, lambda: screens.append(VirtualDisplay()))
    number = next(n for n in range(90, 140) if not os.path.exists(f"/tmp/.X11-unix/X{n}")
                  and not os.path.exists(f"/tmp/.X{n}-lock"))
    monkeypatch.setenv("DISPLAY", f":{number}")  # the display VirtualDisplay will take
    later.start()
    try:
        assert display_available(attempts=50, pause=0.1) is True
        assert screens and screens[0].display == f":{number}"
    finally:
        later.join()
        for screen in screens:
            screen.stop()


def test_deferred_worker_starts_once_and_never_after_close():
    """The launcher starts the worker when the first page is drawn or by a timer,
    whichever comes first, and never once the app is closing."""
    from desktop.launcher import DeferredWorker

    def spawn():
        return subprocess.Popen(["sleep", "30"])

    worker = DeferredWorker(spawn)
    worker.start_later(0.1)
    first = wait_for(worker.processes, what="the timer to start it")[0]
    worker.start()  # the page loaded after the timer fired: nothing more
    assert worker.processes() == [first]
    first.kill()
    first.wait()

    closing = DeferredWorker(spawn)
    closing.start_later(0.1)
    closing.cancel()  # the window closed before the page or the timer
    time.sleep(0.3)
    closing.start()
    assert closing.processes() == []


def test_windowed_build_without_stdout_does_not_crash(data_dir):
    """A windowed Windows build has sys.stdout = sys.stderr = None."""
    import sys

    from worker_proc import ROOT

    code = ("import sys; sys.stdout = None; sys.stderr = None; "
            "from desktop.cli import main; main(['--data-dir', sys.argv[1], '--headless'])")
    proc = subprocess.Popen([sys.executable, "-c", code, str(data_dir)], cwd=ROOT,
                            env={"PATH": "/usr/bin:/bin", "BROWSER": "true"})
    try:
        info = wait_for(lambda: (data_dir / "server.json").exists() and
                        json.loads((data_dir / "server.json").read_text()), what="the server")
        assert requests.get(f"{info['url']}/health", timeout=5).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    console = (data_dir / "logs" / "console.log").read_text()
    assert "serving without a window" in console  # what it printed went to the log
