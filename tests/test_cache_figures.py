"""Cache keys and counts (webapp.caching): a new customer, repeated query parameters, an
error page, an evicted version entry and the hit/miss counts never show a stale page.
Also the version entry when two processes create it at once (two real processes on one
DiskCache), when the stock FileSystemCache still holds an expired one, and what the cache
page reports on the FileSystemCache and SimpleCache backends."""
import json
import os
import re
import struct
import subprocess
import sys
import time
from datetime import date

import pytest

from conftest import TOKEN, csrf_from
from webapp import caching, create_app
from webapp.config import ENV_KEYS
from webapp.extensions import cache, db
from worker_proc import ROOT, child_env

WAIT = 60  # seconds: only a limit for a stuck child, never a measured figure


def state(client, url):
    response = client.get(url)
    return response.status_code, response.headers.get("X-Cache"), response.get_data(as_text=True)


def test_a_new_customer_shows_at_once_in_lists_and_stats(client, owner_browser, shop):
    urls = ["/customers/", "/customers/?q=dora", "/customers/?page=1"]
    for url in urls:
        state(client, url)
    assert all(state(client, url)[1] == "HIT" for url in urls)
    assert client.get("/api/stats").json["customers"] == 3
    assert client.get("/api/stats").headers["X-Cache"] == "HIT"

    token = csrf_from(owner_browser, "/customers/new")
    response = owner_browser.post("/customers/new", data={
        "csrf_token": token, "email": "dora@example.com", "name": "Dora", "country": "Malta"})
    assert response.status_code == 302
    for url in urls:
        code, hit, html = state(client, url)
        assert (code, hit) == (200, "MISS") and "dora@example.com" in html, url
    stats = client.get("/api/stats")
    assert stats.headers["X-Cache"] == "MISS" and stats.json["customers"] == 4


def test_repeated_query_parameters_are_their_own_page(client, shop):
    # The list shows the first category given: Dairy is SKU-001, 004...; Produce 002, 005...
    one = "/products/?category=Dairy"
    both = "/products/?category=Dairy&category=Produce"
    turned = "/products/?category=Produce&category=Dairy"
    assert state(client, one)[1] == "MISS"
    code, hit, html = state(client, both)
    assert (code, hit) == (200, "MISS") and "Product 001" in html  # not the first page again
    assert state(client, both)[1] == "HIT"
    code, hit, html = state(client, turned)
    assert (code, hit) == (200, "MISS")  # a stale Dairy page here was a bug
    assert "Product 002" in html and "Product 001" not in html
    # other names in another order are the same arguments
    assert state(client, "/products/?q=004&category=Dairy")[1] == "MISS"
    assert state(client, "/products/?category=Dairy&q=004")[1] == "HIT"


def test_error_pages_are_never_kept(client, shop):
    for _ in range(2):
        code, hit, _ = state(client, "/products/NO-SUCH-SKU")
        assert code == 404 and hit != "HIT"


def test_hits_and_misses_are_counted_one_by_one(client, shop):
    hits, misses = caching.counters.hits, caching.counters.misses
    state(client, "/products/?page=2")
    state(client, "/products/?page=2")
    state(client, "/products/?page=2")
    assert (caching.counters.hits - hits, caching.counters.misses - misses) == (2, 1)
    with client.application.app_context():
        info = caching.backend_info()
    assert (info["hits"], info["misses"]) == (caching.counters.hits, caching.counters.misses)
    assert info["entries"] >= 1


def test_an_evicted_version_never_serves_old_pages(client, shop):
    app = client.application
    state(client, "/products/")
    assert state(client, "/products/")[1] == "HIT"
    with app.app_context():
        before = caching.area_version("products")
        assert caching.area_version("products") == before  # stable while it lives
        assert caching.bump_version("products") == before + 1
        cache.delete("version/products")
        fresh = caching.area_version("products")
        assert fresh > before + 1  # from the clock again: no number already in a key
        assert caching.area_version("products") == fresh
        cache.delete("version/products")
        assert caching.bump_version("products") > fresh  # inc goes on from the clock too
    assert state(client, "/products/")[1] == "MISS"


def test_dashboard_key_is_per_user_and_per_day(app):
    with app.app_context():
        today = date.today().isoformat()
        key = caching.dashboard_key(7)
        assert key.startswith("view/dashboard/user/7/v") and key.endswith(f"/{today}")
        assert caching.dashboard_key(7, "2025-01-02").endswith("/2025-01-02")
        assert caching.dashboard_key(8) != key
        # The stats version and the user's own (their activity) are in it.
        caching.invalidate_user_dashboard(8)
        assert caching.dashboard_key(7) == key
        caching.invalidate_user_dashboard(7)
        assert caching.dashboard_key(7) not in (key, caching.dashboard_key(8))
        key = caching.dashboard_key(7)
        caching.invalidate_stats()
        assert caching.dashboard_key(7) != key


def test_the_version_entry_never_expires(client, shop):
    # Were it to expire, a new version from the clock would drop every cached list page.
    client.get("/products/")
    with client.application.app_context():
        backend = cache.cache
        value, expires = backend._cache.get(backend.key_prefix + "version/products",
                                            expire_time=True)
    assert value is not None and expires is None


# ---- fresh and concurrent processes ---------------------------------------------------

CHILD = r"""
import json, re, sys, time
from pathlib import Path

from webapp import create_app
from webapp.caching import area_version
from webapp.extensions import cache

data_dir, mode, sync, token = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4]
app = create_app({"TESTING": True, "LARDER_TOKEN": token}, data_dir=data_dir)
out = {}
if mode == "counts":  # what the cache page says in a process that just started
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"

    def shown():
        html = client.get("/cache/").get_data(as_text=True)
        return [int(re.search(f'<dd id="{name}">(-?[0-9]+)</dd>', html)[1])
                for name in ("hits", "misses")]

    out["start"] = shown()
    out["x_cache"] = [client.get("/products/").headers.get("X-Cache") for _ in range(3)]
    out["after"] = shown()
elif mode == "race":
    # Hold this process just before its first write of the version entry (add, or set),
    # until the test has created the entry from its own process: the interleaving that
    # two processes starting at once can produce, made certain.
    backend = cache.cache
    held = []

    def hold(write):
        def held_write(key, *args, **kwargs):
            if key == "version/products" and not held:
                held.append(write.__name__)
                (sync / "holding").touch()
                deadline = time.monotonic() + 60
                while not (sync / "go").exists():
                    if time.monotonic() > deadline:
                        sys.exit("no go signal from the test")
                    time.sleep(0.01)
            return write(key, *args, **kwargs)
        return held_write

    backend.add, backend.set = hold(backend.add), hold(backend.set)
    with app.app_context():
        out["version"] = area_version("products")
        out["stored"] = cache.get("version/products")
    out["held"] = held
print(json.dumps(out))
"""


def spawn(data_dir, mode, sync):
    return subprocess.Popen([sys.executable, "-c", CHILD, str(data_dir), mode, str(sync), TOKEN],
                            cwd=ROOT, env=child_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(proc):
    try:
        out, err = proc.communicate(timeout=WAIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"child {proc.pid} did not finish:\n{err}")
    assert proc.returncode == 0, f"child failed ({proc.returncode}):\n{err}"
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture
def clean_env(monkeypatch):
    for key in ENV_KEYS:  # CACHE_TYPE and friends from the environment would win
        monkeypatch.delenv(key, raising=False)


def test_a_fresh_process_counts_from_zero(tmp_path, clean_env):
    # The counts on the cache page are this process's: in a new one they start at 0 and
    # the first page is one miss, the next two are hits.
    got = finish(spawn(tmp_path / "data", "counts", tmp_path))
    assert got == {"start": [0, 0], "x_cache": ["MISS", "HIT", "HIT"], "after": [2, 1]}


def test_two_processes_creating_the_version_agree(tmp_path, clean_env):
    data_dir = tmp_path / "data"
    app = create_app({"TESTING": True, "LARDER_TOKEN": TOKEN}, data_dir=data_dir)
    with app.app_context():
        inner = cache.cache._cache
        assert type(cache.cache).__name__ == "DiskCache"
        assert cache.get("version/products") is None
    other = spawn(data_dir, "race", tmp_path)
    try:
        deadline = time.monotonic() + WAIT
        while not (tmp_path / "holding").exists():  # it read "no version" and is held
            if other.poll() is not None or time.monotonic() > deadline:
                other.kill()
                pytest.fail("the other process never came to write the version:\n"
                            + other.communicate()[1])
            time.sleep(0.01)
        with app.app_context():
            ours = caching.area_version("products")  # created here, first
        (tmp_path / "go").touch()
        theirs = finish(other)
    finally:
        if other.poll() is None:
            other.kill()
            other.wait()
    # The other process's write is refused and it takes the version created here: one
    # number for both, or pages cached under the loser's version are never found again.
    assert theirs == {"version": ours, "stored": ours, "held": ["add"]}
    with app.app_context():
        assert caching.area_version("products") == ours
        assert caching.bump_version("products") == ours + 1
        db.session.remove()
        db.engine.dispose()
    inner.close()


# ---- other backends -------------------------------------------------------------------

def backend_app(data_dir, cache_type):
    return create_app({"TESTING": True, "LARDER_TOKEN": TOKEN, "CACHE_TYPE": cache_type},
                      data_dir=data_dir)


def test_filesystem_cache_expired_version_on_disk_is_replaced(data_dir, clean_env):
    app = backend_app(data_dir, "filesystem")
    key = caching._version_key("products")
    with app.app_context():
        backend = cache.cache
        assert type(backend).__name__ == "FileSystemCache"
        cache.set(key, 5, timeout=-1)  # stored already expired: the file stays
        path = backend._get_filename(key)
        assert os.path.exists(path)
        assert cache.get(key) is None and cache.add(key, 6, timeout=0) is False

        version = caching.area_version("products")
        assert version > 5
        assert caching.area_version("products") == version  # stored, and readable
        with open(path, "rb") as f:
            assert struct.unpack("I", f.read(4))[0] == 0  # 0: kept for good
        assert caching.bump_version("products") == version + 1

        info = caching.backend_info()
    assert info == {"backend": "flask_caching.backends.filesystemcache.FileSystemCache",
                    "hits": caching.counters.hits, "misses": caching.counters.misses,
                    "entries": None, "size_bytes": None}


def test_simple_cache_reports_its_entries(data_dir, clean_env):
    app = backend_app(data_dir, "simple")
    with app.app_context():
        cache.clear()
        assert caching.backend_info()["entries"] == 0
        cache.set("a", 1)
        cache.set("b", 2)
        info = caching.backend_info()
    assert info == {"backend": "flask_caching.backends.simplecache.SimpleCache",
                    "hits": caching.counters.hits, "misses": caching.counters.misses,
                    "entries": 2, "size_bytes": None}
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {TOKEN}"
    html = client.get("/cache/").get_data(as_text=True)
    assert re.search(r"<dt>Entries</dt><dd>2</dd>", html)


def test_product_detail_key_is_that_products_own_stamp(app, shop):
    from datetime import datetime

    from flask import g

    from webapp.models import Product

    with app.app_context():  # a stamp no other product has
        db.session.execute(db.update(Product).where(Product.sku == "SKU-004")
                           .values(updated_at=datetime(2020, 1, 2, 3, 4, 5)))
        db.session.commit()
    with app.test_request_context("/products/SKU-004"):
        g.role = "owner"  # set by the sign-in; each role has its own copy (docs/users.md)
        version = caching.area_version("products")
        assert caching.product_detail_key() == \
            f"view/product/SKU-004/2020-01-02T03:04:05/v{version}/as-owner"
    with app.test_request_context("/products/NO-SUCH"):
        g.role = "staff"
        assert caching.product_detail_key() == \
            f"view/product/NO-SUCH/missing/v{version}/as-staff"


def test_own_activity_shows_at_once_on_the_dashboard(owner_browser, shop):
    # A backup changes no figure (no stats refresh): only the activity list is new.
    assert owner_browser.get("/").headers["X-Cache"] == "MISS"
    assert owner_browser.get("/").headers["X-Cache"] == "HIT"
    token = csrf_from(owner_browser, "/backups/")
    assert owner_browser.post("/backups/", data={"csrf_token": token}).status_code == 302
    response = owner_browser.get("/")
    assert response.headers["X-Cache"] == "MISS"
    assert "Made a backup" in response.get_data(as_text=True)
