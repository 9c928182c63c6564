"""Refunds: whole orders or chosen lines, in parts, over real HTTP and from the order
page. Each refund is checked against the test's own proportional share (Decimal,
ROUND_HALF_UP) of what was left of each line, computed from the rows the test created;
refunding everything in parts adds up to the order to the cent."""
from decimal import ROUND_HALF_UP, Decimal

import pytest

from conftest import csrf_from, http_session
import test_order_money
from test_order_money import stored, to_cents
from webapp.extensions import db

money_shop = test_order_money.money_shop  # the same shop fixture

LINES = [("TEA", 3, 0), ("JAM", 7, 50), ("WINE", 2, 0), ("SOAP", 1, 0)]


def share(left_cents, quantity, left_quantity):
    """The refunded quantity's share of what is left of a line, half-up to the cent."""
    return int((Decimal(left_cents) * quantity / left_quantity)
               .quantize(Decimal(1), rounding=ROUND_HALF_UP))


class Ledger:
    """What the test expects to be left of each order line: [quantity, net, tax]."""

    def __init__(self, row):
        self.left = {sku: [q, net, tax] for sku, q, _, _, _, _, net, tax in row["lines"]}

    def take(self, sku, quantity):
        q, net, tax = self.left[sku]
        out = (share(net, quantity, q), share(tax, quantity, q))
        self.left[sku] = [q - quantity, net - out[0], tax - out[1]]
        return out


def cost(sku, quantity):
    """The refunded quantity's cost as the API writes it (None: the cost is unknown)."""
    unit = test_order_money.PRODUCTS[sku][2]
    return None if unit is None else f"{unit * quantity // 100}.{unit * quantity % 100:02d}"


def stock_of(app, sku):
    from webapp.models import Product

    with app.app_context():
        return db.session.execute(db.select(Product.stock).filter_by(sku=sku)).scalar()


def make_order(client, lines=LINES, **extra):
    body = client.post("/api/orders", json={
        "lines": [{"sku": s, "quantity": q, "discount": f"{d / 100:.2f}"} for s, q, d in lines],
        **extra}).json
    assert client.get(f"/api/orders/{body['id']}").json["status"] == "processed"
    return client.get(f"/api/orders/{body['id']}").json


def test_refunds_in_parts_add_up_to_the_order_over_http(money_shop):
    with http_session(money_shop) as http:
        order = http.post(f"{http.base}/api/orders", timeout=10, json={
            "lines": [{"sku": s, "quantity": q, "discount": f"{d / 100:.2f}"}
                      for s, q, d in LINES], "discount": "12.5%", "payment_method": "card"}).json()
        row = stored(money_shop, order["id"])
        ledger = Ledger(row)
        line_id = {l["sku"]: l["line_id"] for l in order["lines"]}
        url = f"{http.base}/api/orders/{order['id']}/refunds"
        refunds = []
        for lines in ([("TEA", 1), ("JAM", 2)], [("JAM", 3), ("WINE", 1)], [("JAM", 1)]):
            response = http.post(url, timeout=10, json={
                "reason": "broken", "lines": [
                    {"sku": s, "quantity": q} if s != "JAM" else
                    {"line_id": line_id[s], "quantity": q} for s, q in lines]})
            assert response.status_code == 201, response.text
            refund = response.json()
            want = [(s, q, *ledger.take(s, q)) for s, q in lines]
            assert [(l["sku"], l["quantity"], to_cents(l["net"]), to_cents(l["tax"]))
                    for l in refund["lines"]] == want
            assert to_cents(refund["amount"]) == sum(n + t for _, _, n, t in want)
            assert [l["cost"] for l in refund["lines"]] == [cost(s, q) for s, q in lines]
            assert refund["payment_method"] == "card" and refund["restocked"] is False
            refunds.append(refund)
        # the rest: everything not yet refunded
        rest = http.post(url, timeout=10, json={"reason": "closing the tab"}).json()
        want = [(s, left[0], *ledger.take(s, left[0])) for s, left in ledger.left.items()
                if left[0]]
        assert [(l["sku"], l["quantity"], to_cents(l["net"]), to_cents(l["tax"]))
                for l in rest["lines"]] == want
        assert [l["cost"] for l in rest["lines"]] == [cost(s, q) for s, q, _, _ in want]
        refunds.append(rest)
        assert all(left == [0, 0, 0] for left in ledger.left.values())
        assert sum(to_cents(r["amount"]) for r in refunds) == row["total"]
        assert sum(to_cents(r["tax"]) for r in refunds) == row["tax"]
        after = http.get(f"{http.base}/api/orders/{order['id']}", timeout=10).json()
        more = http.post(url, timeout=10, json={"reason": "again"})
        assert more.status_code == 400
        assert "already refunded" in more.json()["fields"]["lines"]
    # the order itself is as it was; its refunds are listed with it
    assert stored(money_shop, order["id"]) == row
    assert [r["id"] for r in after["refunds"]] == [r["id"] for r in refunds]
    assert after["total"] == order["total"] and after["status"] == "processed"


def test_no_more_than_sold_minus_refunded(money_shop, client):
    order = make_order(client)
    url = f"/api/orders/{order['id']}/refunds"
    assert client.post(url, json={"reason": "x", "lines": [{"sku": "JAM", "quantity": 5}]}
                       ).status_code == 201
    refused = client.post(url, json={"reason": "x", "lines": [{"sku": "JAM", "quantity": 3}]})
    assert refused.status_code == 400
    assert refused.json["fields"]["lines[0].quantity"] == (
        "JAM: 7 sold, 5 already refunded, so at most 2 can be refunded")
    twice = client.post(url, json={"reason": "x", "lines": [{"sku": "TEA", "quantity": 2},
                                                            {"sku": "TEA", "quantity": 2}]})
    assert twice.status_code == 400 and "at most 3" in twice.json["fields"]["lines[1].quantity"]
    assert len(client.get(f"/api/orders/{order['id']}").json["refunds"]) == 1


@pytest.mark.parametrize("body, field, reason", [
    ({"lines": [{"sku": "TEA", "quantity": 1}]}, "reason", "is required"),
    ({"reason": "x", "lines": [{"sku": "BREAD", "quantity": 1}]}, "lines[0].sku", "no line of"),
    ({"reason": "x", "lines": [{"line_id": 999999, "quantity": 1}]}, "lines[0].line_id",
     "has no line 999999"),
    ({"reason": "x", "lines": [{"sku": "TEA", "quantity": 0}]}, "lines[0].quantity",
     "whole number"),
    ({"reason": "x", "lines": [{"quantity": 1}]}, "lines[0]", "line_id or the sku"),
    ({"reason": "x", "lines": []}, "lines", "at least one"),
    ({"reason": "x", "lines": ["TEA"]}, "lines[0]", "must be an object"),
    ({"reason": "x", "payment_method": "bitcoin"}, "payment_method", "one of"),
    ({"reason": "x", "restock": "maybe"}, "restock", "bool"),
])
def test_bad_refunds_are_refused_with_the_reason(money_shop, client, body, field, reason):
    order = make_order(client)
    response = client.post(f"/api/orders/{order['id']}/refunds", json=body)
    assert response.status_code == 400
    assert reason in response.json["fields"][field]
    assert client.get(f"/api/orders/{order['id']}").json["refunds"] == []


def test_two_lines_of_one_sku_need_the_line_id(money_shop, client):
    order = make_order(client, [("TEA", 1, 0), ("TEA", 2, 0)])
    url = f"/api/orders/{order['id']}/refunds"
    refused = client.post(url, json={"reason": "x", "lines": [{"sku": "TEA", "quantity": 1}]})
    assert refused.status_code == 400 and "give the line_id" in refused.json["fields"]["lines[0].sku"]
    second = order["lines"][1]["line_id"]
    done = client.post(url, json={"reason": "x", "lines": [{"line_id": second, "quantity": 2}]})
    assert done.status_code == 201 and done.json["lines"][0]["line_id"] == second


def test_restock_puts_stock_back_only_when_asked(money_shop, client):
    import re

    order = make_order(client)
    assert stock_of(money_shop, "JAM") == 93
    assert re.search(r">\s*93\s*<", client.get("/products/?q=JAM").get_data(as_text=True))
    url = f"/api/orders/{order['id']}/refunds"
    client.post(url, json={"reason": "not opened", "restock": True,
                           "lines": [{"sku": "JAM", "quantity": 4}]})
    assert stock_of(money_shop, "JAM") == 97
    # the (cached) product list shows the stock put back
    assert re.search(r">\s*97\s*<", client.get("/products/?q=JAM").get_data(as_text=True))
    client.post(url, json={"reason": "broken", "lines": [{"sku": "JAM", "quantity": 2}]})
    assert stock_of(money_shop, "JAM") == 97
    whole = client.post(url, json={"reason": "all back", "restock": True}).json
    assert whole["restocked"] is True
    assert (stock_of(money_shop, "JAM"), stock_of(money_shop, "TEA"),
            stock_of(money_shop, "WINE")) == (98, 100, 100)


def test_only_sold_orders_are_refunded(money_shop, client):
    from webapp import ordering

    with money_shop.app_context():
        pending = ordering.create_order({"lines": [{"sku": "TEA", "quantity": 1}]}).id
    refused = client.post(f"/api/orders/{pending}/refunds", json={"reason": "x"})
    assert refused.status_code == 400 and "cancel it instead" in refused.json["fields"]["status"]
    client.post(f"/api/orders/{pending}/cancel")
    cancelled = client.post(f"/api/orders/{pending}/refunds", json={"reason": "x"})
    assert cancelled.status_code == 400 and "nothing to refund" in cancelled.json["fields"]["status"]
    assert client.post("/api/orders/999999/refunds", json={"reason": "x"}).status_code == 404


def test_a_refund_is_refused_when_today_is_closed(money_shop, client):
    from webapp import settings
    from webapp.models import ZReport

    order = make_order(client)
    with money_shop.app_context():
        day = settings.today_business_day()
        since, until = settings.business_day_span(day)
        db.session.add(ZReport(number=1, business_day=day, since=since, until=until,
                               json_body="{}", sha256="0" * 64))
        db.session.commit()
    refused = client.post(f"/api/orders/{order['id']}/refunds", json={"reason": "x"})
    assert refused.status_code == 400 and "is closed" in refused.json["fields"]["created_at"]
    assert client.get(f"/api/orders/{order['id']}").json["refunds"] == []


def test_imported_orders_refund(money_shop, client):
    from larder_files import import_csv

    with money_shop.app_context():
        import_csv("orders", ("order_ref,created_at,customer_email,sku,quantity,payment_method\n"
                              "H1,2024-03-01T10:00:00,,TEA,3,card\n").encode())
        from webapp.models import Order
        order_id = db.session.execute(db.select(Order.id).filter_by(ref="H1")).scalar()
    row = stored(money_shop, order_id)
    done = client.post(f"/api/orders/{order_id}/refunds",
                       json={"reason": "x", "lines": [{"sku": "TEA", "quantity": 2}]})
    assert done.status_code == 201
    net, tax = row["lines"][0][6:8]
    assert (to_cents(done.json["net"]), to_cents(done.json["tax"])) == (share(net, 2, 3),
                                                                        share(tax, 2, 3))
    assert done.json["payment_method"] == "card"


def test_refund_and_cancel_buttons_on_the_order_page(money_shop, owner_browser):
    from webapp import ordering

    with money_shop.app_context():
        order_id = ordering.create_order({"lines": [{"sku": "TEA", "quantity": 3}]}).id
        ordering.process_order(order_id)
        pending = ordering.create_order({"lines": [{"sku": "JAM", "quantity": 1}]}).id
        line_id = stored_line_id(order_id)
    row = stored(money_shop, order_id)
    page = owner_browser.get(f"/orders/{order_id}").get_data(as_text=True)
    assert f'name="qty_{line_id}"' in page and "Cancel this order" not in page
    token = csrf_from(owner_browser, f"/orders/{order_id}")
    done = owner_browser.post(f"/orders/{order_id}/refund", data={
        "csrf_token": token, f"qty_{line_id}": "1", "reason": "dented", "restock": "on"})
    assert done.status_code == 303
    assert stock_of(money_shop, "TEA") == 98
    page = owner_browser.get(f"/orders/{order_id}").get_data(as_text=True)
    assert "dented" in page and "at most 2" in page
    too_many = owner_browser.post(f"/orders/{order_id}/refund", data={
        "csrf_token": token, f"qty_{line_id}": "3", "reason": "x"})
    assert too_many.status_code == 400 and "at most 2 can be refunded" in too_many.get_data(as_text=True)
    no_csrf = owner_browser.post(f"/orders/{order_id}/refund", data={"whole": "1", "reason": "x"})
    assert no_csrf.status_code == 400
    whole = owner_browser.post(f"/orders/{order_id}/refund", data={
        "csrf_token": token, "whole": "1", "reason": "all of it"})
    assert whole.status_code == 303
    page = owner_browser.get(f"/orders/{order_id}").get_data(as_text=True)
    assert "Refund everything" not in page  # nothing left to refund
    refunds = owner_browser.get(f"/api/orders/{order_id}").json["refunds"]
    assert sum(to_cents(r["amount"]) for r in refunds) == row["total"]
    assert "Cancel this order" in owner_browser.get(f"/orders/{pending}").get_data(as_text=True)
    cancelled = owner_browser.post(f"/orders/{pending}/cancel", data={
        "csrf_token": token, "reason": "left the shop"})
    assert cancelled.status_code == 303
    assert stored(money_shop, pending)["status"] == "cancelled"


def stored_line_id(order_id):
    from webapp.models import OrderLine

    return db.session.execute(db.select(OrderLine.id).filter_by(order_id=order_id)).scalar()


def test_refunds_at_the_same_moment_never_give_back_more_than_sold(money_shop):
    import threading

    import requests

    from conftest import TOKEN

    with http_session(money_shop) as http:
        order = http.post(f"{http.base}/api/orders", timeout=10,
                          json={"lines": [{"sku": "JAM", "quantity": 2}]}).json()
        row = stored(money_shop, order["id"])
        barrier, answers = threading.Barrier(4), []

        def refund_one():
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {TOKEN}"
            barrier.wait()
            answers.append(session.post(
                f"{http.base}/api/orders/{order['id']}/refunds", timeout=60,
                json={"reason": "race", "lines": [{"sku": "JAM", "quantity": 1}]}))

        threads = [threading.Thread(target=refund_one) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        refunds = http.get(f"{http.base}/api/orders/{order['id']}", timeout=10).json()["refunds"]
    assert sorted(a.status_code for a in answers) == [201, 201, 400, 400]
    assert sum(to_cents(r["amount"]) for r in refunds) == row["total"]
