"""The Windows executable's size and start-up times (later starts), run by Windows Python:

    python bench\\windows_exe.py [--exe dist\\larder.exe] [--runs 5]
    build/wine.sh python bench/windows_exe.py      # on Linux, under Wine

PyInstaller's one-file mode unpacks the program into TEMP\\_MEIxxxxxx at every start, so
every start is a "first" start for the file system; "later starts" here means the file
is in the OS's page cache (one untimed `--version` first). Each run, in a fresh data dir:
  (a) `larder --version`: the bootloader unpacking + Python start-up + the CLI's imports;
  (b) `larder serve` until GET /health answers (the bundled worker starts too), then
      stopped through its stop pipe (how Larder stops its own children on Windows).
The runs are interleaved (a, b, a, b, ...); the table shows each run and the median.
Under Wine the figures are Wine's (it says so): real Windows will differ.
"""
import argparse
import ctypes
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "build"))
import smoke_test as smoke  # noqa: E402


def wine_version():
    """Wine's version when running under Wine (ntdll exports wine_get_version), else None."""
    try:
        get = ctypes.WinDLL("ntdll").wine_get_version
    except (AttributeError, OSError):
        return None
    get.restype = ctypes.c_char_p
    return get().decode()


def time_version(exe):
    started = time.monotonic()
    smoke.run(exe, "--version", timeout=120)
    return time.monotonic() - started


def time_serve(exe, tmp):
    served = smoke.Served(exe, Path(tempfile.mkdtemp(prefix="serve-", dir=tmp)))
    try:
        return served.wait_ready(timeout=120)
    finally:
        if served.stop() is None:
            print("# warning: serve did not stop in time", file=sys.stderr)
        served.kill_leftovers()


def unpacked_mb(before):
    """Size of the newest _MEI folder that appeared (the unpacked program), in MB."""
    new = sorted(smoke.mei_folders() - before, key=lambda p: p.stat().st_mtime)
    if not new:
        return None
    return sum(f.stat().st_size for f in new[-1].rglob("*") if f.is_file()) / 1e6


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exe", type=Path, default=ROOT / "dist" / "larder.exe")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    if sys.platform != "win32":
        sys.exit("run it with Windows Python (on Linux: build/wine.sh python bench/windows_exe.py)")
    exe = args.exe.resolve()
    if not exe.is_file():
        sys.exit(f"{exe} is missing: build it first (build/wine.sh build, or build/build.py)")
    wine = wine_version()
    where = f"under Wine {wine} on Linux" if wine else "on Windows"
    print(f"## {exe.name}: {exe.stat().st_size / 1e6:.1f} MB, measured {where}, "
          f"{os.cpu_count()} cores")
    tmp = Path(tempfile.mkdtemp(prefix="larder-bench-win-"))
    results = {"version": [], "serve": []}
    time_version(exe)  # untimed: the file in the page cache
    # What one start unpacks: a serve holds its folder while it runs.
    before = smoke.mei_folders()
    served = smoke.Served(exe, tmp / "size")
    try:
        served.wait_ready(timeout=120)
        size = unpacked_mb(before)
    finally:
        served.stop()
        served.kill_leftovers()
    for _ in range(args.runs):
        results["version"].append(time_version(exe))
        results["serve"].append(time_serve(exe, tmp))
    print(f"- unpacked at every start into TEMP\\_MEI*: "
          f"{'?' if size is None else f'{size:.0f}'} MB")
    print(f"\n## Start-up, seconds (later starts; median of {args.runs}, interleaved)")
    print("| what | " + " | ".join(f"run {i + 1}" for i in range(args.runs)) + " | median |")
    print("|---|" + "---:|" * (args.runs + 1))
    for label, key in (("(a) `--version`", "version"), ("(b) `serve` until /health", "serve")):
        values = results[key]
        print(f"| {label} | " + " | ".join(f"{v:.2f}" for v in values) +
              f" | {statistics.median(values):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
