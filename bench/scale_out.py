"""Scale-out (issue 13): the shop on one PostgreSQL and one Redis with several `serve`
processes and workers (tests/scale_out_site.py), as docs/scaling.md describes.

Prints:
1. per order, in one thread of this process: SQL statements, commits, Redis commands and
   milliseconds of one POST /api/orders (the web side), then of one order processed
   (the task body a worker runs: where the worker's time goes);
2. orders/s accepted with 1, 2 and 4 web processes (two workers running), with the
   order-to-processed latency (p50/p95/max, whole seconds: the database's clock);
3. the drain rate: orders queued with no worker, then one or two workers started.

    .venv/bin/python bench/scale_out.py [--seconds 20] [--clients 4] [--orders 400]

The machine's cores are shared by every process (web, workers, PostgreSQL, Redis, this
client): on a 2-core machine the absolute figures say little, the ratios more.
"""
import argparse
import os
import platform
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import conftest  # noqa: E402,F401  (pins the locale as the tests do)
from cache_servers import run_postgres, run_redis  # noqa: E402
from scale_out_site import Site  # noqa: E402


def per_order_cost(site, n=100):
    """Process n orders in this process (the task body a worker runs), counting."""
    import redis
    from flask import g
    from sqlalchemy import event

    from webapp import create_app, ordering
    from webapp.background import jobs
    from webapp.extensions import db

    app = create_app({**site.env, "CELERY_OVERRIDES": {"task_always_eager": True}},
                     data_dir=site.root / "bench-eager")
    rng = random.Random(7)
    with app.test_request_context():
        g.user_id = None
        ids = [ordering.create_order(site.random_order(rng)).id for _ in range(n)]
        counts = {"sql": 0, "commits": 0}
        event.listen(db.engine, "before_cursor_execute",
                     lambda *a, **k: counts.__setitem__("sql", counts["sql"] + 1))
        event.listen(db.engine, "commit",
                     lambda *a: counts.__setitem__("commits", counts["commits"] + 1))
        r = redis.Redis.from_url(site.env["CACHE_REDIS_URL"])
        before = r.info("stats")["total_commands_processed"]
        started = time.perf_counter()
        for order_id in ids:
            jobs.submit("order", f"Process {order_id}", {"order_id": order_id},
                        dedup_key=f"order:{order_id}")
        seconds = time.perf_counter() - started
        redis_cmds = r.info("stats")["total_commands_processed"] - before - 1
        db.session.remove()
        db.engine.dispose()
    print(f"per order (one thread, {n} orders): {counts['sql'] / n:.1f} SQL statements, "
          f"{counts['commits'] / n:.1f} commits, {redis_cmds / n:.1f} Redis commands, "
          f"{seconds / n * 1000:.0f} ms")


def web_order_cost(site, n=100):
    """POST /api/orders n times through the app in this process (the web side: Redis is
    the broker, no worker runs), counting SQL statements, commits and Redis commands
    (cache invalidation, the job's message) per order."""
    import redis
    from sqlalchemy import event

    from webapp.extensions import db

    app = site.app()
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {site.token}"
    rng = random.Random(11)
    for _ in range(5):  # warm: the settings, the version keys, the connections
        assert client.post("/api/orders", json=site.random_order(rng)).status_code == 201
    with app.app_context():
        engine = db.engine
    counts = {"sql": 0, "commits": 0}
    count_sql = lambda *a, **k: counts.__setitem__("sql", counts["sql"] + 1)  # noqa: E731
    count_commit = lambda *a: counts.__setitem__("commits", counts["commits"] + 1)  # noqa: E731
    event.listen(engine, "before_cursor_execute", count_sql)
    event.listen(engine, "commit", count_commit)
    r = redis.Redis.from_url(site.env["CACHE_REDIS_URL"])
    before = r.info("stats")["total_commands_processed"]
    started = time.perf_counter()
    for _ in range(n):
        assert client.post("/api/orders", json=site.random_order(rng)).status_code == 201
    seconds = time.perf_counter() - started
    redis_cmds = r.info("stats")["total_commands_processed"] - before - 1
    event.remove(engine, "before_cursor_execute", count_sql)
    event.remove(engine, "commit", count_commit)
    print(f"per POST /api/orders (web side, one thread, {n} orders): "
          f"{counts['sql'] / n:.1f} SQL statements, {counts['commits'] / n:.1f} commits, "
          f"{redis_cmds / n:.1f} Redis commands, {seconds / n * 1000:.0f} ms")


def accept_rate(pg, rd, tmp, webs, seconds, clients, workers=2):
    site = Site(Path(tmp) / f"site-{webs}", pg, rd).setup()
    try:
        site.start(web=webs, workers=workers)
        site.post_orders(per_web=4 * clients, clients=clients)  # warm up
        result = site.post_orders(per_web=None, clients=clients, until=seconds)
        rate = len(result["ids"]) / result["seconds"]
        drained_at = time.monotonic()
        states = site.wait_processed(result["ids"], timeout=600)
        drain_tail = time.monotonic() - drained_at
        lat = site.latencies(result["ids"])
        bad = {k: v for k, v in result["answers"].items() if k != 201}
        print(f"{webs} web process(es), {workers} workers, {clients} clients each: "
              f"{rate:.1f} orders/s accepted ({len(result['ids'])} in "
              f"{result['seconds']:.0f} s; other answers {bad or 'none'}); all processed "
              f"{drain_tail:.1f} s after the last; latency p50 {statistics.median(lat):.0f} s, "
              f"p95 {lat[int(len(lat) * 0.95)]:.0f} s, max {lat[-1]:.0f} s; states {states}")
    finally:
        site.stop()
    return rate


def drain_rate(pg, rd, tmp, orders, workers):
    """Orders queued while no worker runs, then `workers` workers started: orders/s from
    the first job's start to the last one's end (the database's clock, to the second)."""
    import sqlalchemy

    site = Site(Path(tmp) / f"drain-{workers}", pg, rd).setup()
    try:
        site.start(web=2, workers=0)
        result = site.post_orders(per_web=orders // 2, clients=4)
        for i in range(workers):
            site.start_worker(i)
        states = site.wait_processed(result["ids"], timeout=900)
        with sqlalchemy.create_engine(site.db_url).connect() as conn:
            seconds = conn.execute(sqlalchemy.text(
                "SELECT EXTRACT(EPOCH FROM max(finished_at) - min(started_at)) FROM jobs "
                "WHERE kind = 'order'")).scalar()
        n = len(result["ids"])
        print(f"drain: {n} queued orders, {workers} worker(s): {n / float(seconds):.1f} "
              f"orders/s ({float(seconds):.0f} s); states {states}")
    finally:
        site.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=4, help="per web process")
    parser.add_argument("--orders", type=int, default=400, help="for the drain rate")
    parser.add_argument("--webs", default="1,2,4")
    parser.add_argument("--skip", default="", help="cost,accept,drain to skip")
    args = parser.parse_args()
    # Stopped (timeout, kill): the `finally` blocks still stop the site's processes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    print(f"# {platform.platform()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    tmp = tempfile.mkdtemp(prefix="larder-scale-")
    with run_postgres("max_connections=300") as pg, run_redis(tmp) as rd:
        if "cost" not in args.skip:
            site = Site(Path(tmp) / "cost", pg, rd).setup()
            web_order_cost(site)
            per_order_cost(site)
            site.stop()
        if "accept" not in args.skip:
            for webs in map(int, args.webs.split(",")):
                accept_rate(pg, rd, tmp, webs, args.seconds, args.clients)
        if "drain" not in args.skip:
            for workers in (1, 2):
                drain_rate(pg, rd, tmp, args.orders, workers)
    print(f"# load at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
