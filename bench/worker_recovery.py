"""The worker's time from death to serving jobs again (issue 8; target: under 5 s).

`python -m desktop serve` runs with its kept worker on the local broker. Each round
SIGKILLs either the whole worker (supervisor, nodes, beat: serve starts it again) or its
quick node (the supervisor starts it again), then sends a `ping` task every 0.25 s until one is answered:
the figure is kill -> first answer. Also: kill -> /health says "ok" again.
"""
import argparse
import os
import signal
import statistics
import sys
import time

import requests

from _common import ROOT, start_server

sys.path.insert(0, str(ROOT / "tests"))
from worker_proc import cmdline, process_tree  # noqa: E402

from webapp.background.supervisor import STABLE_S  # noqa: E402


def supervisor(serve_pid):
    pids = [p for p in process_tree(serve_pid) if " worker --beat" in cmdline(p)]
    return pids[0] if pids else None


def quick_node(serve_pid):
    pids = [p for p in process_tree(serve_pid)
            if " worker-node " in cmdline(p) and "--name quick" in cmdline(p)]
    return pids[0] if pids else None


def worker_ok(base):
    try:
        return requests.get(base + "/health", timeout=2).json().get("worker") == "ok"
    except requests.RequestException:
        return False


def wait(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    raise RuntimeError("timed out")


def first_answer(app):
    from celery.exceptions import TimeoutError as CeleryTimeout

    from webapp.background.tasks import ping

    with app.app_context():
        while True:
            try:
                if ping.delay().get(timeout=0.25, interval=0.01) == "pong":
                    return
            except CeleryTimeout:
                pass


def one_round(app, base, serve_pid, target):
    wait(lambda: worker_ok(base))
    # A worker that lived past STABLE_S had a normal life: it is started again at once
    # (a shorter life counts as a failed start and gets backoff).
    time.sleep(STABLE_S + 1)
    find = supervisor if target == "supervisor" else quick_node
    victim = find(serve_pid)
    # The whole worker (supervisor, nodes, beat), or one node.
    victims = [victim] + (process_tree(victim) if target == "supervisor" else [])
    killed = time.monotonic()
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    first_answer(app)
    answered = time.monotonic() - killed
    wait(lambda: worker_ok(base))
    return answered, time.monotonic() - killed


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    import tempfile

    from webapp import create_app

    data_dir = tempfile.mkdtemp(prefix="larder-bench-recovery-")
    app = create_app({"LARDER_TOKEN": "bench"}, data_dir=data_dir)
    proc, info = start_server(data_dir)
    try:
        rows = []
        for target in ("supervisor", "quick node"):
            answered, healthy = zip(*[one_round(app, info["url"], proc.pid, target)
                                      for _ in range(args.rounds)])
            rows.append((target, answered, healthy))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    print(f"kill -9, then a ping task every 0.25 s until answered; {args.rounds} rounds; "
          f"{os.cpu_count()} cores")
    print(f"{'killed':12} {'answered median s':>18} {'max s':>7} {'/health ok median s':>20}")
    for target, answered, healthy in rows:
        print(f"{target:12} {statistics.median(answered):18.2f} {max(answered):7.2f} "
              f"{statistics.median(healthy):20.2f}")


if __name__ == "__main__":
    main()
