"""The one-file executable (dist/larder), checked with the executable alone.

Slow (run with `pytest -m slow`): the `executable` fixture builds dist/larder with
build/build.py when it is missing or older than the sources (a couple of minutes), or uses
the file named by LARDER_EXE as it is. The checks are build/smoke_test.py's, as tests.

Other test modules can reuse the fixture (e.g. for the window under Xvfb):

    from test_executable import executable  # noqa: F401  (the fixture)

    def test_something(executable):  # a pathlib.Path to the built file
        ...
"""
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from cache_servers import memcached_server, new_database, postgres_server, redis_server  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
EXE_NAME = "larder.exe" if os.name == "nt" else "larder"
DEFAULT_EXE = ROOT / "dist" / EXE_NAME
SIZE_TARGET_MB = 200

pytestmark = pytest.mark.slow


sys.path.insert(0, str(ROOT / "build"))
import smoke_test as smoke  # noqa: E402  (build/ is not a package)


def source_files():
    """What the executable is made of: a newer file than dist/larder means rebuild."""
    yield ROOT / "app.spec"
    yield ROOT / "requirements.txt"
    yield from (ROOT / "build" / "hooks").glob("*.py")
    yield from (ROOT / "build" / name for name in ("build.py", "pack.py", "unpack_once.c"))
    for package in ("desktop", "webapp"):
        for path in (ROOT / package).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                yield path


def stale(exe):
    if not exe.is_file():
        return "missing"
    built = exe.stat().st_mtime
    newer = [p for p in source_files() if p.exists() and p.stat().st_mtime > built]
    return f"older than {newer[0].relative_to(ROOT)}" if newer else None


def ensure_executable():
    """The executable to test: LARDER_EXE as it is, else dist/larder, built when stale."""
    named = os.environ.get("LARDER_EXE")
    if named:
        exe = Path(named).resolve()
        if not exe.is_file():
            pytest.fail(f"LARDER_EXE={named} does not exist")
        return exe
    reason = stale(DEFAULT_EXE)
    if reason:
        print(f"building {DEFAULT_EXE} ({reason})", file=sys.stderr)
        result = subprocess.run([sys.executable, str(ROOT / "build" / "build.py"), "--no-smoke"],
                                cwd=ROOT, capture_output=True, text=True)
        if result.returncode != 0 or not DEFAULT_EXE.is_file():
            pytest.fail(f"build/build.py failed (exit {result.returncode}):\n"
                        f"{result.stdout[-3000:]}\n{result.stderr[-6000:]}")
    return DEFAULT_EXE


@pytest.fixture(scope="session")
def executable(tmp_path_factory):
    """Path to the one-file executable (built once per session when needed). It unpacks
    itself once into XDG_CACHE_HOME/larder/: a private one for the session, so the
    tests neither use nor fill the user's ~/.cache."""
    exe = ensure_executable()
    saved = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield exe
    if saved is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = saved


def test_version(executable):
    from webapp import __version__

    assert smoke.check_version(executable) == f"larder, version {__version__}"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="unpack-once is Linux's")
def test_unpacks_once_per_version(executable, tmp_path):
    """First start unpacks into XDG_CACHE_HOME/larder/app/<build id>/, the next reuses it."""
    detail = smoke.check_unpack_once(executable, tmp_path / "cache")
    assert "first start" in detail


def test_size_under_target(executable):
    if os.environ.get("LARDER_EXE"):
        pytest.skip("the size target is for our own build (dist/larder)")
    size_mb = executable.stat().st_size / 1e6
    assert size_mb < SIZE_TARGET_MB, f"{executable} is {size_mb:.1f} MB"


def test_bad_argument_is_one_line_and_exit_2(executable, tmp_path):
    assert smoke.check_bad_input(executable, tmp_path).startswith("larder: error: bad date")


def test_demo_then_pdf_report_from_the_cli(executable, tmp_path):
    pdf, count = smoke.check_demo_and_pdf_report(executable, tmp_path / "data")
    assert count >= smoke.DEMO_ORDERS * 0.9
    assert pdf.read_bytes().startswith(b"%PDF-")


def test_serve_health_background_report_and_clean_stop(executable, tmp_path):
    """Headless serve in a fresh data dir: the bundled worker (the same executable as
    `worker --beat`, `worker-node ...`, `beat`) runs reports and an order; the stop
    (SIGTERM; Windows: the stop pipe) leaves no process and no unpacked folder."""
    result = smoke.check_serve(executable, tmp_path / "data", reports=3, order=True)
    assert [job["state"] for job in result["jobs"]] == ["SUCCESS"] * 3
    assert result["order"]["result"]["status"] == "processed"
    assert result["exit_code"] == 0
    assert (tmp_path / "data" / "reports").is_dir()
    assert any((tmp_path / "data" / "reports").glob("*.pdf")), "no report file was written"
    assert not (tmp_path / "data" / "server.json").exists()


def test_no_command_without_a_window_engine_serves_headless(executable, tmp_path):
    """The double-click where no window can open (no display; Windows without WebView2
    or .NET, as under Wine): the log says why, /health answers, a hard kill of the
    launcher leaves no process (Windows: its Job Object)."""
    reason, _ = smoke.check_double_click(executable, tmp_path / "data")
    assert reason


def _x_cache(served, path="/"):
    request = urllib.request.Request(served.info["url"] + path,
                                     headers={"Authorization": f"Bearer {served.info['token']}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.headers.get("X-Cache")


def _serve_with(executable, data_dir, env):
    """serve + bundled worker on other backends: a background report, a cached page."""
    served = smoke.Served(executable, data_dir, env=env)
    try:
        served.wait_ready()
        assert smoke.check_background_report(served)["state"] == "SUCCESS"
        assert [_x_cache(served), _x_cache(served)] == [(200, "MISS"), (200, "HIT")]
        assert served.stop() == 0
        assert smoke.wait_no_processes(data_dir) == []
    finally:
        served.stop(timeout=1)
        served.kill_leftovers()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux CI runs the servers")
def test_scale_out_on_redis(executable, tmp_path, redis_server):
    """Redis as broker, result store and cache: kombu.transport.redis,
    celery.backends.redis and the redis client are frozen in (hidden imports)."""
    base = redis_server.rsplit("/", 1)[0]
    _serve_with(executable, tmp_path / "data", {
        "CELERY_BROKER_URL": f"{base}/13", "CELERY_RESULT_BACKEND": f"{base}/14",
        "CACHE_TYPE": "redis", "CACHE_REDIS_URL": f"{base}/15"})


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux CI runs the servers")
def test_memcached_cache(executable, tmp_path, memcached_server):
    """CACHE_TYPE=memcached: webapp.cache_backends and python-memcached are frozen in."""
    _serve_with(executable, tmp_path / "data", {
        "CACHE_TYPE": "memcached", "CACHE_MEMCACHED_SERVERS": memcached_server})


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux CI runs the servers")
def test_postgres(executable, tmp_path, postgres_server):
    """DATABASE_URL=postgres://...: SQLAlchemy's psycopg dialect and psycopg's C
    implementation (psycopg_binary, with its own libpq) are frozen in."""
    name = f"larder_exe_{os.getpid()}"
    new_database(postgres_server, name)
    env = {"DATABASE_URL": f"{postgres_server}/{name}".replace("postgresql+psycopg://",
                                                                "postgres://")}
    pdf, count = smoke.check_demo_and_pdf_report(executable, tmp_path / "cli", orders=500,
                                                 env=env)
    assert count >= 450
    _serve_with(executable, tmp_path / "serve", env)
