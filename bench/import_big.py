"""A big import, into a real database: today's CSV import (webapp/csv_import.py, the whole
file in memory) and the import engine (webapp/imports/engine.py, streamed), side by side
on the same Larder orders CSV, each in its own child process on its own copy of the same
database (500 products, 5,000 customers), so peak memory is that import's own.

    python bench/import_big.py [--lines 1000000] [--old-timeout 300] [--shopify] [--keep DIR]
                               [--before REV] [--repeat N] [--no-old]

Prints, per case: lines, seconds, lines/s (wall and per CPU second), peak RSS in MB and
what was written. A big file is read by a child process (webapp/imports/pipeline.py):
"CPU" is then the importing process's own CPU time, "reader" its child's peak memory.
--before REV also runs the engine of git revision REV (exported to a temporary folder)
on the same file, alternating with today's --repeat times, for a side-by-side ratio on a
machine whose load moves. The old import gets --old-timeout seconds; if it does not finish, it is
measured again on a tenth of the file. The engine's targets (issue 11): 1,000,000 lines
under 300 MB and at 50,000 lines/s or more."""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))



def make_larder(path, lines, excel):
    """A Larder orders file as Larder exports it: orders in time order (500,000 orders
    over a year, two lines each), 5,000 customers, 500 products; `excel`: as French
    Excel saves it (cp1252, `;`, `31/12/2025 09:15`, `18,50 €`)."""
    import csv
    import random
    from datetime import datetime, timedelta

    rng = random.Random(1)
    start, step = datetime(2025, 1, 1, 8), timedelta(seconds=365 * 86400 / max(lines // 2, 1))
    with open(path, "w", encoding="cp1252" if excel else "utf-8", newline="") as f:
        out = csv.writer(f, delimiter=";" if excel else ",", lineterminator="\r\n")
        out.writerow(["order_ref", "created_at", "customer_email", "sku", "quantity",
                      "unit_price"])
        for i in range(lines):
            order = i // 2
            when = start + step * order
            price = rng.randint(100, 99999)
            out.writerow([f"X-{order:07d}",
                          when.strftime("%d/%m/%Y %H:%M" if excel else "%Y-%m-%dT%H:%M:%S"),
                          f"c{order * 7919 % 5000}@example.com",
                          f"SKU-{rng.randint(1, 500)}", rng.randint(1, 5),
                          f"{price // 100},{price % 100:02d} €" if excel else
                          f"{price // 100}.{price % 100:02d}"])


def make_shopify(path, lines):
    """A Shopify orders export, two rows per order (bench/import_reading.py's, with
    the tax rounded half up as Shopify and Larder do: its round() rounds half to even,
    and the engine refuses an order whose tax is a cent off)."""
    import csv
    import random

    from webapp.tax import tax_included

    header = (ROOT / "tests/data/imports/shopify_orders.csv").open(encoding="utf-8").readline()
    names = header.strip().split(",")
    rng = random.Random(2)
    with open(path, "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(names)
        for i in range(0, lines, 2):
            a, b = rng.randint(100, 5000), rng.randint(100, 5000)
            total = a + b
            tax = tax_included(total, 2000)  # as Shopify rounds: half up
            first = dict.fromkeys(names, "")
            first.update({"Name": f"#{i}", "Email": f"c{i % 5000}@example.com",
                          "Financial Status": "paid", "Currency": "EUR",
                          "Subtotal": f"{total / 100:.2f}", "Shipping": "0.00",
                          "Taxes": f"{tax / 100:.2f}", "Total": f"{total / 100:.2f}",
                          "Discount Amount": "0.00",
                          "Created at": f"2025-03-{1 + i % 28:02d} 10:15:00 +0100",
                          "Lineitem quantity": "1", "Lineitem name": "Mug",
                          "Lineitem price": f"{a / 100:.2f}", "Lineitem sku": "MUG-01",
                          "Lineitem taxable": "true", "Payment Method": "Shopify Payments",
                          "Refunded Amount": "0.00", "Id": str(9000000 + i),
                          "Tax 1 Name": "TVA 20%", "Tax 1 Value": f"{tax / 100:.2f}"})
            second = dict.fromkeys(names, "")
            second.update({"Name": f"#{i}", "Email": first["Email"], "Lineitem quantity": "1",
                           "Lineitem name": "Card", "Lineitem price": f"{b / 100:.2f}",
                           "Lineitem sku": "", "Lineitem taxable": "true"})
            out.writerow(first.values())
            out.writerow(second.values())


def app_for(data_dir):
    from webapp import create_app

    return create_app({"TESTING": True, "LARDER_TOKEN": "bench"}, data_dir=data_dir)


def prepare(data_dir, tmp):
    """A database with the products and customers the orders file names."""
    from webapp.imports.engine import import_file

    products, customers = tmp / "products.csv", tmp / "customers.csv"
    products.write_text("sku,name,category,price,stock\n" + "".join(
        f"SKU-{i},Product {i},Cat {i % 12},{i % 90 + 1}.50,1000\n" for i in range(1, 501)))
    customers.write_text("email,name,country\n" + "".join(
        f"c{i}@example.com,Customer {i},Country {i % 30}\n" for i in range(5000)))
    from webapp.extensions import db

    with app_for(data_dir).app_context():
        import_file(products)
        import_file(customers)
        db.session.execute(db.text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.session.remove()
        db.engine.dispose()


def child(mode, data_dir, path):
    app = app_for(Path(data_dir))  # starting the app is not the import's time
    from webapp.extensions import db

    with app.app_context():  # connected (and the migrations checked) before the clock
        db.session.execute(db.text("SELECT 1"))
        db.session.remove()
    started, cpu = time.perf_counter(), time.process_time()
    with app.app_context():
        if mode == "old":
            from webapp import csv_import

            result = csv_import.import_csv("orders", Path(path).read_bytes())
            written = {"orders new": result.created, "rows": result.rows}
        else:
            from webapp.imports.engine import import_file

            plan = import_file(path)
            written = {"orders new": plan.counts["orders"]["new"], "lines": plan.lines_found,
                       "problems": plan.problem_count}
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # the reader, when there is one
    print(json.dumps({"wall": wall, "cpu": cpu, "peak_mb": peak,
                      "reader_mb": kids.ru_maxrss / 1024,
                      "reader_cpu": kids.ru_utime + kids.ru_stime, "written": written}))


def run_case(mode, base, path, timeout, script=__file__):
    data_dir = Path(tempfile.mkdtemp(prefix=f"larder-{mode}-"))
    for name in os.listdir(base):  # the database, and its WAL if any
        if name.startswith("larder.db"):
            shutil.copy(base / name, data_dir / name)
    try:
        out = subprocess.run([sys.executable, str(script), "--child", mode, str(data_dir),
                              str(path)], capture_output=True, text=True, timeout=timeout,
                             cwd=Path(script).parent.parent)
    except subprocess.TimeoutExpired:
        return None
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def show(label, lines, result, mb):
    if result is None:
        print(f"{label:<44} {lines:>9,} lines: did not finish in time")
        return
    reader = result.get("reader_mb", 0)
    reader = (f" + reader {reader:4.0f} MB, {lines / result['reader_cpu']:,.0f}/CPU s"
              if reader > 1 else "")
    print(f"{label:<44} {lines:>9,} {mb:6.0f} MB {result['wall']:7.1f} s "
          f"{lines / result['wall']:>9,.0f}/s {lines / result['cpu']:>9,.0f}/CPU s "
          f"{result['peak_mb']:6.0f} MB peak{reader}  {result['written']}", flush=True)


def export_revision(rev, folder):
    """The tree of git revision `rev` in `folder` (its bench/import_big.py is the child)."""
    folder.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder / "bench" / "import_big.py"


def compare(rev, base, path, mb, lines, repeat, tmp):
    old_script = export_revision(rev, tmp / "before")
    for _ in range(repeat):
        print(f"load average {os.getloadavg()[0]:.1f}", flush=True)
        show(f"before ({rev}): engine, orders", lines,
             run_case("new", base, path, 3600, old_script), mb)
        show("now: engine, orders", lines, run_case("new", base, path, 3600), mb)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--old-timeout", type=int, default=300)
    parser.add_argument("--shopify", action="store_true", help="also a Shopify export")
    parser.add_argument("--only-shopify", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--keep", help="keep the files in this folder")
    parser.add_argument("--before", help="git revision to compare the engine with")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-old", action="store_true", help="skip today's csv_import")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="larder-import-big-"))
    tmp.mkdir(parents=True, exist_ok=True)
    base = tmp / "base"
    base.mkdir(exist_ok=True)
    prepare(base, tmp)
    big = tmp / "orders.csv"
    make_larder(big, args.lines, excel=False)
    mb = big.stat().st_size / 1e6
    print(f"load average {os.getloadavg()[0]:.1f}; {os.cpu_count()} CPUs")
    print(f"{'case':<44} {'lines':>9} {'file':>9} {'time':>9} {'wall':>10} {'CPU':>15} "
          f"{'memory':>11}")
    if args.before:
        compare(args.before, base, big, mb, args.lines, args.repeat, tmp)
    # webapp/csv_import.py is gone (issue 11): its figures stay in docs/benchmarks.md.
    gone = not (ROOT / "webapp" / "csv_import.py").exists()
    if not (args.only_shopify or args.no_old or args.before or gone):
        old = run_case("old", base, big, args.old_timeout)
        show("today: csv_import (orders, whole file)", args.lines, old, mb)
        if old is None:
            small = tmp / "orders_tenth.csv"
            make_larder(small, args.lines // 10, excel=False)
            show("today: csv_import, a tenth of the file", args.lines // 10,
                 run_case("old", base, small, args.old_timeout), small.stat().st_size / 1e6)
    if not (args.only_shopify or args.before):
        show("engine: import_file (orders, streamed)", args.lines,
             run_case("new", base, big, 3600), mb)
        excel = tmp / "orders_excel.csv"
        make_larder(excel, args.lines, excel=True)
        show("engine: the same saved by French Excel", args.lines,
             run_case("new", base, excel, 3600), excel.stat().st_size / 1e6)
    if args.shopify or args.only_shopify:
        shop = tmp / "shopify.csv"
        make_shopify(shop, args.lines)
        show("engine: Shopify orders export", args.lines, run_case("new", base, shop, 3600),
             shop.stat().st_size / 1e6)
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
