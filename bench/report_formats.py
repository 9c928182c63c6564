"""A year's sales report in each format with 100,000 orders in that year.

Targets (issue 10, the extended report): PDF under 1 s, JSON under 0.5 s, CSV under 1 s
for build_report over the whole year (queries and file included); the accountant's
"lines" CSV (one row per order line, ~240,000 rows) is measured, without a target. Each
format runs --runs times (default 3); the median counts. The data dir holds `orders` demo
orders over `days` days (default 365) ending on the day recorded when it was built;
--data-dir reuses one across runs.

Demo data without tax, cost, payment methods or refunds (older demo generators) is given
them first, in SQL (shape_figures): rates 5.5/7.7/20 % by product, unit costs for nine
products in ten, three payment methods, a 10 % discount on one order in 20 and a
refund of one line for one order in 100, a day after the sale. The extended report's
figures are printed, so a run shows they are not zeros.

--baseline REV measures the report of an older revision the same way (a temporary git
worktree of REV running its own bench/report_formats.py on its own demo data, made with
the same orders, days and seed) and prints the two side by side: e.g. the commit before
issue 10, `--baseline 71e4f88`.

    python bench/report_formats.py [--orders 100000] [--days 365] [--data-dir DIR]
                                   [--runs 3] [--baseline REV]

Exits 1 when a median misses its target.
"""
import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from _common import ROOT  # noqa: F401 - puts the project on sys.path

TARGETS = {"pdf": 1.0, "csv": 1.0, "json": 0.5, "lines": None}
# The SQL that gives demo data without them tax rates, costs, methods, discounts and
# refunds (bench only: the demo generator of issue 10 makes its own). Integer
# arithmetic: tax = amount x rate / (1 + rate) rounded half-up, per line.
SHAPE = [
    "UPDATE order_lines SET tax_rate_bp = CASE product_id % 3 WHEN 0 THEN 550 "
    "WHEN 1 THEN 770 ELSE 2000 END, unit_cost_cents = CASE WHEN product_id % 10 = 0 "
    "THEN NULL ELSE unit_price_cents * 6 / 10 END",
    "UPDATE orders SET discount_cents = CASE WHEN id % 20 = 0 THEN total_cents / 10 "
    "ELSE 0 END, gross_cents = total_cents, payment_method = CASE id % 3 WHEN 0 THEN "
    "'cash' WHEN 1 THEN 'card' ELSE 'voucher' END",
    # the discount comes off the order's lines in proportion (close enough for timing)
    "UPDATE order_lines SET net_cents = quantity * unit_price_cents - CASE WHEN order_id "
    "% 20 = 0 THEN quantity * unit_price_cents / 10 ELSE 0 END",
    "UPDATE order_lines SET tax_cents = (net_cents * tax_rate_bp * 2 + 10000 + "
    "tax_rate_bp) / (2 * (10000 + tax_rate_bp))",
    "UPDATE order_lines SET net_cents = net_cents - tax_cents",
    "UPDATE orders SET total_cents = (SELECT SUM(net_cents + tax_cents) FROM order_lines "
    "WHERE order_id = orders.id), tax_cents = (SELECT SUM(tax_cents) FROM order_lines "
    "WHERE order_id = orders.id)",
    "UPDATE orders SET discount_cents = gross_cents - total_cents",
    "INSERT INTO refunds (id, order_id, created_at, reason, restocked, payment_method, "
    "amount_cents, net_cents, tax_cents) SELECT o.id, o.id, datetime(o.created_at, "
    "'+1 day'), 'bench', 0, '', l.net_cents + l.tax_cents, l.net_cents, l.tax_cents "
    "FROM orders o JOIN order_lines l ON l.id = (SELECT MIN(id) FROM order_lines WHERE "
    "order_id = o.id) WHERE o.id % 100 = 0",
    "INSERT INTO refund_lines (refund_id, order_line_id, quantity, tax_rate_bp, "
    "net_cents, tax_cents, cost_cents) SELECT r.id, l.id, l.quantity, l.tax_rate_bp, "
    "l.net_cents, l.tax_cents, l.quantity * l.unit_cost_cents FROM refunds r JOIN "
    "order_lines l ON l.id = (SELECT MIN(id) FROM order_lines WHERE order_id = r.order_id)",
]


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


def shape_figures(app):
    """Give demo data without refunds the figures of issue 10 (SHAPE), on SQLite, when
    this revision has them (a baseline revision's schema has no refunds table)."""
    from sqlalchemy import inspect, text

    from webapp.extensions import db

    with app.app_context():
        if "refunds" not in inspect(db.engine).get_table_names():
            return
        if db.session.scalar(text("SELECT COUNT(*) FROM refunds")):
            return
        for statement in SHAPE:
            db.session.execute(text(statement))
        db.session.commit()
        with db.engine.connect() as connection:  # rewritten rows: pack the pages again
            connection.execute(text("VACUUM"))
        print("# shaped the demo data: tax rates, costs, methods, discounts, refunds")


def baseline(rev, args):
    """{format: (median, min, max, size text)} of revision `rev`'s own benchmark."""
    folder = Path(tempfile.mkdtemp(prefix="larder-baseline-"))
    tree = folder / "tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev],
                   check=True, capture_output=True)
    try:
        run = subprocess.run(
            [sys.executable, "bench/report_formats.py", "--orders", str(args.orders),
             "--days", str(args.days), "--runs", str(args.runs),
             "--data-dir", str(folder / "data")],
            cwd=tree, capture_output=True, text=True, timeout=3600)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
    found = {}
    for line in run.stdout.splitlines():
        match = re.match(r"(pdf|csv|json)\s+([\d.]+)s\s+([\d.]+)s\s+([\d.]+)s.*?([\d.]+KB)",
                         line)
        if match:
            found[match[1]] = (float(match[2]), float(match[3]), float(match[4]), match[5])
    if not found:
        sys.exit(f"the baseline {rev} printed no figures:\n{run.stdout}\n{run.stderr}")
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data-dir", help="reuse this data dir (demo data kept)")
    parser.add_argument("--baseline", metavar="REV",
                        help="also measure this git revision's report, side by side")
    args = parser.parse_args()
    old = baseline(args.baseline, args) if args.baseline else None

    from webapp import create_app
    from webapp.reports import FORMATS, build_report, report_filename

    data_dir, end = demo_year(args.orders, args.days, args.data_dir)
    start = end - timedelta(days=364)
    app = create_app({"LARDER_TOKEN": "bench"}, data_dir=data_dir)
    shape_figures(app)
    out_dir = Path(tempfile.mkdtemp(prefix="larder-reports-"))
    results = {}
    every = {}
    with app.app_context():
        for fmt in FORMATS:
            out = out_dir / report_filename(start, end, fmt)
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                every[fmt] = build_report(start, end, fmt, out)
                times.append(time.perf_counter() - started)
            results[fmt] = (times, out.stat().st_size)
    totals = every["json"]

    print(f"build_report {start} to {end}: {totals['orders']:,} orders, "
          f"revenue {totals['revenue_cents'] // 100:,}.{totals['revenue_cents'] % 100:02d}; "
          f"{args.runs} runs each")
    print("extended figures: " + ", ".join(
        f"{key[:-6] if key.endswith('_cents') else key} "
        f"{money(value) if key.endswith('_cents') else format(value, ',')}"
        for key, value in totals.items()))
    lines = every["lines"]
    print(f"lines CSV: {lines['lines']:,} sale rows, {lines['refund_lines']:,} refund rows, "
          f"sum of gross {money(lines['revenue_cents'])}")
    print(f"{'format':<7}{'median':>9}{'min':>9}{'max':>9}{'target':>9}{'size':>10}  result"
          + (f"{'before: median':>18}{'size':>10}" if old else ""))
    missed = False
    for fmt in FORMATS:
        times, size = results[fmt]
        median = statistics.median(times)
        ok = TARGETS[fmt] is None or median < TARGETS[fmt]
        missed |= not ok
        target = "-" if TARGETS[fmt] is None else f"< {TARGETS[fmt]:g} s"
        line = (f"{fmt:<7}{median:>8.3f}s{min(times):>8.3f}s{max(times):>8.3f}s"
                f"{target:>9}{size / 1024:>8.1f}KB  {'ok' if ok else 'MISSED':<6}")
        if old:
            before = old.get(fmt)
            line += (f"{before[0]:>17.3f}s{before[3]:>10}" if before else f"{'-':>18}")
        print(line)
    return 1 if missed else 0


def money(cents):
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100:,}.{abs(cents) % 100:02d}"


if __name__ == "__main__":
    sys.exit(main())
