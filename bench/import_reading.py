"""Reading speed and memory of webapp/imports: a 1,000,000-line file read as rows, then
turned into records by its format (no database: that is the engine's part).

    python bench/import_reading.py [--lines 1000000] [--keep DIR]

Prints lines/s and the process's peak memory for: a Larder orders CSV (UTF-8, ','), the
same saved by French Excel (cp1252, ';', decimal comma, dd/mm/yyyy), and a Shopify orders
export (two rows per order). Each case runs in a child process so that peak memory is its
own."""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


# The same files as bench/import_big.py (one generator for both benches).
from import_big import make_larder, make_shopify  # noqa: E402


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
