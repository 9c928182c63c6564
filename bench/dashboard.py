"""Cached vs uncached dashboard with 100,000 orders (issue 2).

Targets: a cache hit at least 50x faster than a miss; the uncached dashboard under 300 ms.
Both are timed in one run through the app (test client, no network), alternating.
"""
import argparse
import statistics
import time

from _common import demo_data_dir, percentile


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--data-dir", help="reuse this data dir (demo data kept)")
    args = parser.parse_args()

    from webapp import create_app
    from webapp.caching import invalidate_stats

    data_dir = demo_data_dir(args.orders, args.data_dir)
    app = create_app({"LARDER_TOKEN": "bench"}, data_dir=data_dir)
    client = app.test_client()
    headers = {"Authorization": "Bearer bench"}

    def timed_get(expect):
        started = time.perf_counter()
        response = client.get("/", headers=headers)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200 and response.headers["X-Cache"] == expect
        return elapsed * 1000

    misses, hits = [], []
    for _ in range(args.rounds):
        with app.app_context():
            invalidate_stats()  # drops the dashboards, /api/stats and the memoized queries
        misses.append(timed_get("MISS"))
        hits.extend(timed_get("HIT") for _ in range(20))
    miss, hit = statistics.median(misses), statistics.median(hits)
    print(f"dashboard with {args.orders} orders, {args.rounds} misses and {len(hits)} hits, "
          f"backend {app.config['CACHE_TYPE']}")
    print(f"uncached (MISS): median {miss:7.1f} ms   p95 {percentile(misses, 95):7.1f} ms")
    print(f"cached   (HIT):  median {hit:7.2f} ms   p95 {percentile(hits, 95):7.2f} ms")
    print(f"hit is {miss / hit:.0f}x faster than a miss")


if __name__ == "__main__":
    main()
