"""The dashboard's comparisons, sales by hour and low-stock list (webapp.stats), against
figures made here from the rows, with the business day starting at 02:00: a sale at
01:59:59 counts on the day before. Orders sit on every period's first and last second
and just outside them."""
import json
from datetime import date, datetime, timedelta

import pytest

from conftest import http_session
from webapp import stats
from webapp.extensions import db
from webapp.models import Order, Product, Refund, Setting

TODAY = date(2025, 3, 31)  # a Monday; February has 28 days
START = timedelta(hours=2)  # day_starts_at 02:00
SECOND = timedelta(seconds=1)
COUNTED = {"pending", "processed", "imported"}


def opens(day):
    return datetime.combine(day, datetime.min.time()) + START


def business_day(moment):
    """The business day of a moment, the test's own way: shift back by the start."""
    return (moment - START).date()


def edges(day, total):
    """An order on the first and on the last second of business day `day`, and one just
    outside each edge (worth 1000x more, so that a shifted edge shows)."""
    return [(opens(day), "imported", total), (opens(day + timedelta(days=1)) - SECOND,
                                              "processed", total + 1),
            (opens(day) - SECOND, "imported", total * 1000),
            (opens(day + timedelta(days=1)), "imported", total * 1000 + 7)]


ORDERS = (  # created_at, status, total cents
    edges(TODAY, 1500)
    + edges(TODAY - timedelta(days=7), 900)                   # last Monday
    + edges(date(2025, 3, 1), 200)                            # first day of this month
    + edges(date(2025, 2, 28), 300)                           # last of last month's days
    + edges(date(2025, 2, 1), 40)                             # first of last month
    + edges(date(2025, 1, 1), 11)                             # first day of the year
    + edges(date(2024, 3, 31), 13)                            # same date last year
    + edges(date(2024, 1, 1), 17)                             # first day of last year
    + [(opens(TODAY) + timedelta(hours=5, minutes=30), "failed", 99999),
       (opens(TODAY) + timedelta(hours=6), "cancelled", 88888),
       (opens(TODAY) + timedelta(hours=21, minutes=59, seconds=59), "pending", 250)]
)
REFUNDS = [(opens(TODAY) + timedelta(hours=6, minutes=10), 600),  # today, 08:10
           (opens(TODAY), 30),                                     # today's first second
           (opens(TODAY) - SECOND, 70000),                         # yesterday (01:59:59)
           (opens(TODAY + timedelta(days=1)), 50000)]              # tomorrow's first


@pytest.fixture
def board_shop(app):
    with app.app_context():
        db.session.add(Setting(key="day_starts_at", value=json.dumps("02:00")))
        for i, (when, status, total) in enumerate(ORDERS):
            db.session.add(Order(ref=f"R{i:03d}", created_at=when, status=status,
                                 total_cents=total, gross_cents=total))
        db.session.flush()
        for when, amount in REFUNDS:
            db.session.add(Refund(order_id=1, created_at=when, amount_cents=amount))
        db.session.add_all([
            Product(sku="LOW-EQ", name="At its level", category="C", price_cents=1,
                    stock=5, reorder_at=5),
            Product(sku="LOW-0", name="Sold out", category="C", price_cents=1, stock=0,
                    reorder_at=0),
            Product(sku="OK-1", name="One above", category="C", price_cents=1, stock=6,
                    reorder_at=5),
            Product(sku="NONE", name="No level", category="C", price_cents=1, stock=0),
            Product(sku="OLD", name="Archived", category="C", price_cents=1, stock=0,
                    reorder_at=3, archived=True)])
        db.session.commit()
    return app


def expected(first, last):
    """(orders, revenue) of business days first..last, both included."""
    rows = [(w, t) for w, s, t in ORDERS if s in COUNTED and first <= business_day(w) <= last]
    refunded = sum(a for w, a in REFUNDS if first <= business_day(w) <= last)
    return len(rows), sum(t for _, t in rows) - refunded


def pct(now, before):
    return None if before == 0 else round((now - before) * 1000 / before) / 10


def test_comparisons_over_business_days_with_their_edges(board_shop):
    with board_shop.app_context():
        rows = {row["name"]: row for row in stats.dashboard(TODAY)["comparisons"]}
    periods = {
        "today": ((TODAY, TODAY), (date(2025, 3, 24),) * 2),
        # 31 days of March against February's 28: never past the end of February
        "month": ((date(2025, 3, 1), TODAY), (date(2025, 2, 1), date(2025, 2, 28))),
        "year": ((date(2025, 1, 1), TODAY), (date(2024, 1, 1), date(2024, 3, 31))),
    }
    for name, (now, before) in periods.items():
        row = rows[name]
        orders, revenue = expected(*now)
        orders_then, revenue_then = expected(*before)
        assert (row["orders"], row["revenue_cents"]) == (orders, revenue), name
        assert (row["previous_orders"], row["previous_revenue_cents"]) == \
            (orders_then, revenue_then), name
        assert (row["previous_from"], row["previous_to"]) == \
            (before[0].isoformat(), before[1].isoformat())
        assert (row["from"], row["to"]) == (now[0].isoformat(), now[1].isoformat())
        assert row["change_pct"] == pct(revenue, revenue_then), name
    # the same figures written out: today = its two edge orders + 250 - the 600 refund
    assert (rows["today"]["orders"], rows["today"]["revenue_cents"]) == \
        (3, 1500 + 1501 + 250 - 600 - 30)
    assert (rows["today"]["previous_orders"], rows["today"]["previous_revenue_cents"]) == (2, 1801)
    assert rows["today"]["change_pct"] == 45.5  # 820 / 1801 = 0.45530...
    assert [(r["label"], r["before_label"]) for r in rows.values()] == [
        ("Today", "last Monday"), ("This month", "last month, same days"),
        ("This year", "last year, same dates")]


def test_a_month_compares_with_the_same_days_of_the_last_one():
    def before(today):
        return {name: prev for name, _, _, prev, _ in stats.comparison_periods(today)}

    assert before(date(2025, 3, 10))["month"] == (date(2025, 2, 1), date(2025, 2, 10))
    assert before(date(2025, 5, 31))["month"] == (date(2025, 4, 1), date(2025, 4, 30))
    assert before(date(2025, 1, 1))["month"] == (date(2024, 12, 1), date(2024, 12, 1))
    assert before(date(2024, 2, 29))["year"] == (date(2023, 1, 1), date(2023, 2, 28))
    assert before(date(2025, 1, 1))["today"] == (date(2024, 12, 25),) * 2


def test_all_time_revenue_is_less_every_refund(board_shop):
    with board_shop.app_context():
        summary = stats.summary()
    sold = [t for _, s, t in ORDERS if s in COUNTED]
    assert summary["orders"] == len(sold)
    assert summary["revenue_cents"] == sum(sold) - sum(a for _, a in REFUNDS)


def test_the_february_29th_compares_with_the_28th():
    assert stats.year_before(date(2024, 2, 29)) == date(2023, 2, 28)
    assert stats.year_before(date(2025, 3, 1)) == date(2024, 3, 1)


def test_change_in_percent_rounds_half_up_and_has_none_for_a_zero_base():
    assert stats.change_pct(15000, 10000) == 50.0
    assert stats.change_pct(0, 10000) == -100.0
    assert stats.change_pct(1, 3) == -66.7
    assert stats.change_pct(2001, 2000) == 0.1      # 0.05 -> 0.1 (half-up, not even)
    assert stats.change_pct(1999, 2000) == -0.1     # -0.05 -> -0.1
    assert stats.change_pct(2000, 2000) == 0.0
    assert stats.change_pct(500, 0) is None and stats.change_pct(0, 0) is None
    assert stats.change_pct(100, -200) == 150.0     # a refund-heavy base: from -2 to +1


def test_sales_by_hour_follow_the_business_day(board_shop):
    with board_shop.app_context():
        hours = stats.dashboard(TODAY)["by_hour"]
    assert [row["hour"] for row in hours] == list(range(2, 24)) + [0, 1]
    want = {h: [0, 0] for h in range(24)}
    for when, status, total in ORDERS:
        if status in COUNTED and business_day(when) == TODAY:
            want[when.hour][0] += 1
            want[when.hour][1] += total
    for when, amount in REFUNDS:
        if business_day(when) == TODAY:
            want[when.hour][1] -= amount
    assert {row["hour"]: [row["orders"], row["revenue_cents"]] for row in hours} == want
    assert hours[0] == {"hour": 2, "orders": 1, "revenue_cents": 1500 - 30}  # 02:00:00
    assert hours[-1] == {"hour": 1, "orders": 1, "revenue_cents": 1501}  # 01:59:59
    assert hours[6]["revenue_cents"] == -600 and hours[21]["revenue_cents"] == 250


def test_low_stock_lists_products_at_or_below_their_level(board_shop):
    with board_shop.app_context():
        board = stats.dashboard(TODAY)
    assert [p["sku"] for p in board["low_stock"]] == ["LOW-0", "LOW-EQ"]
    assert board["low_stock"][1] == {"sku": "LOW-EQ", "name": "At its level", "stock": 5,
                                     "reorder_at": 5}
    assert board["low_stock_count"] == 2


def test_low_stock_shows_fifty_and_counts_the_rest(app):
    with app.app_context():
        db.session.add_all([Product(sku=f"L{i:02d}", name=f"Low {i}", category="C",
                                    price_cents=1, stock=i % 3, reorder_at=2)
                            for i in range(52)])
        db.session.commit()
        rows, count = stats.low_stock()
    assert count == 52 and len(rows) == 50
    assert [r["stock"] for r in rows] == sorted(r["stock"] for r in rows)


def test_the_page_shows_them_and_refreshes_after_a_stock_change(board_shop):
    with http_session(board_shop) as http:
        with board_shop.app_context():
            today = stats.today_business_day()
        page = http.get(http.base + "/")
        assert page.status_code == 200
        assert "Compared with before" in page.text and "Sales by hour today" in page.text
        assert "At its level" in page.text and "Archived" not in page.text
        assert f"last {today:%A}" in page.text
        assert http.get(http.base + "/").headers.get("X-Cache") == "HIT"
        patched = http.patch(http.base + "/api/products/LOW-EQ", json={"stock": "9"})
        assert patched.status_code == 200, patched.text
        page = http.get(http.base + "/")
        assert "At its level" not in page.text and "Sold out" in page.text


def test_a_day_without_sales_shows_nothing_and_no_percent(board_shop):
    quiet = date(2031, 6, 18)  # nothing sold in 2030 or 2031
    with board_shop.app_context():
        board = stats.dashboard(quiet)
    for row in board["comparisons"]:
        assert (row["orders"], row["revenue_cents"], row["previous_orders"],
                row["previous_revenue_cents"], row["change_pct"]) == (0, 0, 0, 0, None)
    assert board["today"] == {"orders": 0, "revenue_cents": 0}
    assert all(h["orders"] == h["revenue_cents"] == 0 for h in board["by_hour"])
