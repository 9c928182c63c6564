"""Cached vs uncached dashboard (issue 2), and the dashboard and the year report read
from the daily figures vs from the orders (issue 13: a million orders).

Targets: a cache hit at least 50x faster than a miss; the uncached dashboard under
100 ms at 100,000 orders and under 300 ms at 1,000,000; the year's report (JSON, the
last 365 business days) under 1 s at 1,000,000. Both paths are timed in one run
through the app (test client, no network): "orders" is the path before issue 13 (the
daily figures marked as summed with another day start, so every reader falls back to
the orders; put back after), "daily figures" the new one.

    python bench/dashboard.py [--orders 100000] [--rounds 15] [--data-dir DIR] [--no-old]
"""
import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from _common import demo_data_dir, percentile


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--report-runs", type=int, default=3)
    parser.add_argument("--data-dir", help="reuse this data dir (demo data kept)")
    parser.add_argument("--no-old", action="store_true", help="skip the orders' path")
    args = parser.parse_args()

    from webapp import create_app, daily_figures, settings
    from webapp.caching import invalidate_stats
    from webapp.extensions import db
    from webapp.reports import build_report

    data_dir = demo_data_dir(args.orders, args.data_dir)
    started = time.perf_counter()
    app = create_app({"LARDER_TOKEN": "bench"}, data_dir=data_dir)
    print(f"# app started in {time.perf_counter() - started:.1f} s "
          "(an upgrade to 0008 fills the daily figures here)")
    client = app.test_client()
    headers = {"Authorization": "Bearer bench"}

    def timed_get(expect):
        started = time.perf_counter()
        response = client.get("/", headers=headers)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200 and response.headers["X-Cache"] == expect
        return elapsed * 1000

    def set_basis(value):
        with app.app_context():
            db.session.execute(daily_figures.BASIS.update().values(day_starts_at=value))
            db.session.commit()
            invalidate_stats()

    with app.app_context():
        real = daily_figures.basis(db.session.connection())
        today = settings.today_business_day()
        start = time.perf_counter()
        daily_figures.rebuild()
        db.session.rollback()
        rebuild_s = time.perf_counter() - start
    print(f"dashboard with {args.orders:,} orders, backend {app.config['CACHE_TYPE']}; "
          f"`larder figures rebuild` takes {rebuild_s:.1f} s")
    out = Path(tempfile.mkdtemp(prefix="larder-bench-json-")) / "year.json"
    paths = [("daily figures", real)] + ([] if args.no_old else [("orders (old)", "99:99")])
    try:
        for name, basis in paths:
            set_basis(basis)
            misses, hits = [], []
            for _ in range(args.rounds):
                with app.app_context():
                    invalidate_stats()  # the dashboards, /api/stats and memoized queries
                misses.append(timed_get("MISS"))
                hits.extend(timed_get("HIT") for _ in range(20))
            reports = []
            with app.app_context():
                for _ in range(args.report_runs):
                    started = time.perf_counter()
                    totals = build_report(today - timedelta(days=364), today, "json", out)
                    reports.append(time.perf_counter() - started)
            miss, hit = statistics.median(misses), statistics.median(hits)
            print(f"[{name}] uncached (MISS): median {miss:7.1f} ms   "
                  f"p95 {percentile(misses, 95):7.1f} ms")
            print(f"[{name}] cached   (HIT):  median {hit:7.2f} ms   "
                  f"p95 {percentile(hits, 95):7.2f} ms   ({miss / hit:.0f}x faster)")
            print(f"[{name}] year report JSON ({totals['orders']:,} orders): median "
                  f"{statistics.median(reports):.2f} s   runs "
                  + ", ".join(f"{r:.2f}" for r in reports))
    finally:
        set_basis(real)


if __name__ == "__main__":
    main()
