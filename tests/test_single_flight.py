"""No stampede: when a popular cached page is invalidated under load, one request computes
it and the others wait for that result (webapp/single_flight.py), within one process and
across processes, on the default disk cache and on Redis. Over real HTTP (Waitress)."""
import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import event

from cache_servers import memcached_server, redis_server  # noqa: F401  (fixtures)
from conftest import TOKEN
from desktop.server import ServerThread
from webapp import caching, create_app
from webapp.extensions import cache, db
from worker_proc import ROOT, child_env

BEARER = {"Authorization": f"Bearer {TOKEN}"}
REQUESTS = 50


def make_app(data_dir, **config):
    return create_app({"TESTING": True, "LARDER_TOKEN": TOKEN,
                       "CELERY_OVERRIDES": {"task_always_eager": True}, **config},
                      data_dir=data_dir)


@pytest.fixture(params=["default", "redis", "memcached"])
def backend(request):
    if request.param == "default":
        return {}
    if request.param == "memcached":
        return {"CACHE_TYPE": "memcached",
                "CACHE_MEMCACHED_SERVERS": [request.getfixturevalue("memcached_server")]}
    return {"CACHE_TYPE": "redis", "CACHE_REDIS_URL": request.getfixturevalue("redis_server")}


@pytest.fixture
def served_app(data_dir, backend):
    """A shop (a few orders, so the dashboard has work to do) served by Waitress."""
    from webapp import catalog

    app = make_app(data_dir, **backend)
    with app.app_context():
        cache.clear()  # one Redis (or Memcached) for the whole session
        for i in range(10):
            catalog.create_product({"sku": f"SKU-{i}", "name": f"Product {i}",
                                    "category": "Bakery", "price": "2.50", "stock": "500"})
            catalog.create_customer({"email": f"c{i}@example.com", "name": f"C {i}",
                                     "country": "France", "city": "Lyon"})
    server = ServerThread(app).start()
    client = app.test_client()
    for i in range(20):
        response = client.post("/api/orders", headers=BEARER, json={
            "customer_email": f"c{i % 10}@example.com",
            "lines": [{"sku": f"SKU-{i % 10}", "quantity": 1}]})
        assert response.status_code == 201, response.json
    yield app, server.url
    server.stop()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def burst(urls):
    """Every URL at once (a barrier starts the threads together): the X-Cache of each."""
    start = threading.Barrier(len(urls))

    def one(url):
        with requests.Session() as http:
            start.wait(timeout=30)
            response = http.get(url, headers=BEARER, timeout=60)
            assert response.status_code == 200, response.text[:300]
            return response.headers["X-Cache"]

    with ThreadPoolExecutor(len(urls)) as pool:
        return list(pool.map(one, urls))


def activity_queries(app):
    """Counts the dashboard's own query (its activity list) as the database runs it."""
    seen = []

    def count(conn, cursor, statement, *args):
        if "FROM activities" in statement:
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    return seen, lambda: event.remove(engine, "before_cursor_execute", count)


def test_a_cold_dashboard_is_computed_once_for_50_requests(served_app):
    app, url = served_app
    assert requests.get(url + "/", headers=BEARER, timeout=30).headers["X-Cache"] == "MISS"
    with app.app_context():
        caching.invalidate_stats()  # an order elsewhere: every dashboard is cold again
    seen, stop = activity_queries(app)
    try:
        states = burst([url + "/"] * REQUESTS)
    finally:
        stop()
    assert states.count("MISS") == 1 and states.count("HIT") == REQUESTS - 1
    assert len(seen) == 1  # the page's queries ran once
    assert requests.get(url + "/", headers=BEARER, timeout=30).headers["X-Cache"] == "HIT"


def test_a_waiter_computes_itself_when_the_leader_never_comes(data_dir, shop):
    """A lock left by a leader that died: the others wait (LARDER_SINGLE_FLIGHT_WAIT), then
    compute the page themselves; nobody is left without it."""
    app = make_app(data_dir, LARDER_SINGLE_FLIGHT_WAIT=0.5)
    with app.app_context():
        from webapp.auth import owner_id

        key = caching.dashboard_key(owner_id(app))
        assert cache.cache.add(f"flight/{key}", "a leader that died", timeout=60)
    response = app.test_client().get("/", headers=BEARER)
    assert response.status_code == 200 and response.headers["X-Cache"] == "MISS"
    assert "Signed in as owner" in response.get_data(as_text=True)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


SERVE_IN_ANOTHER_PROCESS = r"""
import json, sys
from desktop.server import ServerThread
from webapp import create_app
app = create_app({"TESTING": True, "LARDER_TOKEN": sys.argv[2], **json.loads(sys.argv[3])},
                 data_dir=sys.argv[1])
server = ServerThread(app).start()
print(server.url, flush=True)
sys.stdin.read()  # until the test closes it
server.stop()
"""


@pytest.mark.slow
def test_two_processes_compute_a_cold_page_once(served_app, data_dir, backend):
    """Two servers on one data dir (or one Redis), as `serve` runs on several hosts: 25
    requests to each for a page just invalidated; one computes it for both."""
    app, url = served_app
    child = subprocess.Popen(
        [sys.executable, "-c", SERVE_IN_ANOTHER_PROCESS, str(data_dir), TOKEN,
         json.dumps(backend)], cwd=ROOT, env=child_env(), stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True)
    try:
        other = child.stdout.readline().strip()
        assert other.startswith("http://"), "the other server did not start"
        for base in (url, other):
            requests.get(base + "/products/", headers=BEARER, timeout=30)  # menus rendered
        with app.app_context():
            caching.bump_version("products")
        states = burst([url + "/products/", other + "/products/"] * (REQUESTS // 2))
        assert states.count("MISS") == 1, states
    finally:
        child.stdin.close()
        child.wait(30)
