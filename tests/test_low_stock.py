"""Low-stock alerts: one email in the outbox per crossing of `reorder_at` (not one per
order), re-armed when stock goes back above it; the daily digest instead, as a setting;
two orders crossing at once send one email."""
import io
import json
import threading
from email import policy
from email.parser import BytesParser
from pathlib import Path

from cache_servers import postgres_server  # noqa: F401  (fixture)
from conftest import TOKEN, csrf_from
from test_postgres import pg_app  # noqa: F401  (fixture)
from webapp import low_stock, ordering
from webapp.extensions import db
from webapp.models import Customer, Product, Setting


def alerts(app):
    """The low-stock emails in the outbox: [(subject, body)], oldest first."""
    outbox = Path(app.config["DATA_DIR"], "outbox")
    found = []
    for path in sorted(outbox.glob("low-stock-*.eml"), key=lambda p: p.name):
        msg = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        found.append((msg["Subject"], msg.get_content()))
    return found


def order(client, sku, quantity):
    response = client.post("/api/orders", json={"customer_email": "ann@example.com",
                                                "lines": [{"sku": sku, "quantity": quantity}]})
    assert response.status_code == 201, response.json
    # Processed by the (eager) task: the order's stock change is committed.
    assert client.get(f"/api/orders/{response.json['id']}").json["status"] == "processed"


def flag(app, sku):
    with app.app_context():
        return db.session.execute(db.select(Product.low_stock_alerted)
                                  .filter_by(sku=sku)).scalar_one()


def test_one_email_per_crossing_rearmed_above(client, shop):
    assert client.patch("/api/products/SKU-001", json={"reorder_at": 3}).status_code == 200
    assert alerts(shop) == []  # 10 in stock: above the level

    order(client, "SKU-001", 6)  # 10 -> 4: still above
    assert alerts(shop) == []
    order(client, "SKU-001", 1)  # 4 -> 3: at the level: the crossing
    assert len(alerts(shop)) == 1
    subject, body = alerts(shop)[0]
    assert subject == "Low stock: Product 001 (SKU-001)"
    assert "3 in stock, reorder at 3" in body
    assert flag(shop, "SKU-001") is True

    order(client, "SKU-001", 1)  # 3 -> 2: still low, no second email
    order(client, "SKU-001", 2)  # 2 -> 0
    assert len(alerts(shop)) == 1

    # Restocked above the level: re-armed; the next crossing emails again.
    assert client.patch("/api/products/SKU-001", json={"stock": 5}).status_code == 200
    assert flag(shop, "SKU-001") is False
    assert len(alerts(shop)) == 1
    order(client, "SKU-001", 2)  # 5 -> 3
    assert len(alerts(shop)) == 2
    assert "3 in stock" in alerts(shop)[1][1]


def test_restock_to_exactly_the_level_is_not_a_new_crossing(client, shop):
    client.patch("/api/products/SKU-002", json={"reorder_at": 5})
    order(client, "SKU-002", 6)  # 10 -> 4
    assert len(alerts(shop)) == 1
    client.patch("/api/products/SKU-002", json={"stock": 5})  # at the level: still low
    assert flag(shop, "SKU-002") is True
    order(client, "SKU-002", 1)
    assert len(alerts(shop)) == 1


def test_edit_form_that_sets_a_level_above_stock_alerts_once(owner_browser, shop):
    token = csrf_from(owner_browser, "/products/SKU-003/edit")
    form = {"csrf_token": token, "sku": "SKU-003", "name": "Product 003",
            "category": "Bakery", "price": "4.50", "stock": "10", "cost": "",
            "tax_rate": "", "reorder_at": "12"}
    assert owner_browser.post("/products/SKU-003/edit", data=form).status_code == 302
    assert [subject for subject, _ in alerts(shop)] == ["Low stock: Product 003 (SKU-003)"]
    # The same form again (nothing changed) and another edit while low: no new email.
    assert owner_browser.post("/products/SKU-003/edit", data=form).status_code == 302
    owner_browser.post("/products/SKU-003/edit", data={**form, "price": "4.60"})
    assert len(alerts(shop)) == 1
    # No level any more: re-armed, and nothing is sent.
    owner_browser.post("/products/SKU-003/edit", data={**form, "reorder_at": ""})
    assert flag(shop, "SKU-003") is False and len(alerts(shop)) == 1


def test_a_products_file_import_alerts_each_product_crossing_once(owner_browser, shop):
    token = csrf_from(owner_browser, "/import/")
    text = ("sku,name,category,price,stock,reorder_at\n"
            "SKU-004,Product 004,Produce,5.50,2,5\n"      # existing, now low
            "NEW-1,Fresh,Produce,1.00,0,1\n"              # new, low at once
            "NEW-2,Plenty,Produce,1.00,50,1\n")           # new, not low

    def upload():
        """The Import page's preview, then "Import these" (jobs run in-process here)."""
        preview = owner_browser.post("/import/", data={
            "csrf_token": token, "kind": "products",
            "file": (io.BytesIO(text.encode()), "p.csv")}, content_type="multipart/form-data")
        done = owner_browser.post(preview.headers["Location"] + "/confirm",
                                  data={"csrf_token": token})
        return owner_browser.get(done.headers["Location"]).get_data(as_text=True)

    assert "Imported." in upload()
    assert sorted(s for s, _ in alerts(shop)) == ["Low stock: Fresh (NEW-1)",
                                                  "Low stock: Product 004 (SKU-004)"]
    assert "Imported." in upload()  # the same file again: unchanged, no new email
    assert len(alerts(shop)) == 2


def test_archived_products_do_not_alert(client, shop):
    order(client, "SKU-005", 1)  # in an order: deleting archives it
    assert client.delete("/api/products/SKU-005").json["outcome"] == "archived"
    client.patch("/api/products/SKU-005", json={"reorder_at": 20})
    assert alerts(shop) == []
    client.post("/api/products/SKU-005/restore")  # back on sale, and low
    assert [s for s, _ in alerts(shop)] == ["Low stock: Product 005 (SKU-005)"]


def set_setting(app, key, value):
    with app.app_context():
        db.session.merge(Setting(key=key, value=json.dumps(value)))
        db.session.commit()


def test_digest_mode_sends_one_daily_email_instead(client, shop):
    set_setting(shop, "low_stock_digest", True)
    client.patch("/api/products/SKU-006", json={"reorder_at": 9})
    client.patch("/api/products/SKU-007", json={"reorder_at": 3})
    order(client, "SKU-006", 2)  # 10 -> 8: low
    order(client, "SKU-007", 1)  # 10 -> 9: not low
    client.patch("/api/products/SKU-008", json={"reorder_at": 10})  # 10: low
    assert alerts(shop) == []  # no email per crossing

    response = client.post("/schedules/daily-low-stock/run")  # the beat job, run now
    assert response.status_code == 302
    sent = alerts(shop)
    assert len(sent) == 1
    subject, body = sent[0]
    assert subject.startswith("Low stock: 2 products (")
    assert "Product 006 (SKU-006): 8 in stock, reorder at 9" in body
    assert "Product 008 (SKU-008): 10 in stock, reorder at 10" in body
    assert "SKU-007" not in body
    client.post("/schedules/daily-low-stock/run")  # run twice the same day: one email
    assert len(alerts(shop)) == 1


def test_digest_job_sends_nothing_without_the_setting(client, shop):
    client.patch("/api/products/SKU-009", json={"reorder_at": 10})
    assert len(alerts(shop)) == 1  # the crossing's own email
    client.post("/schedules/daily-low-stock/run")
    assert len(alerts(shop)) == 1


def test_two_orders_crossing_at_once_send_one_email(client, shop):
    crossing_race(shop, client, "SKU-010", "ann@example.com")


def test_two_orders_crossing_at_once_on_postgresql(pg_app):
    client = pg_app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {TOKEN}"
    with pg_app.app_context():
        sku = db.session.execute(db.select(Product.sku).order_by(Product.id)).scalars().first()
        email = db.session.execute(db.select(Customer.email)).scalars().first()
    crossing_race(pg_app, client, sku, email)


def crossing_race(app, client, sku, email, rounds=8):
    """Each round: two pending orders of a product, processed at the same moment by two
    threads (each its own session and connection); whichever crosses, one email."""
    assert client.patch(f"/api/products/{sku}", json={"reorder_at": 5}).status_code == 200
    with app.app_context():
        pid = db.session.execute(db.select(Product.id).filter_by(sku=sku)).scalar_one()
    before = len(alerts(app))
    for round_number in range(rounds):
        client.patch(f"/api/products/{sku}", json={"stock": 7})  # above: re-armed
        assert flag(app, sku) is False
        with app.app_context():
            ids = [ordering.create_order({"customer_email": email,
                                          "lines": [{"sku": sku, "quantity": 1}]}).id
                   for _ in range(2)]
        barrier = threading.Barrier(2)
        failures = []

        def process(order_id):
            try:
                with app.app_context():
                    order = ordering.process_order(order_id)  # 7 -> 6 -> 5: one crosses
                    assert order.status == "processed"
                    barrier.wait(timeout=30)
                    # Both processes finish their orders and check at the same moment.
                    low_stock.after_stock_change([pid])
                    db.session.remove()
            except Exception as exc:  # reported below, in the test's thread
                failures.append(exc)

        threads = [threading.Thread(target=process, args=(i,)) for i in ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert failures == []
        assert len(alerts(app)) == before + round_number + 1


def test_alert_over_real_http(shop):
    """Through Waitress: an order that crosses the level, by the JSON API."""
    from conftest import http_session

    with http_session(shop) as http:
        assert http.patch(http.base + "/api/products/SKU-011",
                          json={"reorder_at": 9}).status_code == 200
        response = http.post(http.base + "/api/orders", json={
            "customer_email": "bob@example.com", "lines": [{"sku": "SKU-011", "quantity": 1}]})
        assert response.status_code == 201
        assert http.get(http.base + "/api/products/SKU-011").json()["stock"] == 9
    assert [s for s, _ in alerts(shop)] == ["Low stock: Product 011 (SKU-011)"]
