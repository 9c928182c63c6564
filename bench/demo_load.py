"""Time to load demo data (`larder demo`, and the data sets the other bench scripts build).

Each run loads `orders` demo orders over `days` days ending today into a new SQLite data
dir; prints wall and CPU seconds per run and their medians (CPU time is steadier on a
busy machine).

    python bench/demo_load.py [--orders 100000] [--days 730] [--runs 3]
"""
import argparse
import statistics
import tempfile
import time
from pathlib import Path

from _common import ROOT  # noqa: F401 - puts the project on sys.path


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from webapp import create_app
    from webapp.demo_data import load_demo

    walls, cpus = [], []
    for run in range(1, args.runs + 1):
        path = Path(tempfile.mkdtemp(prefix="larder-bench-demo-"))
        app = create_app({"LARDER_TOKEN": "bench"}, data_dir=path)
        with app.app_context():
            wall, cpu = time.perf_counter(), time.process_time()
            counts = load_demo(orders=args.orders, days=args.days)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        print(f"run {run}: {walls[-1]:.2f} s wall, {cpus[-1]:.2f} s CPU  "
              + ", ".join(f"{v:,} {k}" for k, v in counts.items()))
    print(f"median of {args.runs}: {statistics.median(walls):.2f} s wall, "
          f"{statistics.median(cpus):.2f} s CPU for {args.orders:,} orders over "
          f"{args.days} days")


if __name__ == "__main__":
    main()
