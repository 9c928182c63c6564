"""A damaged cache (cache/cache.db not a database) is moved aside and rebuilt: the app,
the CLI and two processes starting together all carry on, with a warning in the log."""
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

from conftest import TOKEN
from webapp import create_app

ROOT = Path(__file__).resolve().parent.parent


def _damage(data_dir):
    cache = Path(data_dir, "cache")
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "cache.db").write_bytes(b"this is not a database\n" * 100)


def _aside(data_dir):
    return sorted(p.name for p in Path(data_dir).iterdir() if ".damaged-" in p.name)


def test_app_moves_a_damaged_cache_aside(data_dir, caplog):
    _damage(data_dir)
    with caplog.at_level(logging.WARNING, logger="webapp.cache_backends"):
        app = create_app({"LARDER_TOKEN": TOKEN}, data_dir=data_dir)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/api/stats", headers=headers).headers["X-Cache"] == "MISS"
    assert client.get("/api/stats", headers=headers).headers["X-Cache"] == "HIT"
    [aside] = _aside(data_dir)
    assert (data_dir / aside / "cache.db").read_bytes().startswith(b"this is not")
    assert stat.S_IMODE(os.stat(data_dir / "cache").st_mode) == 0o700
    assert f"moved to {data_dir / aside}" in caplog.text
    # the next start finds a good cache and leaves it alone
    create_app({"LARDER_TOKEN": TOKEN}, data_dir=data_dir)
    assert _aside(data_dir) == [aside]


def _cli(data_dir, *args):
    return subprocess.run([sys.executable, "-m", "desktop", "--data-dir", str(data_dir), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_cli_carries_on_with_a_damaged_cache(data_dir, tmp_path):
    _damage(data_dir)
    products = tmp_path / "products.csv"
    products.write_text("sku,name,category,price,stock\nA-1,Apple,Fruit,0.50,3\n")
    done = _cli(data_dir, "import", "products", str(products))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert len(_aside(data_dir)) == 1
    assert "was damaged" in done.stderr  # commands log to the console (serve: larder.log)


OPEN = """
import sys
from webapp.cache_backends import DiskCache
sys.stdin.readline()  # start together
cache = DiskCache(sys.argv[1])
cache.inc("hits")
print(cache.get("hits") is not None)
"""


def test_two_processes_repair_it_once(data_dir):
    _damage(data_dir)
    procs = [subprocess.Popen([sys.executable, "-c", OPEN, str(data_dir / "cache")], cwd=ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outs = [proc.communicate(timeout=60) for proc in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert len(_aside(data_dir)) == 1
    from webapp.cache_backends import DiskCache

    assert DiskCache(str(data_dir / "cache")).get("hits") == 2  # both used the new one
