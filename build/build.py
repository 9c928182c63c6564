"""Build the executable: ONE file, dist/larder (larder.exe on Windows), then smoke-test it.

On Linux PyInstaller makes a folder build (build/work/dist/larder/), which
build/pack.py packs into dist/larder: a small launcher that unpacks it once per version
(build/unpack_once.c; needs a C compiler). Elsewhere PyInstaller's one-file mode.

    .venv/bin/python build/build.py            # = make exe
    .venv/bin/python build/build.py --clean    # also empty PyInstaller's caches first
    .venv/bin/python build/build.py --no-smoke # build only

Run it with the project's virtualenv (requirements-dev.txt: PyInstaller, pywebview[qt]).
PyInstaller reads app.spec and keeps its work files under build/work/ (git-ignored, like
dist/). See docs/building.md.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "app.spec"
LINUX = sys.platform.startswith("linux")
# Other platforms work in their own folder: a Windows build under Wine (build/wine.sh)
# shares this checkout with the Linux one.
WORK = ROOT / "build" / "work" / ("" if LINUX else sys.platform)
DIST = ROOT / "dist"
EXE = DIST / ("larder.exe" if os.name == "nt" else "larder")
ONEDIR = WORK / "dist"  # PyInstaller's output on Linux, before packing


def pack_onedir():
    """Linux: the folder build -> the one file dist/larder; returns its build id."""
    sys.path.insert(0, str(ROOT / "build"))
    import pack

    try:
        return pack.pack(ONEDIR / "larder", EXE, work=WORK)
    except (pack.PackError, OSError) as exc:
        sys.exit(f"build.py: packing the one file failed: {exc}")


def build(clean=False, slim=True):
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        sys.exit("build.py: PyInstaller is not installed in this Python "
                 f"({sys.executable}); use the project's virtualenv (make exe)")
    cmd = [sys.executable, "-m", "PyInstaller", str(SPEC), "--noconfirm",
           "--distpath", str(ONEDIR if LINUX else DIST), "--workpath", str(WORK),
           "--log-level", "WARN"]
    if clean:
        cmd.append("--clean")
        shutil.rmtree(WORK, ignore_errors=True)
    env = dict(os.environ, LARDER_SLIM="1" if slim else "0")
    print("$", " ".join(cmd), flush=True)
    started = time.monotonic()
    result = subprocess.run(cmd, cwd=ROOT, env=env)
    if result.returncode != 0:
        sys.exit(f"build.py: PyInstaller failed (exit {result.returncode})")
    build_id = pack_onedir() if LINUX else None
    seconds = time.monotonic() - started
    if not EXE.is_file():
        sys.exit(f"build.py: PyInstaller finished but {EXE} is missing")
    size_mb = EXE.stat().st_size / 1e6
    info_file = WORK / SPEC.stem / "build-info.json"  # PyInstaller works in build/work/app/
    info = json.loads(info_file.read_text()) if info_file.exists() else {}
    info.update(build_seconds=round(seconds, 1), size_mb=round(size_mb, 1), build_id=build_id)
    if LINUX:
        info["unpacked_mb"] = round(sum(p.lstat().st_size for p in
                                        (ONEDIR / "larder").rglob("*")) / 1e6, 1)
    info_file.write_text(json.dumps(info, indent=2))
    mode = f"unpack-once, {info['unpacked_mb']} MB unpacked" if LINUX else "onefile"
    print(f"built {EXE.relative_to(ROOT)}: {size_mb:.1f} MB in {seconds:.0f} s "
          f"(PyInstaller {info.get('pyinstaller', '?')}, {mode}, "
          f"window: {info.get('qt_binding') or info.get('webview_backend', '?')}, "
          f"{'slimmed' if slim else 'not slimmed'})", flush=True)
    return EXE


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true",
                        help="empty build/work and PyInstaller's cache first")
    parser.add_argument("--no-smoke", action="store_true", help="do not run the smoke test")
    parser.add_argument("--no-slim", action="store_true",
                        help="keep every Qt module, plugin and translation (to measure)")
    args = parser.parse_args(argv)
    exe = build(clean=args.clean, slim=not args.no_slim)
    if args.no_smoke:
        return 0
    smoke = ROOT / "build" / "smoke_test.py"
    return subprocess.run([sys.executable, str(smoke), str(exe)], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main())
