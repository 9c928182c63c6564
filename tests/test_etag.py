"""Conditional requests on cached pages: an ETag from the cache key (its versions) and the
body as sent; If-None-Match answers 304; any change that shows changes the ETag at once."""
import os

import pytest

from conftest import TOKEN, csrf_from, http_session
from webapp import create_app
from webapp.background.status import write_status
from webapp.extensions import db

BEARER = {"Authorization": f"Bearer {TOKEN}"}
CACHED = ["/products/", "/products/?page=2", "/products/SKU-004", "/customers/", "/",
          "/api/stats"]


@pytest.fixture(params=["fast path", "Flask"])
def shop_app(request, data_dir, shop, app):
    """The app with the fast path (the default) and without: both give the same ETags."""
    if request.param == "fast path":
        yield app
        return
    plain = create_app({"TESTING": True, "LARDER_TOKEN": TOKEN, "LARDER_FAST_PATH": False,
                        "CELERY_OVERRIDES": {"task_always_eager": True}}, data_dir=data_dir)
    yield plain
    with plain.app_context():
        db.session.remove()
        db.engine.dispose()


def etag(client, url, **headers):
    response = client.get(url, headers={**BEARER, **headers})
    assert response.status_code == 200, url
    return response.headers["ETag"]


def test_cached_responses_answer_if_none_match_with_304(shop_app):
    """Over real HTTP (Waitress): MISS and HIT carry the same ETag, which gets a 304."""
    with http_session(shop_app) as http:
        for url in CACHED:
            miss = http.get(http.base + url)
            hit = http.get(http.base + url)
            assert (miss.headers["X-Cache"], hit.headers["X-Cache"]) == ("MISS", "HIT")
            assert miss.headers["ETag"] == hit.headers["ETag"], url
            assert hit.headers["Cache-Control"] == "private, no-cache"
            again = http.get(http.base + url, headers={"If-None-Match": hit.headers["ETag"]})
            assert again.status_code == 304 and again.content == b"", url
            assert again.headers["ETag"] == hit.headers["ETag"]
            assert again.headers["Content-Security-Policy"] == hit.headers[
                "Content-Security-Policy"]
            other = http.get(http.base + url, headers={"If-None-Match": '"something-else"'})
            assert other.status_code == 200 and other.content == hit.content
        assert "ETag" not in http.get(http.base + "/orders/").headers  # not a cached page


def test_an_edit_changes_the_etag_at_once(shop_app):
    client = shop_app.test_client()
    before = {url: etag(client, url) for url in CACHED}
    assert client.patch("/api/products/SKU-004", json={"name": "Renamed Loaf"},
                        headers=BEARER).status_code == 200
    after = {url: etag(client, url) for url in CACHED}
    # The owner's dashboard shows their activity; stats count products.
    changed = [url for url in CACHED if before[url] != after[url]]
    assert changed == ["/products/", "/products/?page=2", "/products/SKU-004", "/",
                       "/api/stats"]
    response = client.get("/products/SKU-004",
                          headers={**BEARER, "If-None-Match": before["/products/SKU-004"]})
    assert response.status_code == 200 and "Renamed Loaf" in response.get_data(as_text=True)

    assert client.post("/api/orders", json={"customer_email": "ann@example.com", "lines": [
        {"sku": "SKU-001", "quantity": 1}]}, headers=BEARER).status_code == 201
    # Stock, totals and lists change; the customer list shows nothing of an order, so a
    # sale leaves its copy (and ETag) as it was (caching.sale_recorded).
    assert [url for url in CACHED if etag(client, url) == after[url]] == ["/customers/"]


def test_a_new_customer_changes_the_customer_list_etag(shop_app):
    client = shop_app.test_client()
    before = etag(client, "/customers/")
    assert client.post("/api/customers", json={"email": "dee@example.com", "name": "Dee", "country": "France", "city": "Lyon"},
                       headers=BEARER).status_code == 201
    assert etag(client, "/customers/") != before


def test_the_worker_banner_and_a_message_change_the_etag(shop_app, data_dir):
    """What is filled in after the cache is part of what the ETag names."""
    client = shop_app.test_client()
    down = etag(client, "/products/")  # no worker in this test: the banner shows
    write_status(data_dir, "ok", pid=os.getpid())
    up = etag(client, "/products/")
    assert up != down
    response = client.get("/products/", headers={**BEARER, "If-None-Match": down})
    assert response.status_code == 200 and "paused" not in response.get_data(as_text=True)


def test_a_pending_message_is_never_lost_to_a_304(app, shop, owner_browser):
    """The owner's browser holds the list; a product is saved (a message is waiting): the
    list with the message is sent in full, the message shown once."""
    held = owner_browser.get("/products/").headers["ETag"]
    assert owner_browser.get("/products/", headers={"If-None-Match": held}).status_code == 304
    form = {"csrf_token": csrf_from(owner_browser, "/products/SKU-004/edit"),
            "sku": "SKU-004", "name": "Product 004", "category": "Dairy", "price": "5.50",
            "stock": "10"}
    assert owner_browser.post("/products/SKU-004/edit", data=form).status_code == 302
    first = owner_browser.get("/products/", headers={"If-None-Match": held})
    assert first.status_code == 200 and "Product SKU-004 saved." in first.get_data(
        as_text=True)
    tag = first.headers["ETag"]
    second = owner_browser.get("/products/", headers={"If-None-Match": tag})
    assert second.status_code == 200  # without the message now: another ETag
    assert "saved." not in second.get_data(as_text=True)
    assert owner_browser.get("/products/", headers={
        "If-None-Match": second.headers["ETag"]}).status_code == 304


def test_a_304_keeps_the_connection_open(shop_app):
    """A 304 has no body, so its end is known: the client's connection stays open for the
    next request (Waitress alone closed it after every 304: a new connection per
    conditional request). A client that asks for "Connection: close" still gets it."""
    from http.client import HTTPConnection
    from urllib.parse import urlsplit

    with http_session(shop_app) as http:
        tag = http.get(http.base + "/products/?page=2").headers["ETag"]
        http.get(http.base + "/products/?page=2")
        address = urlsplit(http.base)
        conn = HTTPConnection(address.hostname, address.port, timeout=10)
        try:
            conn.request("GET", "/products/?page=2", headers={**BEARER, "If-None-Match": tag})
            first = conn.getresponse()
            assert first.status == 304 and first.read() == b""
            assert first.getheader("Connection") is None and not first.will_close
            sock = conn.sock
            for headers in ({**BEARER, "If-None-Match": tag}, BEARER):  # 304, then 200
                conn.request("GET", "/products/?page=2", headers=headers)
                reply = conn.getresponse()
                body = reply.read()
                assert conn.sock is sock  # the same connection
            assert reply.status == 200 and b"SKU-" in body
            conn.request("GET", "/products/?page=2",
                         headers={**BEARER, "If-None-Match": tag, "Connection": "close"})
            closing = conn.getresponse()
            assert closing.status == 304 and closing.will_close
            assert closing.getheader("Connection") == "close"
        finally:
            conn.close()
