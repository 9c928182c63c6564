"""Staff and other days (docs/users.md): staff see today's orders only, in the orders
list (whatever dates it is given), on order pages, receipts, invoices and
GET /api/orders/<id>; managers and the owner see every day. Over real HTTP (Waitress),
each role signed in as it is in the shop: the owner by token, the others by password."""
import re
from datetime import timedelta

import pytest
import requests

from conftest import TOKEN

REFUSED = "Your account can see today&#39;s orders only"
REFUSED_JSON = ("Your account can see today's orders only: ask a manager for the orders "
                "of other days.")


@pytest.fixture
def served(shop, live_server):
    """Two orders: one today, one on yesterday's business day; staff and a manager."""
    from webapp import ordering, settings
    from webapp.auth import add_user
    from webapp.extensions import db

    with shop.app_context():
        add_user("sam", "correct horse", "staff")
        add_user("meg", "correct horse", "manager")
        today = ordering.create_order({"lines": [{"sku": "SKU-001", "quantity": 1}]})
        old = ordering.create_order({"lines": [{"sku": "SKU-002", "quantity": 1}]})
        yesterday = settings.today_business_day() - timedelta(days=1)
        old.created_at = settings.business_day_span(yesterday)[0] + timedelta(hours=3)
        db.session.commit()
        orders = {"today": (today.id, today.ref), "old": (old.id, old.ref),
                  "yesterday": yesterday.isoformat(),
                  "today_day": settings.today_business_day().isoformat()}
    return live_server.url, orders


def listed(page, order):
    """True when the orders list `page` has a row for `order` (id, ref)."""
    return f'<a href="/orders/{order[0]}">{order[1]}</a>' in page.text


def signed_in(base, role):
    session = requests.Session()
    if role == "owner":
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        return session
    name = {"staff": "sam", "manager": "meg"}[role]
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      session.get(f"{base}/login", timeout=10).text)[1]
    answer = session.post(f"{base}/login", timeout=10, allow_redirects=False, data={
        "csrf_token": token, "username": name, "password": "correct horse"})
    assert answer.status_code == 302
    return session


@pytest.mark.parametrize("role", ["owner", "manager", "staff"])
def test_the_orders_list_shows_staff_today_only(served, role):
    base, orders = served
    session = signed_in(base, role)
    page = session.get(f"{base}/orders/", timeout=10)
    assert page.status_code == 200
    assert listed(page, orders["today"])
    assert listed(page, orders["old"]) == (role != "staff")
    assert ('name="from"' in page.text) == (role != "staff")  # no date fields for staff
    # a date filter over another day: a report over that day
    for query in ({"from": orders["yesterday"]}, {"to": orders["yesterday"]},
                  {"from": orders["yesterday"], "to": orders["today_day"]}):
        answer = session.get(f"{base}/orders/", params=query, timeout=10)
        if role == "staff":
            assert answer.status_code == 403 and REFUSED in answer.text, query
        else:
            assert answer.status_code == 200 and listed(answer, orders["old"]), query
    today_only = session.get(f"{base}/orders/", timeout=10,
                             params={"from": orders["today_day"], "to": orders["today_day"]})
    assert today_only.status_code == 200 and listed(today_only, orders["today"])
    assert not listed(today_only, orders["old"])
    # other filters still work inside today for staff
    searched = session.get(f"{base}/orders/", params={"q": orders["old"][1]}, timeout=10)
    assert searched.status_code == 200
    assert listed(searched, orders["old"]) == (role != "staff")


@pytest.mark.parametrize("role", ["owner", "manager", "staff"])
def test_an_order_of_another_day_is_refused_to_staff(served, role):
    base, orders = served
    session = signed_in(base, role)
    today_id, old_id = orders["today"][0], orders["old"][0]
    for path in ("/orders/{}", "/orders/{}/receipt", "/orders/{}/invoice.pdf",
                 "/api/orders/{}"):
        assert session.get(base + path.format(today_id), timeout=30).status_code == 200, path
        answer = session.get(base + path.format(old_id), timeout=30)
        if role != "staff":
            assert answer.status_code == 200, path
            continue
        assert answer.status_code == 403, path
        if path.startswith("/api/"):
            assert answer.json() == {"error": REFUSED_JSON}
        else:
            assert REFUSED in answer.text, path
