"""The window's timings (issue 13): from the launch ("the double-click") until the
`Larder` window is mapped (X11 MapNotify), until the app is made (the log's `app ready`:
the start's critical path), until the app's first page is drawn (the launcher logs
`window: page loaded` when pywebview's `loaded` event fires for it), and from the window
manager's close (WM_DELETE_WINDOW) until every process is gone. The 1-minute load
average is printed: on a shared machine the figures mean little above ~1.

    python bench/window_start.py [--runs 5] [--baseline REV] [--exe dist/larder]

Later starts: each checkout keeps one data dir across its runs (after one untimed
start), like a shop's second and later mornings. --baseline REV runs revision REV from a
temporary git worktree, interleaved with this checkout's runs. Targets: mapped < 0.5 s,
first page < 1.0 s, close < 0.5 s.
"""
import argparse
import os
import shutil
import tempfile
import time

from _window import (Launch, MapWatcher, add_subjects, median, send_close, subjects,
                     wait_gone)

TARGETS = {"mapped": 0.5, "ready": None, "page": 1.0, "close": 0.5}


def one_run(checkout, display, data_dir):
    watcher = MapWatcher(display)
    launch = Launch(checkout, display, data_dir)
    try:
        page = launch.wait_log("window: page loaded")
        mapped = watcher.mapped_at - launch.started if watcher.mapped_at else None
        ready = launch.log_time("app ready")
        launch.wait_worker()
        time.sleep(1.0)  # settled: the worker's nodes and beat are up
        tree = launch.tree()
        send_close(display)
        closed = wait_gone(tree)
        return {"mapped": mapped, "ready": ready, "page": page, "close": closed}
    finally:
        watcher.close()
        launch.stop(remove=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    add_subjects(parser)
    args = parser.parse_args()

    from x11 import VirtualDisplay

    checkouts = subjects(args)
    screen = VirtualDisplay()
    dirs = {c.label: tempfile.mkdtemp(prefix="larder-bench-start-") for c in checkouts}
    results = {c.label: [] for c in checkouts}
    try:
        for c in checkouts:  # untimed: files in the page cache, the web engine's cache made
            one_run(c, screen.display, dirs[c.label])
        loads = [os.getloadavg()[0]]
        for _ in range(args.runs):
            for c in checkouts:
                results[c.label].append(one_run(c, screen.display, dirs[c.label]))
            loads.append(os.getloadavg()[0])
    finally:
        screen.stop()
        for c in checkouts:
            c.remove()
        for d in dirs.values():
            shutil.rmtree(d, ignore_errors=True)
    print(f"## The window, seconds (median of {args.runs} interleaved runs, later starts; "
          f"1-minute load average {min(loads):.1f}-{max(loads):.1f})")
    print("| what | " + " | ".join(results) + " | target |")
    print("|---|" + "---:|" * (len(results) + 1))
    names = {"mapped": "launch -> window mapped", "ready": "launch -> app ready (log)",
             "page": "launch -> first page drawn", "close": "close -> every process gone"}
    for key, name in names.items():
        cells = []
        for label, runs in results.items():
            values = [r[key] for r in runs if r[key] is not None]
            m = median(values)
            cells.append("-" if m is None else f"{m:.2f} ({min(values):.2f}-{max(values):.2f})")
        target = f"< {TARGETS[key]}" if TARGETS[key] else "-"
        print(f"| {name} | " + " | ".join(cells) + f" | {target} |")


if __name__ == "__main__":
    main()
