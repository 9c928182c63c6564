"""The default cache (DiskCache) shared by real OS processes on one data dir.

This is the desktop setup: the web server and the worker are separate processes that read
and write one cache folder. Each child runs create_app() on the same data dir and goes
through `cache` like the app does. (No test here for the stock FileSystemCache losing
updates: losses are probabilistic; bench/cache_backends.py measures them.)
"""
import json
import subprocess
import sys
import time

import pytest

from webapp import create_app
from webapp.caching import area_version, bump_version
from webapp.config import ENV_KEYS
from webapp.extensions import cache, db
from worker_proc import ROOT, child_env

N = 500  # incs per process
PROCESSES = 2
TIMEOUT = 60  # seconds, per step

CHILD = r"""
import json, os, sys, time
from pathlib import Path

from webapp import create_app
from webapp.caching import area_version, bump_version
from webapp.extensions import cache

data_dir, mode, sync = sys.argv[1], sys.argv[2], Path(sys.argv[3])
app = create_app({"TESTING": True, "LARDER_TOKEN": "t"}, data_dir=data_dir)
with app.app_context():
    out = {"pid": os.getpid(), "backend": type(cache.cache).__name__}
    if mode == "inc":
        n = int(sys.argv[4])
        (sync / f"ready-{os.getpid()}").touch()
        deadline = time.monotonic() + 60
        while not (sync / "go").exists():  # start together, so the incs overlap
            if time.monotonic() > deadline:
                sys.exit("no go signal from the test")
            time.sleep(0.002)
        out["results"] = [cache.cache.inc("counter") for _ in range(n)]
    elif mode == "write":
        cache.set("shared", {"from": os.getpid(), "html": "<p>Crème brûlée</p>"})
        out["version"] = bump_version("products")
    elif mode == "read":
        out["shared"] = cache.get("shared")
        out["shared2"] = cache.get("shared2")
        out["version"] = area_version("products")
    print(json.dumps(out))
"""


def spawn(data_dir, mode, sync, *extra):
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data_dir), mode, str(sync), *map(str, extra)],
        cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)


def result(proc):
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"child {proc.pid} did not finish in {TIMEOUT}s:\n{err}")
    assert proc.returncode == 0, f"child failed ({proc.returncode}):\n{err}"
    return json.loads(out.strip().splitlines()[-1])


def run(data_dir, mode, sync):
    return result(spawn(data_dir, mode, sync))


@pytest.fixture
def shared(tmp_path, monkeypatch):
    """The parent's app on the shared data dir, created first: it makes the database
    and the secret key, so the children only open them."""
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    data_dir = tmp_path / "data"
    sync = tmp_path / "sync"
    sync.mkdir()
    app = create_app({"TESTING": True, "LARDER_TOKEN": "t"}, data_dir=data_dir)
    with app.app_context():
        assert type(cache.cache).__name__ == "DiskCache"  # the default backend
        cache.clear()
    yield app, data_dir, sync
    with app.app_context():
        inner = cache.cache._cache
        db.session.remove()
        db.engine.dispose()
    inner.close()


def test_inc_across_processes_is_exact(shared):
    app, data_dir, sync = shared
    procs = [spawn(data_dir, "inc", sync, N) for _ in range(PROCESSES)]
    try:
        deadline = time.monotonic() + TIMEOUT
        while len(list(sync.glob("ready-*"))) < PROCESSES:
            for proc in procs:
                if proc.poll() is not None:
                    pytest.fail(f"child exited early:\n{proc.communicate()[1]}")
            assert time.monotonic() < deadline, "children did not get ready in time"
            time.sleep(0.01)
        (sync / "go").touch()
        outputs = [result(proc) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    assert {o["backend"] for o in outputs} == {"DiskCache"}
    assert len({o["pid"] for o in outputs}) == PROCESSES
    # Every inc returned a distinct value: none was lost or counted twice.
    returned = sorted(v for o in outputs for v in o["results"])
    assert returned == list(range(1, PROCESSES * N + 1))
    with app.app_context():
        assert cache.get("counter") == PROCESSES * N


def test_values_and_versions_are_seen_by_the_other_process(shared):
    app, data_dir, sync = shared
    with app.app_context():
        v0 = area_version("products")  # the parent's cache is open from here on

    written = run(data_dir, "write", sync)
    assert written["version"] == v0 + 1
    with app.app_context():  # an already open cache sees the other process's writes
        assert cache.get("shared") == {"from": written["pid"],
                                       "html": "<p>Crème brûlée</p>"}
        assert area_version("products") == v0 + 1
        assert bump_version("products") == v0 + 2
        cache.set("shared2", [1, 2, 3])

    read = run(data_dir, "read", sync)
    assert read["pid"] != written["pid"]
    assert read["shared"]["from"] == written["pid"]
    assert read["shared2"] == [1, 2, 3]
    assert read["version"] == v0 + 2
