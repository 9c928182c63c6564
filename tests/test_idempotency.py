"""Orders are recorded once: the same Idempotency-Key (API) or the same one-time form
token answers with the first order, also when the requests race on a slow server."""
import re
import sqlite3
import threading
import time
from datetime import timedelta

import pytest
import requests

from conftest import TOKEN, csrf_from
from webapp.extensions import db

ORDER = {"customer_email": "ann@example.com", "lines": [{"sku": "SKU-001", "quantity": 2}]}


def order_count(app):
    from webapp.models import Order

    with app.app_context():
        return db.session.query(Order).count()


def post(client, body=ORDER, key="key-1"):
    return client.post("/api/orders", json=body, headers={"Idempotency-Key": key})


def test_same_key_answers_with_the_first_order(app, client, shop):
    first = post(client)
    assert first.status_code == 201
    client.get(f"/api/orders/{first.json['id']}")  # processed meanwhile
    again = post(client)
    assert again.status_code == 201
    assert again.json == first.json  # the same body, status "pending" as it was answered
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert order_count(app) == 1
    assert client.get("/api/products/SKU-001").json["stock"] == 8  # taken once
    assert post(client, key="key-2").json["id"] != first.json["id"]  # a new key, a new order
    assert order_count(app) == 2


def test_same_key_with_other_content_is_refused(app, client, shop):
    first = post(client)
    other = post(client, {**ORDER, "lines": [{"sku": "SKU-002", "quantity": 1}]})
    assert other.status_code == 422
    assert other.json["error"] == (
        f"This Idempotency-Key was already used for order {first.json['ref']} with different "
        f"content; use a new key for a new order.")
    assert order_count(app) == 1


def test_bad_keys_are_refused(client, shop):
    for key in ("", " ", "x" * 201, "caf\u00e9"):
        response = client.post("/api/orders", json=ORDER, headers={"Idempotency-Key": key})
        assert response.status_code == 400, key
        assert "Idempotency-Key must be 1 to 200 visible ASCII characters" in \
            response.json["error"]


def test_a_refused_request_records_nothing_and_its_key_stays_free(app, client, shop):
    bad = post(client, {**ORDER, "customer_email": "nobody@example.com"})
    assert bad.status_code == 400
    assert post(client).status_code == 201
    assert order_count(app) == 1


def test_keys_belong_to_one_user(app, client, shop):
    """A staff member's key does not collide with the owner's."""
    from webapp.auth import add_user

    with app.app_context():
        add_user("sam", "correct horse")
    staff = app.test_client()
    token = csrf_from(staff, "/login")
    staff.post("/login", data={"csrf_token": token, "username": "sam",
                               "password": "correct horse"})
    owner_order = post(client).json
    staff_order = staff.post("/api/orders", json=ORDER, headers={
        "Idempotency-Key": "key-1", "X-CSRFToken": csrf_from(staff, "/orders/new")})
    assert staff_order.status_code == 201
    assert staff_order.json["id"] != owner_order["id"]


def test_keys_expire_after_24_hours_and_the_cleanup_removes_them(app, client, shop):
    from webapp.cleanup import cleanup
    from webapp.models import IdempotencyKey

    first = post(client).json
    post(client, key="recent")
    with app.app_context():
        row = db.session.execute(db.select(IdempotencyKey).filter_by(key="key-1")).scalar()
        row.created_at -= timedelta(hours=24, minutes=1)
        db.session.commit()
    assert post(client).json["id"] != first["id"]  # expired: a new order
    with app.app_context():
        row = db.session.execute(db.select(IdempotencyKey).filter_by(key="key-1")).scalar()
        row.created_at -= timedelta(hours=25)
        db.session.commit()
        counts = cleanup()
        assert counts["idempotency_keys"] == 1
        assert [r.key for r in db.session.query(IdempotencyKey)] == ["recent"]


def test_order_form_sent_twice_shows_the_first_order(app, owner_browser, shop):
    page = owner_browser.get("/orders/new").get_data(as_text=True)
    form = {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
            "once": re.search(r'name="once" value="([^"]+)"', page).group(1),
            "customer_email": "cy@example.com", "sku0": "SKU-010", "qty0": "3"}
    first = owner_browser.post("/orders/new", data=form)
    again = owner_browser.post("/orders/new", data=form)
    assert first.status_code == 302 and again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    shown = owner_browser.get(again.headers["Location"]).get_data(as_text=True)
    assert "was already recorded: the form was sent twice" in shown
    assert order_count(app) == 1
    # the same form, changed and sent again (browser Back): refused, with a fresh form
    changed = owner_browser.post("/orders/new", data={**form, "qty0": "4"})
    assert changed.status_code == 409
    html = changed.get_data(as_text=True)
    assert "This form was already used for order" in html
    assert form["once"] not in html
    assert order_count(app) == 1
    # each fresh form records its own order
    assert "name=\"once\"" in owner_browser.get("/orders/new").get_data(as_text=True)


# ---- a slow server: double clicks, concurrent duplicates, retries after a timeout ----

class SlowDatabase:
    """Holds the SQLite write lock, so the server's order requests wait inside their
    transaction (as on a busy shop's disk) until release()."""

    def __init__(self, data_dir):
        self.con = sqlite3.connect(data_dir / "larder.db", timeout=30, isolation_level=None)

    def __enter__(self):
        self.con.execute("BEGIN IMMEDIATE")
        return self

    def release(self):
        if self.con.in_transaction:
            self.con.execute("ROLLBACK")

    def __exit__(self, *exc):
        self.release()
        self.con.close()


def _live(app):
    from desktop.server import ServerThread

    return ServerThread(app).start()


def _together(n, fn):
    """Run fn(i) in n threads released at one moment; returns their results."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        barrier.wait()
        try:
            results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - reported by the caller's asserts
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    return threads, results


def test_concurrent_duplicate_api_requests_record_one_order(app, shop, data_dir):
    server = _live(app)
    try:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {TOKEN}"
        http.get(server.url + "/api/stats").raise_for_status()  # the owner row exists
        with SlowDatabase(data_dir) as slow:
            threads, results = _together(3, lambda i: http.post(
                server.url + "/api/orders", json=ORDER, headers={"Idempotency-Key": "k"},
                timeout=60))
            time.sleep(1)  # all three are inside the server, waiting for the disk
            slow.release()
            for t in threads:
                t.join()
        assert [r.status_code for r in results] == [201, 201, 201], results
        assert len({r.text for r in results}) == 1
        assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in results) == 2
    finally:
        server.stop()
    assert order_count(app) == 1


def test_retry_after_a_client_timeout_records_one_order(app, shop, data_dir):
    server = _live(app)
    try:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {TOKEN}"
        http.get(server.url + "/api/stats").raise_for_status()
        with SlowDatabase(data_dir) as slow:
            with pytest.raises(requests.Timeout):
                http.post(server.url + "/api/orders", json=ORDER,
                          headers={"Idempotency-Key": "retry-me"}, timeout=0.5)
            threads, results = _together(1, lambda i: http.post(
                server.url + "/api/orders", json=ORDER,
                headers={"Idempotency-Key": "retry-me"}, timeout=60))
            time.sleep(0.5)
            slow.release()
            threads[0].join()
        retry = results[0]
        assert retry.status_code == 201, retry
        assert http.get(server.url + f"/api/orders/{retry.json()['id']}").status_code == 200
    finally:
        server.stop()
    assert order_count(app) == 1


def test_double_click_on_record_order_records_one_order(app, shop, data_dir):
    server = _live(app)
    try:
        browser = requests.Session()
        browser.get(f"{server.url}/?token={TOKEN}").raise_for_status()
        page = browser.get(server.url + "/orders/new").text
        form = {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
                "once": re.search(r'name="once" value="([^"]+)"', page).group(1),
                "customer_email": "bob@example.com", "sku0": "SKU-004", "qty0": "2"}
        with SlowDatabase(data_dir) as slow:
            threads, results = _together(2, lambda i: browser.post(
                server.url + "/orders/new", data=form, allow_redirects=False, timeout=60))
            time.sleep(1)
            slow.release()
            for t in threads:
                t.join()
        assert sorted(r.status_code for r in results) == [302, 303], results
        assert len({r.headers["Location"] for r in results}) == 1
    finally:
        server.stop()
    assert order_count(app) == 1
