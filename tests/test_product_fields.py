"""Products' cost, tax rate and reorder level (forms, pages, API, CSV) and archiving: a
product that is in orders is archived rather than deleted, and can be restored."""
import html

from conftest import csrf_from
from larder_files import import_csv
from webapp import csv_export
from webapp.extensions import db
from webapp.models import OrderLine, Product


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return html.unescape(response.get_data(as_text=True))


def test_new_product_with_cost_tax_rate_and_reorder_level(owner_browser, client, shop):
    token = csrf_from(owner_browser, "/products/new")
    form = page(owner_browser, "/products/new")
    for name in ("cost", "tax_rate", "reorder_at"):
        assert f'name="{name}"' in form
    response = owner_browser.post("/products/new", data={
        "csrf_token": token, "sku": "TEA-1", "name": "Green tea", "category": "Drinks",
        "price": "4.20", "stock": "12", "cost": "1234.5", "tax_rate": "5.5",
        "reorder_at": "4"})
    assert response.status_code == 302
    detail = page(client, "/products/TEA-1")
    assert "€1,234.50" in detail  # money in the shop's currency and locale
    assert "5.5 %" in detail and "<dd>4</dd>" in detail
    assert client.get("/api/products/TEA-1").json == {
        **client.get("/api/products/TEA-1").json,
        "price": "4.20", "cost": "1234.50", "tax_rate": "5.5", "reorder_at": 4,
        "archived": False}
    edit = page(owner_browser, "/products/TEA-1/edit")
    assert 'name="cost" value="1234.50"' in edit
    assert 'name="tax_rate" value="5.5"' in edit and 'name="reorder_at" value="4"' in edit


def test_unknown_cost_and_default_rate_are_shown_as_such(client, shop):
    detail = page(client, "/products/SKU-001")
    assert "not known" in detail and "the shop's default" in detail
    assert "no low-stock alert" in detail
    body = client.get("/api/products/SKU-001").json
    assert body["cost"] is None and body["tax_rate"] is None and body["reorder_at"] is None


def test_patch_sets_and_clears_the_optional_fields(client, shop):
    response = client.patch("/api/products/SKU-002",
                            json={"cost": 0.99, "tax_rate": 7.7, "reorder_at": 2})
    assert response.status_code == 200
    assert (response.json["cost"], response.json["tax_rate"],
            response.json["reorder_at"]) == ("0.99", "7.7", 2)
    with shop.app_context():
        product = db.session.execute(db.select(Product).filter_by(sku="SKU-002")).scalar_one()
        assert (product.cost_cents, product.tax_rate_bp, product.reorder_at) == (99, 770, 2)
    # Only the given field changes; null / "" clears an optional one.
    response = client.patch("/api/products/SKU-002", json={"cost": None, "tax_rate": ""})
    assert response.status_code == 200
    assert (response.json["cost"], response.json["tax_rate"],
            response.json["reorder_at"], response.json["price"]) == (None, None, 2, "3.50")


def test_patch_refuses_a_bad_value_and_changes_nothing(client, shop):
    response = client.patch("/api/products/SKU-002", json={"tax_rate": "120", "stock": 3})
    assert response.status_code == 400
    assert response.json["fields"] == {"tax_rate": "a percent from 0 to 100, like 20 or 5.5"}
    assert client.get("/api/products/SKU-002").json["stock"] == 10


def test_csv_round_trip_keeps_the_new_columns(app, shop):
    with app.app_context():
        import_csv("products", (
            "sku,name,category,price,stock,cost,tax_rate,reorder_at\n"
            "SKU-001,Product 001,Bakery,1.50,10,0.75,5.5,3\n"
            "SKU-002,Product 002,Dairy,2.50,10,,,\n").encode())
        exported = csv_export.export_csv("products")
        assert exported.splitlines()[0] == \
            "sku,name,category,price (EUR),stock,cost (EUR),tax_rate,reorder_at,barcode"
        assert "SKU-001,Product 001,Bakery,1.50,10,0.75,5.5,3," in exported.splitlines()
        assert "SKU-002,Product 002,Dairy,2.50,10,,,," in exported.splitlines()
        result = import_csv("products", exported.encode())
        assert (result.created, result.updated) == (0, 0)


def test_csv_without_the_optional_columns_keeps_stored_values(app, client, shop):
    client.patch("/api/products/SKU-003", json={"cost": "2.00", "tax_rate": "20",
                                                "reorder_at": 1})
    with app.app_context():
        import_csv("products", b"sku,name,category,price,stock\n"
                                          b"SKU-003,Product 003,Bakery,9.00,10\n")
    body = client.get("/api/products/SKU-003").json
    assert (body["price"], body["cost"], body["tax_rate"], body["reorder_at"]) == \
        ("9.00", "2.00", "20", 1)


def record_order(client, sku):
    response = client.post("/api/orders", json={"customer_email": "ann@example.com",
                                                "lines": [{"sku": sku, "quantity": 1}]})
    assert response.status_code == 201
    return response.json["id"]


def test_deleting_a_product_in_orders_archives_it(owner_browser, client, shop):
    order_id = record_order(client, "SKU-005")
    revenue = client.get("/api/stats").json["revenue"]
    confirm = page(owner_browser, "/products/SKU-005/delete")
    assert "<strong>archived</strong>, not deleted" in confirm and "Archive SKU-005" in confirm
    token = csrf_from(owner_browser, "/products/SKU-005/delete")
    response = owner_browser.post("/products/SKU-005/delete", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/products/?archived=1"

    # Gone from the lists and the order form ...
    assert "SKU-005" not in page(client, "/products/")
    assert "No products match" in page(client, "/products/?q=SKU-005")
    assert client.get("/api/products?q=SKU-005").json["products"] == []  # the order desk
    # ... kept in history, reports and the Archived view.
    assert "SKU-005" in page(client, "/products/?archived=1")
    assert "SKU-001" not in page(client, "/products/?archived=1")
    assert client.get(f"/api/orders/{order_id}").json["lines"][0]["sku"] == "SKU-005"
    assert client.get("/api/stats").json["revenue"] == revenue
    detail = page(client, "/products/SKU-005")
    assert "(archived)" in detail and "Restore" in detail
    assert client.get("/api/products/SKU-005").json["archived"] is True
    with shop.app_context():
        assert db.session.execute(db.select(db.func.count(OrderLine.id))).scalar() == 1

    # Its SKU is still taken: a new product says where the old one is.
    token = csrf_from(owner_browser, "/products/new")
    response = owner_browser.post("/products/new", data={
        "csrf_token": token, "sku": "SKU-005", "name": "X", "category": "X", "price": "1",
        "stock": "1"})
    assert response.status_code == 400
    assert "restore it from Archived products" in html.unescape(response.get_data(as_text=True))

    # Restored: back in the list and the order form.
    token = csrf_from(owner_browser, "/products/SKU-005/restore")
    response = owner_browser.post("/products/SKU-005/restore", data={"csrf_token": token})
    assert response.status_code == 302
    assert 'href="/products/SKU-005"' in page(client, "/products/?q=SKU-005")
    assert client.get("/api/products?q=SKU-005").json["exact"] == "SKU-005"
    assert "SKU-005" not in page(client, "/products/?archived=1")


def test_a_product_without_orders_is_still_deleted(owner_browser, client, shop):
    assert "archived</strong>" not in page(owner_browser, "/products/SKU-006/delete")
    token = csrf_from(owner_browser, "/products/SKU-006/delete")
    response = owner_browser.post("/products/SKU-006/delete", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/products/"
    assert client.get("/api/products/SKU-006").status_code == 404
    assert "SKU-006" not in page(client, "/products/?archived=1")


def test_api_delete_and_restore(client, shop):
    record_order(client, "SKU-007")
    assert client.delete("/api/products/SKU-007").json == {"sku": "SKU-007",
                                                            "outcome": "archived"}
    assert client.delete("/api/products/SKU-008").json == {"sku": "SKU-008",
                                                            "outcome": "deleted"}
    assert client.delete("/api/products/NOPE").status_code == 404
    assert client.post("/api/products/SKU-007/restore").json["archived"] is False
