"""Closing the window stops everything (issue 4 target: within 2 s): from the window
manager's close (WM_DELETE_WINDOW) until the launcher, the worker and the web engine
are all gone. From source and, when built, dist/larder; under a private Xvfb."""
import argparse
import shutil
import sys
import tempfile
import time

from _common import ROOT

sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "build")]
import smoke_test as smoke  # noqa: E402
from desktop_app import DesktopApp, alive, process_tree  # noqa: E402
from worker_proc import wait_for  # noqa: E402
from x11 import VirtualDisplay  # noqa: E402


def close_times(screen, command, env, runs):
    times = []
    for _ in range(runs):
        data_dir = tempfile.mkdtemp(prefix="larder-bench-close-")
        app = DesktopApp(data_dir, screen.display, command, env)
        try:
            app.wait_page_loaded(120)
            app.wait_workers()
            time.sleep(1)  # settled: the worker's nodes are up
            tree = [app.proc.pid] + process_tree(app.proc.pid)
            window = wait_for(lambda: screen.find_windows("Larder"), what="the window")[0]
            started = time.monotonic()
            screen.close_window(window)
            while any(alive(pid) for pid in tree):
                time.sleep(0.01)
            times.append(time.monotonic() - started)
        finally:
            app.stop()
            shutil.rmtree(data_dir, ignore_errors=True)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    exe = ROOT / "dist" / "larder"
    screen = VirtualDisplay()
    try:
        rows = [("from source", close_times(screen, None, None, args.runs))]
        if exe.is_file():
            rows.append(("dist/larder", close_times(screen, [str(exe)], smoke.clean_env(),
                                                    args.runs)))
    finally:
        screen.stop()
    print(f"close -> every process gone, {args.runs} runs (target < 2 s)")
    for label, times in rows:
        print(f"{label:12} median {sorted(times)[len(times) // 2]:.2f} s   "
              f"runs {', '.join(f'{t:.2f}' for t in times)}")


if __name__ == "__main__":
    main()
