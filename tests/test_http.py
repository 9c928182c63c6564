"""The main flows over real HTTP, through Waitress on 127.0.0.1."""
import requests

from conftest import TOKEN


def test_health_and_token_flow(live_server, shop):
    base = live_server.url
    assert requests.get(f"{base}/health", timeout=5).json()["status"] == "ok"
    browser = requests.Session()
    response = browser.get(f"{base}/products/?token={TOKEN}", timeout=5, allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"] == "/products/"
    page = browser.get(f"{base}/products/", timeout=5)
    assert page.status_code == 200 and "Product 000" in page.text
    assert requests.get(f"{base}/products/", timeout=5, allow_redirects=False).status_code == 302


def test_foreign_host_refused_over_http(live_server):
    response = requests.get(f"{live_server.url}/api/stats", timeout=5,
                            headers={"Host": "rebind.example", "Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 400


def test_order_changes_cached_stats_over_http(live_server, shop):
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {TOKEN}"
    base = live_server.url
    first = api.get(f"{base}/api/stats", timeout=5)
    second = api.get(f"{base}/api/stats", timeout=5)
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("MISS", "HIT")
    assert second.json() == {"orders": 0, "revenue": 0.0, "average_order_value": 0.0,
                             "customers": 3, "products": 30}
    created = api.post(f"{base}/api/orders", timeout=5, json={
        "customer_email": "ann@example.com", "lines": [{"sku": "SKU-019", "quantity": 2}]})
    assert created.status_code == 201 and isinstance(created.json()["id"], int)
    after = api.get(f"{base}/api/stats", timeout=5)
    assert after.headers["X-Cache"] == "MISS"
    assert after.json()["orders"] == 1 and after.json()["revenue"] == 41.0


def test_product_edit_over_http_refreshes_list(live_server, shop):
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {TOKEN}"
    base = live_server.url
    api.get(f"{base}/products/?category=Bakery", timeout=5)
    assert api.get(f"{base}/products/?category=Bakery", timeout=5).headers["X-Cache"] == "HIT"
    assert api.patch(f"{base}/api/products/SKU-003", json={"price": "7.25"},
                     timeout=5).status_code == 200
    page = api.get(f"{base}/products/?category=Bakery", timeout=5)
    assert page.headers["X-Cache"] == "MISS" and "7.25" in page.text


def test_errors_over_http_are_clean(live_server):
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {TOKEN}"
    missing = api.get(f"{live_server.url}/api/orders/999", timeout=5)
    assert missing.status_code == 404 and missing.json() == {"error": "There is no such order."}
    page = api.get(f"{live_server.url}/no/such/page", timeout=5)
    # Plain words in the heading; "Error 404." in small print under it.
    assert page.status_code == 404 and "Traceback" not in page.text
    assert "<h1>Not found</h1>" in page.text and "Error 404." in page.text
    bad = api.post(f"{live_server.url}/api/orders", data=b"\xff\xfe", timeout=5,
                   headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and "error" in bad.json()
