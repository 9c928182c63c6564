"""The built executable's window under Xvfb: the same checks as tests/test_desktop.py,
with dist/larder alone (slow: run with `pytest -m slow`)."""
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import pytest

from desktop_app import DesktopApp, alive, cmdline, process_tree, screenshot_is_not_blank
from test_executable import executable, smoke  # noqa: F401  (fixture)
from worker_proc import wait_for
from x11 import VirtualDisplay

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Xvfb, /proc")]


@pytest.fixture(scope="module")
def display():
    screen = VirtualDisplay()
    yield screen
    screen.stop()


@pytest.fixture
def launch(executable, display, data_dir):  # noqa: F811
    apps = []

    def start():
        app = DesktopApp(data_dir, display.display, command=[str(executable)],
                         extra_env=smoke.clean_env())
        apps.append(app)
        return app

    yield start
    for app in apps:
        app.stop()
        smoke.kill_all(app.proc.pid, data_dir)


def test_executable_window_shows_the_dashboard(executable, launch, display,  # noqa: F811
                                              tmp_path):
    app = launch()
    seconds = app.wait_page_loaded(timeout=120)
    assert "GET / 200" in app.log()
    # Started as dist/larder, running from the folder it unpacked once.
    build_id = smoke.read_build_id(executable)
    assert f"program: {executable}, unpacked in " in app.log()
    assert f"/larder/app/{build_id}" in app.log()
    wait_for(lambda: display.find_windows("Larder"), what="the window")
    time.sleep(0.5)
    ok, detail = screenshot_is_not_blank(display.screenshot(tmp_path / "exe-window.png"))
    assert ok, detail
    print(f"first page drawn after {seconds:.2f} s")


def test_executable_second_launch_and_close(executable, launch, display):  # noqa: F811
    temp_before = set(Path(tempfile.gettempdir()).glob("_MEI*"))
    first = launch()
    first.wait_page_loaded(timeout=120)
    first.wait_workers()
    second = launch()
    assert second.proc.wait(120) == 0
    assert "brought forward" in second.output()
    assert len(first.workers()) == 1
    tree = process_tree(first.proc.pid)
    display.close_window(wait_for(lambda: display.find_windows("Larder"), what="window")[0])
    assert first.proc.wait(60) == 0
    wait_for(lambda: not any(alive(p) for p in tree), timeout=15, what="every child to exit")
    # Nothing unpacked per run (PyInstaller's _MEI folders): the app runs from the
    # version folder that the one file unpacked once, which stays for the next start.
    assert set(Path(tempfile.gettempdir()).glob("_MEI*")) == temp_before
    assert smoke.unpacked_versions(os.environ["XDG_CACHE_HOME"]) == [smoke.read_build_id(executable)]


def test_executable_killed_launcher_ends_the_worker(launch):
    app = launch()
    app.wait_page_loaded(timeout=120)
    workers = app.wait_workers()
    tree = workers + [p for w in workers for p in process_tree(w)]
    # The one file exec()s the unpacked app: the process we started is the launcher.
    assert "worker" not in cmdline(app.proc.pid)
    os.kill(app.proc.pid, signal.SIGKILL)
    wait_for(lambda: not any(alive(p) for p in tree), timeout=30,
             what="the orphaned worker to exit")
