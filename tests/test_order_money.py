"""Orders carry their figures: recorded over real HTTP (Waitress), every stored figure
checked against the test's own Decimal arithmetic (test_tax.expected) from the rows it
created. Walk-in sales, payment methods, line and order discounts, both tax modes,
snapshots, archived products, closed days, cancelling."""
import json
from datetime import timedelta

import pytest

from conftest import csrf_from, http_session
from test_tax import expected
from webapp.extensions import db

# sku: (price cents, tax rate in percent or None for the shop's default, cost cents)
PRODUCTS = {
    "TEA": (199, "5.5", 80),
    "SOAP": (1000, "7.7", 400),
    "WINE": (450, None, None),   # the shop's default rate (20 %), no known cost
    "JAM": (333, "7.7", 150),
}
DEFAULT_RATE = "20"


def set_setting(app, name, value):
    from webapp.models import Setting

    with app.app_context():
        db.session.merge(Setting(key=name, value=json.dumps(value)))
        db.session.commit()


@pytest.fixture
def money_shop(app):
    from webapp import catalog
    from webapp.models import Product

    with app.app_context():
        for sku, (price, _, _) in PRODUCTS.items():
            catalog.create_product({"sku": sku, "name": sku.title(), "category": "Shop",
                                    "price": f"{price / 100:.2f}", "stock": "100"})
        catalog.create_product({"sku": "OLD", "name": "Old", "category": "Shop",
                                "price": "1.00", "stock": "5"})
        for sku, (_, rate, cost) in PRODUCTS.items():
            product = db.session.execute(db.select(Product).filter_by(sku=sku)).scalar_one()
            product.tax_rate_bp = None if rate is None else int(float(rate) * 100 + 0.5)
            product.cost_cents = cost
        db.session.execute(db.update(Product).where(Product.sku == "OLD").values(archived=True))
        catalog.create_customer({"email": "ann@example.com", "name": "Ann", "country": "France"})
        db.session.commit()
    return app


def rate_of(sku):
    return PRODUCTS[sku][1] or DEFAULT_RATE


def expect(lines, include, percent=None, amount=None):
    """lines: [(sku, quantity, line discount cents)] -> test_tax.expected's figures."""
    return expected([(q, PRODUCTS[sku][0], rate_of(sku), d) for sku, q, d in lines],
                    include, percent, amount)


def to_cents(text):
    whole, _, part = text.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole)) * 100 + int(part))


def stored(app, order_id):
    from webapp.models import Order

    with app.app_context():
        o = db.session.get(Order, order_id)
        return {"gross": o.gross_cents, "discount": o.discount_cents, "total": o.total_cents,
                "tax": o.tax_cents, "customer_id": o.customer_id, "status": o.status,
                "payment_method": o.payment_method, "currency": o.currency,
                "prices_include_tax": o.prices_include_tax,
                "percent": o.discount_percent_bp, "amount": o.discount_amount_cents,
                "lines": [(l.product.sku, l.quantity, l.unit_price_cents, l.tax_rate_bp,
                           l.unit_cost_cents, l.discount_cents, l.net_cents, l.tax_cents)
                          for l in o.lines]}


def check_order(app, body, lines, include, percent=None, amount=None):
    """The stored order and its API body against the test's own figures."""
    gross, discount, total, tax, per_line, _ = expect(lines, include, percent, amount)
    row = stored(app, body["id"])
    assert (row["gross"], row["discount"], row["total"], row["tax"]) == (gross, discount,
                                                                         total, tax)
    assert [(sku, q, price, rate, cost, d, net, t) for sku, q, price, rate, cost, d, net, t
            in row["lines"]] == [
        (sku, q, PRODUCTS[sku][0], round(float(rate_of(sku)) * 100), PRODUCTS[sku][2], d,
         net, t) for (sku, q, d), (net, t) in zip(lines, per_line)]
    assert sum(l[6] + l[7] for l in row["lines"]) == total  # lines add up to the order
    assert (to_cents(body["gross"]), to_cents(body["discount"]), to_cents(body["total"]),
            to_cents(body["tax"])) == (gross, discount, total, tax)
    assert [(l["sku"], l["quantity"], to_cents(l["discount"]), to_cents(l["net"]),
             to_cents(l["tax"])) for l in body["lines"]] == [
        (sku, q, d, net, t) for (sku, q, d), (net, t) in zip(lines, per_line)]
    assert [l["tax_rate"] for l in body["lines"]] == [rate_of(sku) for sku, _, _ in lines]
    return row


def test_walk_in_sale_with_percent_discount_over_http(money_shop):
    lines = [("TEA", 3, 0), ("SOAP", 1, 0), ("WINE", 2, 0), ("JAM", 7, 50)]
    with http_session(money_shop) as http:
        response = http.post(f"{http.base}/api/orders", timeout=10, json={
            "lines": [{"sku": s, "quantity": q, "discount": f"{d / 100:.2f}" if d else None}
                      for s, q, d in lines],
            "discount": "12.5%", "payment_method": "card"})
        assert response.status_code == 201, response.text
        body = http.get(f"{http.base}/api/orders/{response.json()['id']}", timeout=10).json()
    row = check_order(money_shop, body, lines, True, percent="12.5")
    assert body["customer_email"] is None and row["customer_id"] is None
    assert body["status"] == "processed" and body["payment_method"] == "card"
    assert body["order_discount"] == "12.5%" and row["percent"] == 1250
    assert row["currency"] == "EUR" and row["prices_include_tax"] is True
    assert body["refunds"] == []


def test_prices_without_tax_and_amount_discount_over_http(money_shop):
    set_setting(money_shop, "prices_include_tax", False)
    set_setting(money_shop, "payment_methods", ["cash", "card", "voucher"])
    lines = [("SOAP", 2, 100), ("TEA", 5, 0), ("JAM", 1, 0)]
    with http_session(money_shop) as http:
        response = http.post(f"{http.base}/api/orders", timeout=10, json={
            "customer_email": "Ann@Example.com", "payment_method": "voucher",
            "discount": "1.90",
            "lines": [{"sku": s, "quantity": q, "discount": f"{d / 100:.2f}"} for s, q, d in lines]})
        assert response.status_code == 201, response.text
        body = response.json()
    row = check_order(money_shop, body, lines, False, amount=190)
    assert body["customer_email"] == "ann@example.com" and row["payment_method"] == "voucher"
    assert row["amount"] == 190 and body["order_discount"] == "1.90"
    assert row["prices_include_tax"] is False
    # without tax in the prices, the customer pays more than the prices add up to
    assert row["total"] > sum(PRODUCTS[s][0] * q - d for s, q, d in lines) - 190


def test_half_cent_tax_rounds_up(money_shop):
    set_setting(money_shop, "prices_include_tax", False)
    # 7.7 % on 5.00 is 38.5 cents: 39 (banker's rounding would say 38)
    with money_shop.test_client() as client:
        client.environ_base["HTTP_AUTHORIZATION"] = "Bearer test-launch-token"
        body = client.post("/api/orders", json={
            "lines": [{"sku": "SOAP", "quantity": 1, "discount": "5.00"}]}).json
    assert (body["tax"], body["total"], body["lines"][0]["net"]) == ("0.39", "5.39", "5.00")
    assert body["payment_method"] == "cash"  # the first of the shop's methods


def test_line_keeps_what_was_true_at_the_sale(money_shop, client):
    from webapp.models import Product

    body = client.post("/api/orders", json={"lines": [{"sku": "TEA", "quantity": 2}]}).json
    before = stored(money_shop, body["id"])
    with money_shop.app_context():
        tea = db.session.execute(db.select(Product).filter_by(sku="TEA")).scalar_one()
        tea.price_cents, tea.tax_rate_bp, tea.cost_cents = 999, 2000, 1
        db.session.commit()
    set_setting(money_shop, "prices_include_tax", False)
    assert stored(money_shop, body["id"]) == before
    assert before["lines"][0][2:5] == (199, 550, 80)


@pytest.mark.parametrize("body, field, reason", [
    ({"lines": [{"sku": "OLD", "quantity": 1}]}, "lines[0].sku", "archived"),
    ({"lines": [{"sku": "TEA", "quantity": 1}], "payment_method": "bitcoin"},
     "payment_method", "one of: cash, card"),
    ({"lines": [{"sku": "TEA", "quantity": 1}], "discount": "150%"}, "discount", "0 to 100"),
    ({"lines": [{"sku": "TEA", "quantity": 1}], "discount": "lots"}, "discount", "not a number"),
    ({"lines": [{"sku": "TEA", "quantity": 1}], "discount": "2.00"}, "discount",
     "more than the order"),
    ({"lines": [{"sku": "TEA", "quantity": 1}], "discount": "-1"}, "discount", "negative"),
    ({"lines": [{"sku": "TEA", "quantity": 2, "discount": "3.99"}]}, "lines[0].discount",
     "more than the line"),
    ({"lines": [{"sku": "TEA", "quantity": 1, "discount": "0.001"}]}, "lines[0].discount",
     "two decimals"),
    ({"lines": [{"sku": "TEA", "quantity": 1}], "tip": "1"}, "fields", "unknown: tip"),
    ({"customer_email": "zed@example.com", "lines": [{"sku": "TEA", "quantity": 1}]},
     "customer_email", "no customer"),
])
def test_bad_orders_are_refused_with_the_reason(money_shop, client, body, field, reason):
    response = client.post("/api/orders", json=body)
    assert response.status_code == 400
    assert reason in response.json["fields"][field]
    assert client.get("/api/stats").json["orders"] == 0


def test_an_order_today_is_refused_once_today_is_closed(money_shop, client):
    from webapp import settings
    from webapp.models import ZReport, now

    with money_shop.app_context():
        day = settings.today_business_day()
        since, until = settings.business_day_span(day)
        db.session.add(ZReport(number=1, business_day=day, since=since, until=until,
                               json_body="{}", sha256="0" * 64))
        db.session.commit()
    response = client.post("/api/orders", json={"lines": [{"sku": "TEA", "quantity": 1}]})
    assert response.status_code == 400
    assert "is closed" in response.json["fields"]["created_at"]
    assert client.get("/api/stats").json["orders"] == 0
    assert now() - since < timedelta(days=1)


def test_the_order_form_takes_the_same_fields(money_shop, owner_browser):
    token = csrf_from(owner_browser, "/orders/new")
    page = owner_browser.get("/orders/new").get_data(as_text=True)
    assert "OLD" not in page  # archived: not offered
    response = owner_browser.post("/orders/new", data={
        "csrf_token": token, "customer_email": "", "sku0": "TEA", "qty0": "3",
        "sku1": "JAM", "qty1": "2", "disc1": "0.50", "discount": "10%",
        "payment_method": "card"})
    assert response.status_code == 302, response.get_data(as_text=True)
    order_id = int(response.headers["Location"].split("/")[2])  # /orders/<id>/receipt
    lines = [("TEA", 3, 0), ("JAM", 2, 50)]
    gross, discount, total, tax, _, _ = expect(lines, True, percent="10")
    row = stored(money_shop, order_id)
    assert (row["gross"], row["discount"], row["total"], row["tax"]) == (gross, discount,
                                                                         total, tax)
    assert row["customer_id"] is None and row["payment_method"] == "card"
    detail = owner_browser.get(f"/orders/{order_id}").get_data(as_text=True)
    assert "Walk-in sale" in detail and "paid by card" in detail
    bad = owner_browser.post("/orders/new", data={
        "csrf_token": token, "sku0": "TEA", "qty0": "1", "discount": "ten%"})
    assert bad.status_code == 400 and "discount" in bad.get_data(as_text=True)


def test_pending_and_failed_orders_are_cancelled_not_sold(money_shop, client):
    from webapp import ordering
    from webapp.models import Product

    with money_shop.app_context():
        pending = ordering.create_order({"lines": [{"sku": "TEA", "quantity": 4}]}).id
    assert client.post(f"/api/orders/{pending}/cancel", json={"reason": "changed mind"}
                       ).json["status"] == "cancelled"
    with money_shop.app_context():
        assert ordering.process_order(pending).status == "cancelled"  # left alone
        stock = db.session.execute(db.select(Product.stock).filter_by(sku="TEA")).scalar()
    assert stock == 100
    again = client.post(f"/api/orders/{pending}/cancel")
    assert again.status_code == 400 and "already cancelled" in again.json["fields"]["status"]
    # Failed in processing: its stock went after it was recorded (refused before that).
    with money_shop.app_context():
        failed = {"id": ordering.create_order({"lines": [{"sku": "TEA", "quantity": 100}]}).id}
    assert client.patch("/api/products/TEA", json={"stock": 99}).status_code == 200
    with money_shop.app_context():
        ordering.process_order(failed["id"])
    assert client.get(f"/api/orders/{failed['id']}").json["status"] == "failed"
    assert client.post(f"/api/orders/{failed['id']}/cancel").json["status"] == "cancelled"
    sold = client.post("/api/orders", json={"lines": [{"sku": "TEA", "quantity": 1}]}).json
    refused = client.post(f"/api/orders/{sold['id']}/cancel")
    assert refused.status_code == 400 and "refunded" in refused.json["fields"]["status"]
    assert client.post("/api/orders/999999/cancel").status_code == 404
    assert client.get("/api/stats").json["orders"] == 1  # cancelled orders are not sales


def test_walk_in_sale_gets_an_invoice_and_no_email(money_shop, client, data_dir):
    import pypdf

    from webapp.models import Job

    set_setting(money_shop, "shop_name", "Corner Shop")
    set_setting(money_shop, "shop_tax_number", "FR-123")
    lines = [("TEA", 3, 50), ("SOAP", 1, 0), ("WINE", 2, 0)]
    body = client.post("/api/orders", json={
        "lines": [{"sku": s, "quantity": q, "discount": f"{d / 100:.2f}"} for s, q, d in lines],
        "discount": "10%"}).json
    assert client.get(f"/api/orders/{body['id']}").json["status"] == "processed"
    gross, discount, total, _, _, rates = expect(lines, True, percent="10")
    text = pypdf.PdfReader(data_dir / "invoices" / f"{body['ref']}.pdf").pages[0].extract_text()

    def euros(cents):
        return f"€{cents / 100:,.2f}"

    for words in ("Corner Shop", "Tax number FR-123", "Walk-in sale", "Paid by cash",
                  f"Before discounts\n{euros(gross)}",
                  f"Discounts (10 % off the order)\n-{euros(discount)}",
                  f"Total\n{euros(total)}"):
        assert words in text, words
    for rate, (net, tax) in rates.items():
        assert f"Tax {rate:g} % on {euros(net)}\n{euros(tax)}" in text
    with money_shop.app_context():  # no one to write to
        assert db.session.execute(db.select(Job).filter_by(kind="email")).first() is None


def test_csv_orders_carry_tax_payment_method_and_walk_ins(money_shop):
    from webapp.csv_export import export_csv
    from larder_files import ImportFailed, import_csv
    from webapp.models import Order

    set_setting(money_shop, "prices_include_tax", False)
    text = ("order_ref,created_at,customer_email,sku,quantity,unit_price,payment_method\n"
            "H1,2024-03-01T10:00:00,,TEA,3,,cash\n"
            "H1,2024-03-01T10:00:00,,SOAP,1,,cash\n"
            "H2,2024-03-02T11:00:00,ann@example.com,JAM,2,3.00,card\n")
    with money_shop.app_context():
        assert import_csv("orders", text.encode()).created == 2
        ids = dict(db.session.execute(db.select(Order.ref, Order.id)).all())
    for ref, lines in (("H1", [("TEA", 3, 0), ("SOAP", 1, 0)]), ("H2", None)):
        row = stored(money_shop, ids[ref])
        if lines is None:  # H2 at its own price of 3.00, 7.7 % on top
            gross, discount, total, tax, per_line, _ = expected([(2, 300, "7.7", 0)], False)
        else:
            gross, discount, total, tax, per_line, _ = expect(lines, False)
        assert (row["gross"], row["discount"], row["total"], row["tax"]) == (
            gross, discount, total, tax)
        assert [(l[6], l[7]) for l in row["lines"]] == per_line
        assert row["status"] == "imported" and row["prices_include_tax"] is False
    assert stored(money_shop, ids["H1"])["customer_id"] is None
    assert stored(money_shop, ids["H1"])["payment_method"] == "cash"
    assert [l[3:5] for l in stored(money_shop, ids["H1"])["lines"]] == [(550, 80), (770, 400)]
    with money_shop.app_context():
        exported = export_csv("orders")
        assert exported.splitlines()[1] == "H1,2024-03-01T10:00:00,,TEA,3,1.99,cash,5.5,,"
        assert import_csv("orders", exported.encode()).unchanged == 2  # round trip
        with pytest.raises(ImportFailed) as bad:
            import_csv("orders", ("order_ref,created_at,customer_email,sku,quantity,"
                                  "payment_method\n"
                                  "H3,2024-03-03,,TEA,1,bitcoin\n"
                                  "H4,2024-03-03,,TEA,1,cash\n"
                                  "H4,2024-03-03,ann@example.com,TEA,1,card\n").encode())
    assert bad.value.errors == [
        "line 2: payment_method: unknown payment method 'bitcoin' (the shop's: cash, card; "
        "add it in Settings)",
        "line 4: customer_email: differs from line 3 of order 'H4'",
        "line 4: payment_method: differs from line 3 of order 'H4'",
    ]


def test_csv_orders_refused_in_a_closed_day_or_once_refunded(money_shop, client):
    from datetime import date, datetime

    from larder_files import ImportFailed, import_csv
    from webapp.models import Order, ZReport

    with money_shop.app_context():
        import_csv("orders", b"order_ref,created_at,customer_email,sku,quantity\n"
                             b"H1,2024-03-01T10:00:00,,TEA,3\n")
        db.session.add(ZReport(number=1, business_day=date(2024, 3, 2),
                               since=datetime(2024, 3, 2), until=datetime(2024, 3, 3),
                               json_body="{}", sha256="0" * 64))
        db.session.commit()
        order_id = db.session.execute(db.select(Order.id).filter_by(ref="H1")).scalar()
        with pytest.raises(ImportFailed) as closed:
            import_csv("orders", b"order_ref,created_at,customer_email,sku,quantity\n"
                                 b"H2,2024-03-02T23:59:59,,TEA,1\n")
    assert closed.value.errors == ["line 2: date: the business day 2024-03-02 is closed "
                                   "(Z-report done); nothing can be added to it"]
    assert client.post(f"/api/orders/{order_id}/refunds", json={"reason": "x"}).status_code == 201
    with money_shop.app_context():
        with pytest.raises(ImportFailed) as refunded:
            import_csv("orders", b"order_ref,created_at,customer_email,sku,quantity\n"
                                 b"H1,2024-03-01T10:00:00,,TEA,2\n")
    assert refunded.value.errors == ["line 2: order: order H1 is already in Larder with other "
                                     "figures and has refunds; an import cannot change it"]
    assert stored(money_shop, order_id)["lines"][0][1] == 3


def close_today(app):
    """A Z-report for today's business day, as the Close the day button makes it."""
    from webapp import day_close, settings

    with app.app_context():
        day = settings.today_business_day()
        day_close.close_day(day, None)
        return day, settings.business_day_span(day)


def test_a_sale_after_the_day_is_closed_goes_to_the_next_day_when_confirmed(money_shop,
                                                                             client):
    """Today closed: refused, unless the owner confirms; then it is dated at the start of
    the next business day, and today's Z-report stays byte for byte as it was."""
    from webapp.models import Order, ZReport

    day, (since, until) = close_today(money_shop)
    with money_shop.app_context():
        z_before = db.session.execute(db.select(ZReport.sha256, ZReport.json_body)).one()
    sale = {"lines": [{"sku": "TEA", "quantity": 1}]}
    refused = client.post("/api/orders", json=sale)
    assert refused.status_code == 400 and "is closed" in refused.json["fields"]["created_at"]
    moved = client.post("/api/orders", json={**sale, "into_open_day": True})
    assert moved.status_code == 201, moved.json
    with money_shop.app_context():
        order = db.session.get(Order, moved.json["id"])
        assert order.created_at == until  # the first moment of the next business day
        assert db.session.execute(db.select(ZReport.sha256, ZReport.json_body)).one() == \
            z_before
        assert db.session.query(Order).count() == 1


def test_the_order_form_offers_the_next_day_when_today_is_closed(money_shop, owner_browser):
    from webapp.models import Order

    day, (since, until) = close_today(money_shop)
    token = csrf_from(owner_browser, "/orders/new")
    fields = {"csrf_token": token, "sku0": "TEA", "qty0": "1", "payment_method": "cash"}
    page = owner_browser.post("/orders/new", data=fields)
    assert page.status_code == 400
    assert 'name="into_open_day"' in page.get_data(as_text=True)
    token = csrf_from(owner_browser, "/orders/new")
    done = owner_browser.post("/orders/new", data={**fields, "csrf_token": token,
                                                   "into_open_day": "1"})
    assert done.status_code == 302, done.get_data(as_text=True)
    with money_shop.app_context():
        assert [o.created_at for o in db.session.query(Order)] == [until]
