"""The orders list's filters over real HTTP (Waitress) on a real database: search, date
range in business days (both days included, to the last second), status, payment method,
hour, customer; bad filters are a 400 page that says why; the pager keeps the filters."""
import json
import re
from datetime import datetime

import pytest

from conftest import http_session
from webapp.extensions import db
from webapp.models import Customer, Order, Setting

ORDERS = [  # ref, created_at, customer, payment, status
    ("T-A1", datetime(2025, 3, 1, 0, 0, 0), "ann", "card", "processed"),   # first second
    ("T-A2", datetime(2025, 3, 31, 23, 59, 0), "ann", "cash", "processed"),  # 23:59 last day
    ("T-A3", datetime(2025, 4, 1, 0, 0, 0), "tom", "card", "imported"),    # just after
    ("T-A4", datetime(2025, 2, 28, 23, 59, 59), None, "cash", "failed"),   # just before
    ("T-A5", datetime(2025, 3, 15, 14, 30, 0), None, "card", "cancelled"),
    ("T-A6", datetime(2025, 3, 15, 15, 0, 0), "ann", "voucher", "pending"),
]


@pytest.fixture
def listed(app):
    with app.app_context():
        people = {"ann": Customer(email="ann@example.com", name="Ann Smith", country="France"),
                  "tom": Customer(email=None, till_id="square:C1", name="Till Tom",
                                  country="France")}
        db.session.add_all(people.values())
        db.session.flush()
        for ref, when, who, method, status in ORDERS:
            db.session.add(Order(ref=ref, created_at=when, status=status, payment_method=method,
                                 customer_id=people[who].id if who else None,
                                 total_cents=1000, gross_cents=1000))
        db.session.commit()
    return app


def refs(html):
    return sorted(re.findall(r'href="/orders/\d+">(T-[A-Z0-9]+)</a>', html))


def listing(http, **params):
    return http.get(http.base + "/orders/", params=params)


def test_filters_narrow_the_list(listed):
    march = {"from": "2025-03-01", "to": "2025-03-31"}
    with http_session(listed) as http:
        assert refs(listing(http).text) == [r[0] for r in ORDERS]
        assert refs(listing(http, **march).text) == ["T-A1", "T-A2", "T-A5", "T-A6"]
        assert refs(listing(http, **march, status="sales").text) == ["T-A1", "T-A2", "T-A6"]
        assert refs(listing(http, status="failed").text) == ["T-A4"]
        assert refs(listing(http, **march, payment="card").text) == ["T-A1", "T-A5"]
        assert refs(listing(http, payment="voucher").text) == ["T-A6"]  # not a setting now
        assert refs(listing(http, q="ann").text) == ["T-A1", "T-A2", "T-A6"]
        assert refs(listing(http, q="ANN@EXAMPLE.COM").text) == ["T-A1", "T-A2", "T-A6"]
        assert refs(listing(http, q="till tom").text) == ["T-A3"]  # no e-mail: by name
        assert refs(listing(http, q="t-a4").text) == ["T-A4"]
        assert refs(listing(http, q="%").text) == []  # a wildcard is a literal character
        hour = listing(http, **{"from": "2025-03-15", "to": "2025-03-15"}, hour="14").text
        assert refs(hour) == ["T-A5"] and "between 14:00 and 14:59" in hour
        every = re.search(r'href="([^"]+)">Show every hour', hour).group(1).replace("&amp;", "&")
        assert refs(http.get(http.base + every).text) == ["T-A5", "T-A6"]
        page = listing(http, **march, status="sales", payment="cash")
        assert refs(page.text) == ["T-A2"] and "1 order matches" in page.text
        # the form shows the filters it was opened with (a dashboard link opens it so)
        assert 'name="from" type="date" min="1970-01-01" max="2999-12-31" value="2025-03-01"' \
            in page.text
        assert '<option value="sales" selected>' in page.text
        with listed.app_context():
            tom = db.session.execute(db.select(Customer.id).filter_by(name="Till Tom")).scalar()
        page = listing(http, customer=str(tom))
        assert refs(page.text) == ["T-A3"] and "Orders of Till Tom" in page.text
        order = re.search(r'href="(/orders/\d+)">T-A3<', page.text).group(1)
        assert f'href="/customers/{tom}">Till Tom</a>' in http.get(http.base + order).text


def test_a_day_is_a_business_day(listed):
    """With the day starting at 02:00, 01:30 on 1 April still counts on 31 March."""
    with listed.app_context():
        db.session.add(Setting(key="day_starts_at", value=json.dumps("02:00")))
        db.session.add(Order(ref="T-A7", created_at=datetime(2025, 4, 1, 1, 30),
                             status="processed", total_cents=1, gross_cents=1))
        db.session.commit()
    with http_session(listed) as http:
        got = refs(listing(http, **{"from": "2025-03-31", "to": "2025-03-31"}).text)
    assert got == ["T-A2", "T-A3", "T-A7"]  # 00:00 on 1 April is before 02:00 as well


@pytest.mark.parametrize("params, field, words", [
    ({"from": "2025-13-01"}, "from", "a date as YYYY-MM-DD"),
    ({"to": "31/03/2025"}, "to", "a date as YYYY-MM-DD"),
    ({"from": "0001-01-01"}, "from", "a date from 1970 to 2999"),
    ({"from": "2025-04-01", "to": "2025-03-01"}, "to", "on or after the first day"),
    ({"status": "lost"}, "status", "one of: sales, pending"),
    ({"q": "x" * 101}, "search", "at most 100 characters"),
    ({"payment": "y" * 41}, "paid by", "at most 40 characters"),
    ({"q": "ann\x00"}, "search", "letters, digits and signs only"),
    ({"hour": "24"}, "hour", "an hour from 0 to 23"),
    ({"hour": "-1"}, "hour", "an hour from 0 to 23"),
    ({"customer": "99999999999999999999"}, "customer", "a customer number"),
])
def test_a_bad_filter_says_why(listed, params, field, words):
    with http_session(listed) as http:
        page = listing(http, **params)
    assert page.status_code == 400
    assert "These filters cannot be used" in page.text and f"{field}: {words}" in page.text
    assert "Traceback" not in page.text and refs(page.text) == []


def test_the_pager_keeps_the_filters(listed):
    with listed.app_context():
        db.session.add_all([Order(ref=f"T-P{i:02d}", created_at=datetime(2025, 5, 2, 9, i),
                                  status="processed", payment_method="card",
                                  total_cents=1, gross_cents=1) for i in range(55)])
        db.session.commit()
    with http_session(listed) as http:
        first = listing(http, **{"from": "2025-05-01"}, payment="card")
        assert "Page 1 of 2" in first.text and "55 orders match" in first.text
        link = re.search(r'href="(/orders/\?[^"]*page=2[^"]*)"', first.text).group(1)
        link = link.replace("&amp;", "&")
        assert "from=2025-05-01" in link and "payment=card" in link
        second = http.get(http.base + link)
        assert len(refs(second.text)) == 5
        assert all(r.startswith("T-P") for r in refs(second.text))
        assert listing(http, page="abc").status_code == 200  # a bad page is the first


def test_the_list_walks_an_index_in_its_order_without_sorting(listed):
    """Any page of the list, however deep, is read in index order: SQLite's plan for the
    list's own query (caught as the page runs it) has no temporary sort. Before
    migration 0010 each run of equal times was sorted in a temporary b-tree, and the last
    page of 100,000 orders took ~100 ms (docs/benchmarks.md, "every page")."""
    from sqlalchemy import event

    seen = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        if "FROM orders" in statement and "ORDER BY" in statement:
            seen.append((statement, parameters))

    with listed.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", remember)
        try:
            client = listed.test_client()
            assert client.get("/orders/?page=1", headers={
                "Authorization": f"Bearer {listed.config['LARDER_TOKEN']}"}).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", remember)
        assert seen, "the list's query was not seen"
        with engine.connect() as conn:
            for statement, parameters in seen:
                plan = " | ".join(row[-1] for row in conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + statement, parameters))
                assert "TEMP B-TREE" not in plan, plan
