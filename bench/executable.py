"""The executable: build configuration, file size, and start-up timings side by side.

    python bench/executable.py [--exe dist/larder] [--runs 3] [--no-window]
                               [--build-info PATH/build-info.json]

Build it first (`python build/build.py`). The one file unpacks itself once per version
into XDG_CACHE_HOME/larder/app/<build id>/ (build/unpack_once.c); Qt WebEngine keeps its
cache in XDG_CACHE_HOME/larder/QtWebEngine/. Three cases:
  - later starts: a cache folder unpacked before the first timing (every start but one);
  - upgrade: the first start of a new version (that cache folder without app/<build id>/:
    unpacking included, the web engine's cache kept);
  - very first start: an empty cache folder (also the web engine's first run).
Each run, in a fresh data dir:
  (a) `larder --version`: Python start-up + the CLI's imports (first start: + unpacking);
  (b) headless `larder serve` until GET /health answers (the bundled worker starts too);
  (c) the desktop app (no command) on a private Xvfb display until the window has drawn
      the app's first page: the launcher logs `window: page loaded` to
      DATA_DIR/logs/larder.log when pywebview's `loaded` event fires for the app page.
      Also reported: until the `Larder` window is mapped (`xdotool search --name`).
They are interleaved (a, b, c, upgrade a, upgrade c, very first c, a, b, c, ...) so they
see the same machine state;
the table shows every run and the median. After each run the app is stopped with SIGTERM
and its process group is killed; leftover processes are reported.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EXE = ROOT / "dist" / ("larder.exe" if os.name == "nt" else "larder")
BUILD_INFO = ROOT / "build" / "work" / "app" / "build-info.json"
TARGET_PAGE_S = 3.0


sys.path[:0] = [str(ROOT / "build"), str(ROOT / "tests"), str(ROOT)]
import smoke_test as smoke  # noqa: E402
from x11 import VirtualDisplay  # noqa: E402


def build_config(exe, info_file=None):
    """What build/build.py recorded (app.spec writes build-info.json next to its work
    files); only trusted for the file it describes."""
    info = {}
    if info_file is None and exe == DEFAULT_EXE.resolve():
        info_file = BUILD_INFO
    if info_file and Path(info_file).exists():
        info = json.loads(Path(info_file).read_text())
    if "pyinstaller" not in info:
        try:
            import PyInstaller

            info["pyinstaller"] = f"{PyInstaller.__version__} (installed; no build info)"
        except ImportError:
            info["pyinstaller"] = "unknown"
    return info


def cache_env(cache_home):
    return {"XDG_CACHE_HOME": str(cache_home)}


def time_version(exe, cache_home):
    started = time.monotonic()
    smoke.run(exe, "--version", timeout=120, env=cache_env(cache_home))
    return time.monotonic() - started


def time_serve(exe, tmp, cache_home):
    data_dir = Path(tempfile.mkdtemp(prefix="serve-", dir=tmp))
    served = smoke.Served(exe, data_dir, env=cache_env(cache_home))
    try:
        return served.wait_ready(timeout=120)
    finally:
        served.stop(timeout=15)
        served.kill_leftovers()
        left = smoke.wait_no_processes(data_dir, timeout=5)
        if left:
            print(f"# warning: serve left processes {left}", file=sys.stderr)


def window_mapped(display):
    """True when a mapped window titled exactly `Larder` exists (xdotool)."""
    result = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^Larder$"],
                            env={**os.environ, "DISPLAY": display}, capture_output=True)
    return result.returncode == 0 and result.stdout.strip() != b""


def time_window(exe, tmp, display, cache_home, timeout=90):
    """Seconds until the window is mapped and until the app page is loaded."""
    data_dir = Path(tempfile.mkdtemp(prefix="window-", dir=tmp))
    env = smoke.clean_env({"DISPLAY": display, **cache_env(cache_home)})
    env.pop("WAYLAND_DISPLAY", None)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        env["QTWEBENGINE_CHROMIUM_FLAGS"] = "--no-sandbox"  # Chromium's sandbox refuses root
    log = data_dir / "logs" / "larder.log"
    out = open(data_dir / "launcher.out", "wb")
    started = time.monotonic()
    proc = subprocess.Popen([str(exe), "--data-dir", str(data_dir)], env=env, stdout=out,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    mapped = page = None
    xdotool = shutil.which("xdotool")
    try:
        while page is None:
            now = time.monotonic() - started
            if proc.poll() is not None:
                out.flush()
                said = (data_dir / "launcher.out").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the app exited {proc.returncode}; it said:\n{said}")
            if now > timeout:
                out.flush()
                said = (data_dir / "launcher.out").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"no page after {timeout} s; the app said:\n{said}")
            if log.exists() and "window: page loaded" in log.read_text(errors="replace"):
                page = now
            if mapped is None and xdotool and window_mapped(display):
                mapped = time.monotonic() - started
            time.sleep(0.02)
        if mapped is None and xdotool:
            mapped = page if window_mapped(display) else None
        return mapped, page
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        out.close()
        left = smoke.wait_no_processes(data_dir, timeout=5)
        if left:
            print(f"# warning: the app left processes {left}", file=sys.stderr)
        smoke.kill_all(proc.pid, data_dir)  # then anything left in its process group


def fmt(value):
    return "-" if value is None else f"{value:.2f}"


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exe", type=Path, default=DEFAULT_EXE)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--build-info", type=Path,
                        help="build-info.json of --exe (default: build/work/app/ for dist/larder)")
    parser.add_argument("--no-window", action="store_true", help="skip (c)")
    args = parser.parse_args(argv)
    exe = args.exe.resolve()
    if not exe.is_file():
        sys.exit(f"{exe} is missing: run `python build/build.py` first")
    window = not args.no_window and sys.platform.startswith("linux")
    if window and not shutil.which("Xvfb"):
        print("# Xvfb is not installed: skipping (c)")
        window = False

    info = build_config(exe, args.build_info)
    print("## Build configuration")
    print(f"- PyInstaller {info.get('pyinstaller')}, Python {info.get('python', '?')}, "
          f"one file: {info.get('onefile', '?')}, unpacked {info.get('unpacked_mb', '?')} MB, "
          f"{'slimmed' if info.get('slim', True) else 'not slimmed'}")
    print(f"- window: pywebview backend {info.get('webview_backend', '?')}, "
          f"Qt binding {info.get('qt_binding') or 'none'}")
    print(f"- excluded modules: {info.get('excluded_modules', '?')}, files left out: "
          f"{sum(info.get('dropped_files', {}).values()) or '?'} "
          f"({', '.join(f'{v} {k}' for k, v in sorted(info.get('dropped_files', {}).items()))})")
    if info.get("build_seconds"):
        print(f"- build time: {info['build_seconds']:.0f} s")
    print(f"- file: {exe} = {exe.stat().st_size / 1e6:.1f} MB")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    print(f"- machine: {os.cpu_count()} cores, {sys.platform}, load average {load}")
    print()

    tmp = Path(tempfile.mkdtemp(prefix="larder-bench-exe-"))
    xvfb = VirtualDisplay() if window else None
    results = {key: [] for key in ("version", "serve", "mapped", "page", "first_version",
                                   "first_mapped", "first_page", "new_mapped", "new_page")}
    unpack_once = smoke.read_build_id(exe) is not None
    warm = tmp / "cache-warm"

    def upgrade_cache(run):
        """The warm cache folder as an upgrade finds it: no unpacked app yet."""
        cache = tmp / f"cache-upgrade-{run}"
        shutil.copytree(warm, cache, symlinks=True, ignore=shutil.ignore_patterns("app"))
        return cache

    try:
        # Untimed: the file in the page cache (like any second launch), and the warm
        # runs' cache folder unpacked (+ one window, for the web engine's cache).
        time_version(exe, warm)
        if xvfb:
            time_window(exe, tmp, xvfb.display, warm)
        for run in range(args.runs):
            results["version"].append(time_version(exe, warm))
            results["serve"].append(time_serve(exe, tmp, warm))
            if xvfb:
                mapped, page = time_window(exe, tmp, xvfb.display, warm)
                results["mapped"].append(mapped)
                results["page"].append(page)
            if unpack_once:
                cache = upgrade_cache(run)
                results["first_version"].append(time_version(exe, cache))
                shutil.rmtree(cache)
                if xvfb:
                    cache = upgrade_cache(run)
                    mapped, page = time_window(exe, tmp, xvfb.display, cache)
                    results["first_mapped"].append(mapped)
                    results["first_page"].append(page)
                    shutil.rmtree(cache)
                    cache = tmp / f"cache-new-{run}"
                    mapped, page = time_window(exe, tmp, xvfb.display, cache)
                    results["new_mapped"].append(mapped)
                    results["new_page"].append(page)
                    shutil.rmtree(cache)
    finally:
        if xvfb:
            xvfb.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    rows = [("(a) `--version`", "version"), ("(b) `serve` until /health answers", "serve")]
    if window:
        rows += [("(c) window mapped (xdotool finds `Larder`)", "mapped"),
                 ("(c) window: app page loaded (first page drawn)", "page")]
    if unpack_once:
        rows += [("upgrade (first start of a version): (a) `--version` incl. unpacking",
                  "first_version")]
        if window:
            rows += [("upgrade: (c) window mapped", "first_mapped"),
                     ("upgrade: (c) first page drawn", "first_page"),
                     ("very first start (empty cache folder): (c) window mapped", "new_mapped"),
                     ("very first start: (c) first page drawn", "new_page")]
    print(f"## Start-up, seconds (median of {args.runs}, runs interleaved; "
          "one untimed --version first)")
    header = " | ".join(f"run {i + 1}" for i in range(args.runs))
    print(f"| what | {header} | median |")
    print("|---|" + "---:|" * (args.runs + 1))
    for label, key in rows:
        values = results[key]
        print(f"| {label} | {' | '.join(fmt(v) for v in values)} | {fmt(median(values))} |")
    if window:
        page = median(results["page"])
        verdict = "met" if page is not None and page < TARGET_PAGE_S else "NOT met"
        print(f"\nTarget: launch to first page under {TARGET_PAGE_S:.0f} s: {verdict} "
              f"({fmt(page)} s{', later starts' if unpack_once else ''}).")
        if unpack_once:
            print(f"Upgrade (first start of a new version, unpacking once): "
                  f"{fmt(median(results['first_page']))} s; very first start: "
                  f"{fmt(median(results['new_page']))} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
