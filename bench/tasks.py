"""Background tasks (issue 3): round trip p50/p95 on the local broker and on Redis, the
idle worker's CPU, and how long the worker takes to stop. Side by side in one run.

Round trip: `ping.delay()` -> result available, polled every 5 ms, one at a time.
Idle CPU: CPU seconds used by the whole worker (supervisor, nodes, beat) over a quiet
window, as a percentage of one core.
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

from _common import ROOT, percentile

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


def round_trips(app, count):
    from webapp.background.tasks import ping

    times = []
    with app.app_context():
        ping.delay().get(timeout=60)  # warm up
        for _ in range(count):
            started = time.perf_counter()
            assert ping.delay().get(timeout=30, interval=0.005) == "pong"
            times.append((time.perf_counter() - started) * 1000)
    return times


def measure(name, env, count, idle_seconds):
    from webapp import create_app

    data_dir = Path(tempfile.mkdtemp(prefix=f"larder-bench-{name}-"))
    os.environ.update(env)
    try:
        app = create_app({"LARDER_TOKEN": "bench"}, data_dir=data_dir)
        worker = WorkerProcess(data_dir, beat=True, env=env).wait_ready()
        times = round_trips(app, count)
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
                "idle": idle, "stop": stop, "procs": len(pids)}
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
    args = parser.parse_args()
    rows = [measure("local", {}, args.count, args.idle_seconds)]
    redis_proc, url = start_redis()
    if redis_proc:
        try:
            rows.append(measure("redis", {"CELERY_BROKER_URL": f"{url}/1",
                                          "CELERY_RESULT_BACKEND": f"{url}/2"},
                                args.count, args.idle_seconds))
        finally:
            redis_proc.terminate()
    else:
        print("# redis-server not installed: Redis row skipped")
    print(f"{args.count} sequential ping round trips; idle over {args.idle_seconds:g} s; "
          f"{os.cpu_count()} cores")
    print(f"{'broker':8} {'p50 ms':>8} {'p95 ms':>8} {'idle CPU %':>11} {'stop s':>7} {'processes':>10}")
    for r in rows:
        print(f"{r['name']:8} {r['p50']:8.1f} {r['p95']:8.1f} {r['idle']:11.2f} "
              f"{r['stop']:7.2f} {r['procs']:10d}")


if __name__ == "__main__":
    main()
