"""Memory of the whole desktop app (issue 13): the sum of the unique set sizes (USS,
psutil's memory_full_info: what would be freed if the process ended; shared libraries
counted once in no one's share) of the launcher and every process under it, without a
window (`--headless`) and with the window (under a private Xvfb), once it has started,
every worker node consumes (/health) and it has served the first pages (signed in,
dashboard, reports, products, orders), then settled for a few seconds. RSS is shown
too (it counts shared pages once per process, so the sum overstates).

    python bench/memory.py [--runs 3] [--baseline REV] [--exe dist/larder]

Targets: under 300 MB without the window, under 600 MB with it.
"""
import argparse
import json
import time

import psutil
import requests

from _window import Launch, add_subjects, median, proctable_cmdline, subjects

TARGETS = {"headless": 300, "window": 600}
PAGES = ["/", "/reports/", "/products/", "/orders/", "/customers/", "/settings/"]


def role(pid, launcher):
    if pid == launcher:
        return "launcher (web server, window)"
    line = proctable_cmdline(pid)
    for key, name in (("worker-node", "worker node"), (" worker --beat", "worker supervisor"),
                      (" beat", "beat"), ("QtWebEngineProcess", "web engine"),
                      ("--type=", "web engine")):
        if key in line:
            if key == "worker-node" and "--name" in line:
                return f"worker node {line.split('--name')[1].split()[0]}"
            return name
    return line[:60]


def measure(checkout, display, settle):
    launch = Launch(checkout, display)
    try:
        if display:
            launch.wait_log("window: page loaded")
        else:
            launch.wait_log("headless")
        launch.wait_worker()
        info = json.loads((launch.data_dir / "server.json").read_text())
        # Every node consumes (a node still importing is smaller: a busy machine made the
        # processes' mere presence measure half-started nodes).
        deadline = time.monotonic() + 120
        while requests.get(info["url"] + "/health", timeout=30).json()["worker"] != "ok":
            if time.monotonic() > deadline:
                raise RuntimeError("the worker did not get ready")
            time.sleep(0.2)
        with requests.Session() as web:
            if not display:  # the window signs in and shows the dashboard itself
                web.get(f"{info['url']}/?token={info['token']}", timeout=30)
            else:
                web.headers["Authorization"] = f"Bearer {info['token']}"
            for page in PAGES:
                web.get(info["url"] + page, timeout=30)
        time.sleep(settle)
        rows = []
        for pid in launch.tree():
            try:
                mem = psutil.Process(pid).memory_full_info()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            rows.append((role(pid, launch.proc.pid), mem.uss / 1e6, mem.rss / 1e6))
        return rows
    finally:
        launch.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--settle", type=float, default=3.0)
    add_subjects(parser)
    parser.add_argument("--no-window", action="store_true")
    args = parser.parse_args()
    checkouts = subjects(args)
    screen = None
    if not args.no_window:
        from x11 import VirtualDisplay

        screen = VirtualDisplay()
    modes = [("headless", None)] + ([("window", screen.display)] if screen else [])
    results = {(c.label, m): [] for c in checkouts for m, _ in modes}
    try:
        for _ in range(args.runs):
            for mode, display in modes:
                for c in checkouts:
                    results[(c.label, mode)].append(measure(c, display, args.settle))
    finally:
        if screen:
            screen.stop()
        for c in checkouts:
            c.remove()
    labels = [c.label for c in checkouts]
    print(f"## Memory, MB (median of {args.runs} interleaved runs; USS summed, RSS summed)")
    print("| what | " + " | ".join(f"{lb} USS | {lb} RSS" for lb in labels) + " | target USS |")
    print("|---|" + "---:|" * (2 * len(labels) + 1))
    for mode, _ in modes:
        cells = []
        for lb in labels:
            runs = results[(lb, mode)]
            uss = median([sum(r[1] for r in rows) for rows in runs])
            rss = median([sum(r[2] for r in rows) for rows in runs])
            cells.append(f"{uss:.0f} ({len(runs[0])} proc.) | {rss:.0f}")
        print(f"| {'with the window' if mode == 'window' else 'without a window'} | "
              + " | ".join(cells) + f" | < {TARGETS[mode]} |")
    print("\n### Per process (the last run), USS / RSS MB")
    for (lb, mode), runs in results.items():
        print(f"- {lb}, {mode}: " + "; ".join(f"{name} {uss:.0f}/{rss:.0f}"
                                               for name, uss, rss in sorted(runs[-1])))


if __name__ == "__main__":
    main()
