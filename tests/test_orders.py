"""Recording orders: API and form, stock, failures, validation."""
import re

from conftest import csrf_from


def stock(client, sku):
    return client.get(f"/api/products/{sku}").json["stock"]


def test_api_order_is_created_and_processed(client, shop):
    response = client.post("/api/orders", json={
        "customer_email": "ANN@example.com",
        "lines": [{"sku": "SKU-001", "quantity": 2}, {"sku": "SKU-002", "quantity": 1}]})
    assert response.status_code == 201
    body = response.json
    assert isinstance(body["id"], int)
    assert body["total"] == "8.50"  # 2 x 2.50 + 1 x 3.50
    assert response.headers["Location"].endswith(f"/api/orders/{body['id']}")
    assert client.get(f"/api/orders/{body['id']}").json["status"] == "processed"
    assert stock(client, "SKU-001") == 8 and stock(client, "SKU-002") == 9


def test_order_beyond_stock_fails_in_processing_and_leaves_stock(app, client, shop):
    """Recorded while the stock covered it (an order short of stock is refused at once:
    tests/test_api_stock.py), then its stock went before it was processed."""
    from webapp import ordering

    with app.app_context():
        order_id = ordering.create_order({
            "customer_email": "bob@example.com",
            "lines": [{"sku": "SKU-001", "quantity": 1}, {"sku": "SKU-003", "quantity": 10}]}).id
    client.patch("/api/products/SKU-003", json={"stock": 9})
    with app.app_context():
        ordering.process_order(order_id)
    order = client.get(f"/api/orders/{order_id}").json
    assert order["status"] == "failed"
    assert "SKU-003: 10 ordered, 9 in stock" in order["status_reason"]
    assert stock(client, "SKU-001") == 10 and stock(client, "SKU-003") == 9


def test_processing_twice_changes_stock_once(app, client, shop):
    from webapp import ordering

    order_id = client.post("/api/orders", json={
        "customer_email": "bob@example.com", "lines": [{"sku": "SKU-006", "quantity": 4}]}).json["id"]
    with app.app_context():
        ordering.process_order(order_id)
    assert stock(client, "SKU-006") == 6


def test_api_order_validation(client, shop):
    cases = [
        ({"customer_email": "not-an-email", "lines": [{"sku": "SKU-001", "quantity": 1}]},
         "customer_email", "not an email"),
        ({"customer_email": "zed@example.com", "lines": [{"sku": "SKU-001", "quantity": 1}]},
         "customer_email", "no customer"),
        ({"customer_email": "ann@example.com", "lines": []}, "lines", "at least one"),
        ({"customer_email": "ann@example.com", "lines": [{"sku": "X", "quantity": 1}]},
         "lines[0].sku", "unknown sku"),
        ({"customer_email": "ann@example.com", "lines": [{"sku": "SKU-001", "quantity": -2}]},
         "lines[0].quantity", "whole number"),
        ({"customer_email": "ann@example.com", "lines": [{"sku": "SKU-001", "quantity": 1.5}]},
         "lines[0].quantity", "whole number"),
        ({"customer_email": "ann@example.com", "lines": ["SKU-001"]}, "lines[0]", "object"),
    ]
    for body, field, reason in cases:
        response = client.post("/api/orders", json=body)
        assert response.status_code == 400, body
        assert reason in response.json["fields"][field], body
    assert client.post("/api/orders", data="[1,2]",
                       content_type="application/json").status_code == 400
    assert client.get("/api/stats").json["orders"] == 0


def test_order_form(owner_browser, shop):
    token = csrf_from(owner_browser, "/orders/new")
    response = owner_browser.post("/orders/new", data={
        "csrf_token": token, "customer_email": "cy@example.com", "sku0": "SKU-010", "qty0": "3"})
    assert response.status_code == 302
    receipt = response.headers["Location"]
    assert re.fullmatch(r"/orders/\d+/receipt", receipt)
    page = owner_browser.get(receipt).get_data(as_text=True)
    assert re.search(r"Order W\d{6}-[0-9A-F]{8} recorded", page) and "34.50" in page
    page = owner_browser.get(receipt.removesuffix("/receipt")).get_data(as_text=True)
    assert "processed" in page and "34.50" in page  # 3 x 11.50
    assert "Recorded order" in owner_browser.get("/").get_data(as_text=True)
    bad = owner_browser.post("/orders/new", data={"csrf_token": token, "customer_email": "cy@example.com",
                                                  "sku0": "SKU-010", "qty0": "lots"})
    assert bad.status_code == 400 and "whole number" in bad.get_data(as_text=True)
    listing = owner_browser.get("/orders/").get_data(as_text=True)
    assert listing.count("status-processed") == 1
