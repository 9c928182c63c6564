"""A full disk, for real: the data dir lives on a small tmpfs that a filler file fills up
(32 MB: the database and the cache each keep a write-ahead log of up to ~4 MB).

Pages answer with a plain "the disk is full" page and the API with 507 and
{"error": ...}; nothing is half saved, and once space is freed the same requests work.
Mounting needs root (CI and the dev container run as root); elsewhere these tests skip.
"""
import os
import subprocess

import pytest
import requests

from conftest import TOKEN
from webapp import catalog, create_app
from webapp.errors import is_disk_full
from webapp.extensions import db


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m,mode=0700", "tmpfs",
                           str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(path):
    """Write until the disk refuses; returns the filler's path (delete it to free space)."""
    filler = path / "filler"
    with open(filler, "wb", buffering=0) as fh:  # unbuffered: close() has nothing left to write
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError as exc:
            assert is_disk_full(exc)
    return filler


@pytest.fixture
def full_app(small_disk):
    app = create_app({"TESTING": True, "LARDER_TOKEN": TOKEN,
                      "CELERY_OVERRIDES": {"task_always_eager": True}},
                     data_dir=small_disk / "data")
    with app.app_context():
        catalog.create_product({"sku": "A-1", "name": "Apple", "category": "Fruit",
                                "price": "0.50", "stock": "100"})
        catalog.create_customer({"email": "ann@example.com", "name": "Ann", "country": "UK"})
    from desktop.server import ServerThread

    server = ServerThread(app).start()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    session.base = server.url
    try:
        yield app, session, small_disk
    finally:
        server.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


ORDER = {"customer_email": "ann@example.com", "lines": [{"sku": "A-1", "quantity": 2}]}
CSV = b"sku,name,category,price,stock\nB-1,Bread,Bakery,2.00,5\n"


def _requests(api):
    base = api.base
    return {
        "api order": lambda: api.post(f"{base}/api/orders", json=ORDER, timeout=30),
        "api report": lambda: api.post(f"{base}/api/reports", timeout=30, json={
            "from": "2025-01-01", "to": "2025-01-31", "format": "csv"}),
        "order page": lambda: api.post(f"{base}/orders/new", timeout=30, data={
            "customer_email": "ann@example.com", "sku0": "A-1", "qty0": "1"},
            allow_redirects=False),
        "import page": lambda: api.post(f"{base}/import/", timeout=30, data={"kind": "products"},
                                        files={"file": ("p.csv", CSV, "text/csv")}),
        "report page": lambda: api.post(f"{base}/reports/", timeout=30, data={
            "from": "2025-02-01", "to": "2025-02-28", "format": "pdf"},
            allow_redirects=False),
    }


def test_disk_full_is_a_clear_507_and_nothing_half_saved(full_app):
    app, api, disk = full_app
    before = api.get(f"{api.base}/api/stats", timeout=30).json()
    filler = _fill(disk)
    for name, send in _requests(api).items():
        response = send()
        assert response.status_code == 507, (name, response.status_code, response.text[:300])
        if name.startswith("api"):
            assert response.json()["error"].startswith("The disk is full"), name
        else:
            assert "The disk is full" in response.text and "Traceback" not in response.text
    os.remove(filler)
    stats = api.get(f"{api.base}/api/stats", timeout=30).json()
    assert (stats["orders"], stats["products"]) == (before["orders"], before["products"])
    for name, send in _requests(api).items():
        assert send().status_code in (200, 201, 202, 302), name
    with app.app_context():
        assert db.session.execute(db.text("PRAGMA integrity_check")).scalar() == "ok"


def _chained(outer, inner):
    try:
        try:
            raise inner
        except Exception:
            raise outer
    except Exception as exc:
        return exc


@pytest.mark.parametrize("exc, full", [
    (OSError(28, "No space left on device"), True),
    (OSError(getattr(__import__("errno"), "EDQUOT", 28), "Disk quota exceeded"), True),
    (OSError(13, "Permission denied"), False),
    (__import__("sqlite3").OperationalError("database or disk is full"), True),
    (__import__("sqlite3").OperationalError("database is locked"), False),
    (_chained(RuntimeError("while saving"), OSError(28, "full")), True),
    (_chained(RuntimeError("while saving"), ValueError("x")), False),
    (ValueError("disk is full"), False),
])
def test_is_disk_full_recognises_wrapped_errors(exc, full):
    assert is_disk_full(exc) is full
