"""Reading speed and memory of webapp/imports: a 1,000,000-line file read as rows, then
turned into records by its format (no database: that is the engine's part).

    python bench/import_reading.py [--lines 1000000] [--keep DIR]

Prints lines/s and the process's peak memory for: a Larder orders CSV (UTF-8, ','), the
same saved by French Excel (cp1252, ';', decimal comma, dd/mm/yyyy), and a Shopify orders
export (two rows per order). Each case runs in a child process so that peak memory is its
own."""
import argparse
import csv
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_larder(path, lines, excel):
    rng = random.Random(1)
    with open(path, "w", encoding="cp1252" if excel else "utf-8", newline="") as f:
        out = csv.writer(f, delimiter=";" if excel else ",", lineterminator="\r\n")
        out.writerow(["order_ref", "created_at", "customer_email", "sku", "quantity",
                      "unit_price"])
        for i in range(lines):
            order = i // 2
            day, minute = 1 + order % 28, order % 1440
            when = (f"{day:02d}/03/2025 {minute // 60:02d}:{minute % 60:02d}" if excel else
                    f"2025-03-{day:02d}T{minute // 60:02d}:{minute % 60:02d}:00")
            price = rng.randint(100, 99999)
            out.writerow([f"X-{order}", when, f"c{order % 5000}@example.com",
                          f"SKU-{rng.randint(1, 500)}", rng.randint(1, 5),
                          f"{price // 100},{price % 100:02d} €" if excel else
                          f"{price // 100}.{price % 100:02d}"])


def make_shopify(path, lines):
    header = (ROOT / "tests/data/imports/shopify_orders.csv").open(encoding="utf-8").readline()
    names = header.strip().split(",")
    rng = random.Random(2)
    with open(path, "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(names)
        for i in range(0, lines, 2):
            a, b = rng.randint(100, 5000), rng.randint(100, 5000)
            total = a + b
            tax = round(total * 2000 / 12000)
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


def child(path, locale, records):
    from webapp.imports.formats import Context, detect
    from webapp.imports.reading import open_table

    started, cpu = time.perf_counter(), time.process_time()
    count = problems = 0
    with open_table(path) as table:
        if records:
            context = Context(locale=locale, timezone="Europe/Paris")
            for item in detect(table.header).records(table, context):
                count += 1
                problems += type(item).__name__ == "Problem"
        else:
            for _ in table:
                count += 1
        encoding = table.encoding
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{seconds:.2f} {cpu:.2f} {peak:.0f} {count} {problems} {encoding}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--keep")
    parser.add_argument("--child", nargs=3)
    args = parser.parse_args()
    if args.child:
        return child(args.child[0], args.child[1], args.child[2] == "records")
    folder = Path(args.keep or tempfile.mkdtemp(prefix="larder-bench-"))
    folder.mkdir(exist_ok=True)
    files = {"Larder orders CSV (UTF-8, ',')": (folder / "larder.csv", "en_GB",
                                                lambda p: make_larder(p, args.lines, False)),
             "Excel fr (cp1252, ';', 7,50 €, dd/mm)": (folder / "excel.csv", "fr_FR",
                                                       lambda p: make_larder(p, args.lines, True)),
             "Shopify orders export (2 rows/order)": (folder / "shopify.csv", "fr_FR",
                                                      lambda p: make_shopify(p, args.lines))}
    print(f"{args.lines:,} data lines per file; peak = the child process's max RSS")
    print("lines/s: by the wall clock, and per second of this process's CPU time (what the")
    print("code costs, whatever else the machine is doing)")
    print(f"{'file':40} {'step':8} {'MB':>5} {'lines/s':>9} {'/CPU s':>9} {'peak MB':>8}  "
          "encoding")
    for label, (path, locale, make) in files.items():
        if not path.exists():
            make(path)
        size = os.path.getsize(path) / 1e6
        for step in ("rows", "records"):
            out = subprocess.run([sys.executable, __file__, "--child", str(path), locale, step],
                                 capture_output=True, text=True, check=True).stdout.split()
            seconds, cpu, peak, problems = float(out[0]), float(out[1]), out[2], out[4]
            print(f"{label:40} {step:8} {size:5.0f} {args.lines / seconds:9,.0f} "
                  f"{args.lines / cpu:9,.0f} {peak:>8}  {' '.join(out[5:])}"
                  + (f" ({problems} problems)" if problems != "0" else ""))
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
