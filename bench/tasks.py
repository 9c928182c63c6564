"""Background tasks (issues 3 and 13): round trip p50/p95 on the local broker and on
Redis, the idle worker's CPU, its process count and how long it takes to stop. Side by
side in one run.

Round trip: `ping.delay().get()` (Celery's default interval: the local result store
wakes the caller when the result is written), one at a time.
Idle CPU: CPU seconds used by the whole worker (supervisor with beat, nodes) over a
quiet window, as a percentage of one core.
Busy: the same round trips while reports keep the report node(s) busy (demo data,
`--busy-orders`), with the reports' own time: quick jobs must not wait behind them.
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, demo_data_dir, percentile

sys.path.insert(0, str(ROOT / "tests"))
from worker_proc import WorkerProcess, alive, process_tree  # noqa: E402


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime, in ticks
    return total / os.sysconf("SC_CLK_TCK")


def round_trips(app, count, busy=None):
    """count round trips; with busy(), only those made while it is true."""
    from webapp.background.tasks import ping

    times = []
    with app.app_context():
        ping.delay().get(timeout=60)  # warm up
        while len(times) < count and (busy is None or busy()):
            started = time.perf_counter()
            assert ping.delay().get(timeout=30) == "pong"
            if busy is None or busy():
                times.append((time.perf_counter() - started) * 1000)
    return times


def busy_round_trips(app, count, reports):
    """Round trips while `reports` reports (distinct periods) are queued or running."""
    from webapp.background import jobs
    from webapp.extensions import db
    from webapp.models import Job

    with app.app_context():
        ids = [jobs.submit("report", f"bench {i}", {
            "from": f"2020-01-{i + 1:02d}", "to": "2030-12-31", "format": "pdf"})[0].id
            for i in range(reports)]
        started = time.monotonic()

        def running():
            db.session.expire_all()
            return db.session.execute(db.select(db.func.count()).select_from(Job).where(
                Job.id.in_(ids), Job.state.in_(["queued", "running"]))).scalar() > 0

        while db.session.get(Job, ids[0]).state == "queued":
            db.session.expire_all()
            time.sleep(0.01)
    times = round_trips(app, count, busy=lambda: _in_context(app, running))
    with app.app_context():
        while running():
            time.sleep(0.05)
        failed = db.session.execute(db.select(db.func.count()).select_from(Job).where(
            Job.id.in_(ids), Job.state != "success")).scalar()
    assert not failed, f"{failed} bench reports failed"
    return times, time.monotonic() - started


def _in_context(app, check):
    with app.app_context():
        return check()


def measure(name, env, count, idle_seconds, demo, reports):
    from webapp import create_app

    data_dir = Path(tempfile.mkdtemp(prefix=f"larder-bench-{name}-"))
    shutil.copytree(demo, data_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
        "broker", "results", "worker", "cache", "logs", "*.lock"))
    os.environ.update(env)
    try:
        app = create_app({"LARDER_TOKEN": "bench"}, data_dir=data_dir)
        worker = WorkerProcess(data_dir, beat=True, env=env).wait_ready()
        times = round_trips(app, count)
        busy, report_s = busy_round_trips(app, count, reports)
        time.sleep(2)  # let the burst settle
        pids = [worker.proc.pid] + process_tree(worker.proc.pid)
        before, started = cpu_seconds(pids), time.monotonic()
        time.sleep(idle_seconds)
        idle = (cpu_seconds(pids) - before) / (time.monotonic() - started) * 100
        started = time.monotonic()
        worker.proc.send_signal(signal.SIGTERM)
        worker.proc.wait(30)
        while any(alive(p) for p in pids[1:]):
            time.sleep(0.01)
        stop = time.monotonic() - started
        worker.stop()
        return {"name": name, "p50": percentile(times, 50), "p95": percentile(times, 95),
                "idle": idle, "stop": stop, "procs": len(pids),
                "busy50": percentile(busy, 50) if busy else float("nan"),
                "busy95": percentile(busy, 95) if busy else float("nan"),
                "busy_n": len(busy), "report_s": report_s}
    finally:
        for key in env:
            os.environ.pop(key, None)
        shutil.rmtree(data_dir, ignore_errors=True)


def start_redis():
    if not shutil.which("redis-server"):
        return None, None
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    return proc, f"redis://127.0.0.1:{port}"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--idle-seconds", type=float, default=20)
    parser.add_argument("--busy-orders", type=int, default=20000)
    parser.add_argument("--reports", type=int, default=20)
    args = parser.parse_args()
    demo = demo_data_dir(args.busy_orders)
    rows = [measure("local", {}, args.count, args.idle_seconds, demo, args.reports)]
    redis_proc, url = start_redis()
    if redis_proc:
        try:
            rows.append(measure("redis", {"CELERY_BROKER_URL": f"{url}/1",
                                          "CELERY_RESULT_BACKEND": f"{url}/2"},
                                args.count, args.idle_seconds, demo, args.reports))
        finally:
            redis_proc.terminate()
    else:
        print("# redis-server not installed: Redis row skipped")
    print(f"{args.count} sequential ping round trips; idle over {args.idle_seconds:g} s; "
          f"{os.cpu_count()} cores")
    print(f"{'broker':8} {'p50 ms':>8} {'p95 ms':>8} {'idle CPU %':>11} {'stop s':>7} "
          f"{'processes':>10} {'busy p50':>9} {'busy p95':>9} {'(n)':>5} {'reports s':>10}")
    for r in rows:
        print(f"{r['name']:8} {r['p50']:8.1f} {r['p95']:8.1f} {r['idle']:11.2f} "
              f"{r['stop']:7.2f} {r['procs']:10d} {r['busy50']:9.1f} {r['busy95']:9.1f} "
              f"{r['busy_n']:5d} {r['report_s']:10.2f}")
    print(f"busy: round trips while {args.reports} PDF reports of {args.busy_orders} demo "
          "orders run (reports s: from queued to all done)")


if __name__ == "__main__":
    main()
