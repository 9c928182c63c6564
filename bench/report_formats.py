"""A year's sales report in each format with 100,000 orders in that year.

Targets: PDF under 3 s, CSV and JSON under 1 s each, for build_report over the whole year
(queries and file included). Each format runs --runs times (default 3); the median counts.
The data dir holds `orders` demo orders over `days` days (default 365) ending on the
day recorded when it was built; --data-dir reuses one across runs.

    python bench/report_formats.py [--orders 100000] [--days 365] [--data-dir DIR]

Exits 1 when a median misses its target.
"""
import argparse
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from _common import ROOT  # noqa: F401 - puts the project on sys.path

TARGETS = {"pdf": 3.0, "csv": 1.0, "json": 1.0}


def demo_year(orders, days, keep=None):
    """(data dir, last day) holding `orders` demo orders over `days` days ending on the
    day recorded in the marker (reused when keep is a path built before)."""
    from webapp import create_app
    from webapp.demo_data import load_demo

    path = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="larder-bench-report-"))
    path.mkdir(parents=True, exist_ok=True)
    marker = path / f".demo-{orders}-{days}d"
    if marker.exists():
        return path, date.fromisoformat(marker.read_text().strip())
    app = create_app({"LARDER_TOKEN": "bench"}, data_dir=path)
    end = date.today()
    started = time.perf_counter()
    with app.app_context():
        load_demo(orders=orders, days=days, end=end, replace=True)
    print(f"# loaded {orders:,} demo orders over {days} days in "
          f"{time.perf_counter() - started:.1f} s")
    for old in path.glob(".demo-*"):  # another data set's marker is stale now
        old.unlink()
    marker.write_text(end.isoformat())
    return path, end


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data-dir", help="reuse this data dir (demo data kept)")
    args = parser.parse_args()

    from webapp import create_app
    from webapp.reports import FORMATS, build_report, report_filename

    data_dir, end = demo_year(args.orders, args.days, args.data_dir)
    start = end - timedelta(days=364)
    app = create_app({"LARDER_TOKEN": "bench"}, data_dir=data_dir)
    out_dir = Path(tempfile.mkdtemp(prefix="larder-reports-"))
    results = {}
    with app.app_context():
        for fmt in FORMATS:
            out = out_dir / report_filename(start, end, fmt)
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                totals = build_report(start, end, fmt, out)
                times.append(time.perf_counter() - started)
            results[fmt] = (times, out.stat().st_size)

    print(f"build_report {start} to {end}: {totals['orders']:,} orders, "
          f"revenue {totals['revenue_cents'] // 100:,}.{totals['revenue_cents'] % 100:02d}; "
          f"{args.runs} runs each")
    print(f"{'format':<7}{'median':>9}{'min':>9}{'max':>9}{'target':>9}{'size':>10}  result")
    missed = False
    for fmt in FORMATS:
        times, size = results[fmt]
        median = statistics.median(times)
        ok = median < TARGETS[fmt]
        missed |= not ok
        print(f"{fmt:<7}{median:>8.3f}s{min(times):>8.3f}s{max(times):>8.3f}s"
              f"{'< ' + format(TARGETS[fmt], '.0f') + ' s':>9}{size / 1024:>8.1f}KB  "
              f"{'ok' if ok else 'MISSED'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
