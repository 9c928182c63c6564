"""Larder's default cache (DiskCache, on diskcache/SQLite) vs the stock FileSystemCache.

Side by side in one run, on ~1 KB HTML-like values:
  - DiskCache as create_app builds it (key prefix, 256 MiB size limit);
  - Flask-Caching's FileSystemCache with its default threshold (500 entries);
  - FileSystemCache with a threshold above the entry count (Larder's config sets
    CACHE_THRESHOLD = 100,000, so CACHE_TYPE=filesystem runs like this one).

Measured: time to fill N entries; once full, median/p95 µs per set (new key and overwrite),
per get hit and per inc; time to open the backend on its existing folder; and a race of
P processes x K incs on one counter (final value vs expected = lost updates).

Past its threshold every FileSystemCache set reads every file twice (expired pass, then
oldest pass), ~15 ms a set here, so filling 10,000 entries would take minutes: the fill is
stopped after --fill-budget seconds and the rest extrapolated at the measured rate (the
cost per set is flat once over the threshold); such figures are marked with `*`.

    python bench/cache_backends.py            # 10,000 entries, about a minute
    python bench/cache_backends.py --quick    # smaller, a few seconds
"""
import argparse
import multiprocessing as mp
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_caching.backends import FileSystemCache  # noqa: E402

from webapp.cache_backends import DiskCache  # noqa: E402

DAY = 24 * 3600


# ---- the three contenders -----------------------------------------------------------

def make_backend(kind, directory):
    if kind == "disk":
        return DiskCache(directory, default_timeout=3600, key_prefix="larder:",
                         size_limit=256 * 1024 * 1024)
    if kind.startswith("fs"):
        return FileSystemCache(directory, threshold=int(kind[2:]), default_timeout=3600)
    raise ValueError(kind)


def close_backend(backend):
    inner = getattr(backend, "_cache", None)
    if hasattr(inner, "close"):
        inner.close()


def label(kind):
    return "DiskCache" if kind == "disk" else f"FS thr={int(kind[2:]):,}"


# ---- data ---------------------------------------------------------------------------

def make_key(i):
    return f"view/products/v1795000000000000000/products/?page={i}"


def make_value(i):
    """About 1 KB of a product-list page fragment, different for every i."""
    rows = []
    j = 0
    while sum(map(len, rows)) < 1000:
        n = i * 7 + j
        rows.append(f'<tr><td class="sku">SKU-{n:06d}</td><td>Product {n} &amp; co</td>'
                    f'<td class="num">{n % 97}.{n % 100:02d}</td></tr>')
        j += 1
    return "".join(rows)[:1024]


# ---- timing helpers -----------------------------------------------------------------

def pct(samples_ns, q):
    s = sorted(samples_ns)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))] / 1000  # µs


def timed_each(fn, items):
    out = []
    for item in items:
        t0 = time.perf_counter_ns()
        fn(item)
        out.append(time.perf_counter_ns() - t0)
    return out


def fill(backend, entries, budget):
    """Set entries keys; stop after budget seconds and extrapolate the rest.

    Returns (seconds, extrapolated?)."""
    t0 = time.perf_counter()
    chunk_start, chunk_t = 0, t0
    for i in range(entries):
        backend.set(make_key(i), make_value(i))
        if i % 100 == 99:
            now = time.perf_counter()
            if now - t0 > budget and i + 1 < entries:
                # Rate over the last 100 sets: flat once past the threshold.
                rate = (now - chunk_t) / (i + 1 - chunk_start)
                return (now - t0) + rate * (entries - i - 1), True
            chunk_start, chunk_t = i + 1, now
    return time.perf_counter() - t0, False


# ---- the process race ---------------------------------------------------------------

def race_worker(kind, directory, incs, barrier, results):
    backend = make_backend(kind, directory)
    barrier.wait()
    errors = 0
    for _ in range(incs):
        try:
            if backend.inc("counter") is None:
                errors += 1
        except Exception:
            errors += 1
    close_backend(backend)
    results.put(errors)


def race(kind, base, procs, incs):
    directory = os.path.join(base, f"race-{kind}")
    backend = make_backend(kind, directory)  # create the folder/database first
    backend.set("counter", 0, timeout=0)
    close_backend(backend)
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(procs)
    results = ctx.Queue()
    workers = [ctx.Process(target=race_worker, args=(kind, directory, incs, barrier, results))
               for _ in range(procs)]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    errors = sum(results.get(timeout=300) for _ in workers)
    for w in workers:
        w.join(timeout=60)
    wall = time.perf_counter() - t0
    backend = make_backend(kind, directory)
    final = backend.get("counter")
    close_backend(backend)
    return {"final": final or 0, "expected": procs * incs, "errors": errors, "wall": wall}


# ---- one backend --------------------------------------------------------------------

def bench_backend(kind, base, args):
    directory = os.path.join(base, kind)
    backend = make_backend(kind, directory)
    r = {}
    r["fill_s"], r["fill_extrapolated"] = fill(backend, args.entries,
                                               args.fill_budget if kind != "disk" else 1e9)
    rng = random.Random(42)

    present = [i for i in range(args.entries) if backend.has(make_key(i))]
    r["kept"] = len(present)

    # set, once full: new keys (grow the folder/count) and overwrites of present keys.
    new_n = args.set_samples_slow if kind == "fs500" else args.samples
    new_ids = range(args.entries, args.entries + new_n)
    r["set_new"] = timed_each(lambda i: backend.set(make_key(i), make_value(i)), new_ids)
    present = [i for i in range(args.entries) if backend.has(make_key(i))] or present
    over = [rng.choice(present) for _ in range(min(args.samples, new_n * 3))]
    r["set_over"] = timed_each(lambda i: backend.set(make_key(i), make_value(i + 1)), over)

    present = [i for i in range(args.entries + new_n) if backend.has(make_key(i))]
    hits = [rng.choice(present) for _ in range(args.samples * 2)]
    missed = []

    def get(i):
        if backend.get(make_key(i)) is None:
            missed.append(i)

    r["get_hit"] = timed_each(get, hits)
    r["get_missed"] = len(missed)  # evicted between the has() and the get()

    inc_n = args.set_samples_slow * 2 if kind == "fs500" else args.samples
    r["inc"] = timed_each(lambda _: backend.inc("counter"), range(inc_n))
    assert backend.get("counter") == inc_n, "single-process inc must be exact"
    close_backend(backend)

    opens = []
    for _ in range(args.opens):
        t0 = time.perf_counter_ns()
        b = make_backend(kind, directory)
        opens.append(time.perf_counter_ns() - t0)
        close_backend(b)
    r["open_ms"] = statistics.median(opens) / 1e6

    r["race"] = race(kind, base, args.procs, args.incs)
    return r


# ---- report -------------------------------------------------------------------------

def report(results, args, elapsed, base):
    kinds = list(results)
    disk = results["disk"]
    width = 15

    def row(name, cells, ratios=()):
        line = f"{name:<30}" + "".join(f"{c:>{width}}" for c in cells)
        if ratios:
            line += "   " + "  ".join(f"{x:>13}" for x in ratios)
        print(line)

    def ratio(a, b):
        if not b:
            return "-"
        x = a / b
        return f"{x:.1f}x" if x < 100 else f"{x:,.0f}x"

    fs_kinds = [k for k in kinds if k != "disk"]
    print()
    print(f"Cache backends: {args.entries:,} entries of ~{len(make_value(1)):,} B HTML, "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs, folder {base}")
    print()
    row("", [label(k) for k in kinds], [f"{label(k).replace('FS thr=', 'FS')}/Disk"
                                        for k in fs_kinds])
    print("-" * (30 + width * len(kinds) + 3 + 15 * len(fs_kinds)))

    def fill_cell(k):
        r = results[k]
        return f"{r['fill_s']:.2f}" + ("*" if r["fill_extrapolated"] else "")

    row(f"fill {args.entries:,} entries (s)", [fill_cell(k) for k in kinds],
        [ratio(results[k]["fill_s"], disk["fill_s"]) for k in fs_kinds])
    row("entries kept after fill", [f"{results[k]['kept']:,}" for k in kinds])
    for metric, name in [("set_new", "set, new key"), ("set_over", "set, overwrite"),
                         ("get_hit", "get, hit"), ("inc", "inc")]:
        for q, qn in [(0.5, "median"), (0.95, "p95")]:
            row(f"{name} {qn} (µs)", [f"{pct(results[k][metric], q):,.0f}" for k in kinds],
                [ratio(pct(results[k][metric], q), pct(disk[metric], q)) for k in fs_kinds])
    row("open existing folder (ms)", [f"{results[k]['open_ms']:.2f}" for k in kinds],
        [ratio(results[k]["open_ms"], disk["open_ms"]) for k in fs_kinds])
    rc = f"{args.procs} procs x {args.incs:,} inc"
    row(f"{rc}: final", [f"{results[k]['race']['final']:,}" for k in kinds])
    row("  expected", [f"{results[k]['race']['expected']:,}" for k in kinds])
    row("  lost updates", [
        f"{100 * (1 - results[k]['race']['final'] / results[k]['race']['expected']):.1f}%"
        for k in kinds])
    row("  inc errors", [f"{results[k]['race']['errors']}" for k in kinds])
    row("  wall time (s)", [f"{results[k]['race']['wall']:.2f}" for k in kinds])
    print()
    samples = {k: (len(results[k]["set_new"]), len(results[k]["get_hit"]),
                   len(results[k]["inc"])) for k in kinds}
    print("Samples (set new / get / inc): "
          + "; ".join(f"{label(k)} {a}/{b}/{c}" for k, (a, b, c) in samples.items())
          + f"; open: median of {args.opens}.")
    missed = {k: results[k]["get_missed"] for k in kinds if results[k]["get_missed"]}
    if missed:
        print(f"Gets that missed (evicted meanwhile): {missed}")
    if any(results[k]["fill_extrapolated"] for k in kinds):
        print(f"* stopped after {args.fill_budget:g} s and extrapolated at the rate of "
              "the last 100 sets (flat once past the threshold).")
    print("Ratios: FileSystemCache / DiskCache (above 1: DiskCache is faster).")
    print(f"Total time {elapsed:.1f} s.")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=None,
                        help="entries to fill (default 10,000; 2,000 with --quick)")
    parser.add_argument("--quick", action="store_true", help="smaller run, a few seconds")
    parser.add_argument("--dir", default=None,
                        help="where to make the cache folders (default: a temp folder)")
    parser.add_argument("--fill-budget", type=float, default=None,
                        help="seconds before a slow fill is extrapolated (default 20; 3 quick)")
    parser.add_argument("--procs", type=int, default=4, help="processes in the inc race")
    parser.add_argument("--incs", type=int, default=None,
                        help="incs per process in the race (default 1,000; 250 quick)")
    parser.add_argument("--keep", action="store_true", help="keep the cache folders")
    args = parser.parse_args(argv)
    quick = args.quick
    if args.entries is None:
        args.entries = 2000 if quick else 10_000
    if args.fill_budget is None:
        args.fill_budget = 3.0 if quick else 20.0
    if args.incs is None:
        args.incs = 250 if quick else 1000
    args.samples = 300 if quick else 1000
    args.set_samples_slow = 60 if quick else 250  # FS thr=500 set ~15 ms each
    args.opens = 3 if quick else 5

    base = tempfile.mkdtemp(prefix="larder-bench-", dir=args.dir)
    kinds = ["disk", "fs500", f"fs{max(args.entries * 2, 20_000)}"]
    t0 = time.perf_counter()
    results = {}
    try:
        for kind in kinds:
            print(f"... {label(kind)}", file=sys.stderr, flush=True)
            results[kind] = bench_backend(kind, base, args)
        report(results, args, time.perf_counter() - t0, base)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
