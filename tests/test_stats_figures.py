"""Dashboard and /api/stats figures (webapp.stats) against sums made here from the rows.

An order sits exactly on each period's edge (the first second counts, the last second
before it does not), a failed order and an order of tomorrow never count, and amounts
are chosen so that a quantity divided instead of multiplied, or a floor that is not a
floor, shows.
"""
from datetime import date, datetime, timedelta

import pytest

from webapp import stats
from webapp.extensions import db
from webapp.models import Customer, Order, OrderLine, Product

TODAY = date(2025, 3, 15)
COUNTED = {"pending", "processed", "imported"}
PRICES = {"P0": 1250, "P1": 999, "P2": 40000, "P3": 777, "P4": 250, "P5": 1999, "P6": 5000}


def at(day, hh=0, mm=0, ss=0):
    return datetime.combine(day, datetime.min.time()).replace(hour=hh, minute=mm, second=ss)


ROWS = [  # ref, created_at, status, [(sku, quantity, unit price in cents)]
    ("T0", at(TODAY), "processed", [("P0", 3, 1250), ("P1", 2, 999)]),
    ("T1", at(TODAY, 23, 59, 59), "pending", [("P2", 1, 40000)]),
    ("TF", at(TODAY, 12), "failed", [("P0", 100, 1250)]),
    ("N0", at(TODAY + timedelta(days=1)), "imported", [("P3", 1, 777)]),
    ("Y1", at(TODAY - timedelta(days=1), 23, 59, 59), "imported", [("P4", 4, 250)]),
    ("M0", at(date(2025, 3, 1)), "imported", [("P5", 2, 1999)]),
    ("M9", at(date(2025, 2, 28), 23, 59, 59), "imported", [("P6", 1, 5000)]),
    ("W0", at(TODAY - timedelta(days=29)), "imported", [("P1", 5, 999)]),
    ("W9", at(TODAY - timedelta(days=30), 23, 59, 59), "imported", [("P0", 50, 1250)]),
    ("J0", at(date(2025, 1, 1)), "imported", [("P3", 2, 777)]),
    ("J9", at(date(2024, 12, 31), 23, 59, 59), "imported", [("P2", 1, 100)]),
    ("A0", at(date(2024, 4, 1)), "imported", [("P4", 1, 250)]),
    ("A9", at(date(2024, 3, 31), 23, 59, 59), "imported", [("P4", 1, 250)]),
]


def total(lines):
    return sum(q * p for _, q, p in lines)


def expected(start, end=None):
    """(orders, revenue) of counted rows with start <= created_at < end."""
    rows = [r for r in ROWS if r[2] in COUNTED and r[1] >= start and (end is None or r[1] < end)]
    return len(rows), sum(total(r[3]) for r in rows)


@pytest.fixture
def shop(app):
    with app.app_context():
        products = {sku: Product(sku=sku, name=f"Item {sku}", category="C",
                                 price_cents=price, stock=1) for sku, price in PRICES.items()}
        ann = Customer(email="ann@example.com", name="Ann", country="UK")
        bob = Customer(email="bob@example.com", name="Bob", country="FR")
        db.session.add_all([*products.values(), ann, bob])
        for i, (ref, when, status, lines) in enumerate(ROWS):
            order = Order(ref=ref, customer=(ann, bob)[i % 2], created_at=when, status=status,
                          total_cents=total(lines))
            order.lines = [OrderLine(product=products[s], quantity=q, unit_price_cents=p)
                           for s, q, p in lines]
            db.session.add(order)
        db.session.commit()
    return app


def test_periods_count_their_first_second_and_not_the_next_periods(shop):
    tomorrow = at(TODAY + timedelta(days=1))
    with shop.app_context():
        board = stats.dashboard(TODAY)
    for key, start in (("today", at(TODAY)), ("month", at(date(2025, 3, 1))),
                       ("year", at(date(2025, 1, 1)))):
        orders, revenue = expected(start, tomorrow)
        assert board[key] == {"orders": orders, "revenue_cents": revenue}, key
    # the same figures written out, so that a wrong edge in expected() cannot hide one
    assert board["today"] == {"orders": 2, "revenue_cents": 3 * 1250 + 2 * 999 + 40000}
    assert board["month"]["orders"] == 4 and board["year"]["orders"] == 8


def test_average_order_value_is_the_floor_over_several_orders(shop):
    orders, revenue = expected(at(date(2025, 1, 1)), at(TODAY + timedelta(days=1)))
    assert (orders, revenue) == (8, 124795)  # 124795 / 8 = 15599.375
    with shop.app_context():
        board = stats.dashboard(TODAY)
    assert board["average_order_value_cents"] == revenue // orders == 15599
    assert isinstance(board["average_order_value_cents"], int)


def test_top_products_of_the_last_thirty_days_by_quantity_times_price(shop):
    since, until = at(TODAY - timedelta(days=29)), at(TODAY + timedelta(days=1))
    sold = {}
    for _, when, status, lines in ROWS:
        if status in COUNTED and since <= when < until:
            for sku, q, p in lines:
                quantity, revenue = sold.get(sku, (0, 0))
                sold[sku] = (quantity + q, revenue + q * p)
    best = sorted(sold.items(), key=lambda kv: (-kv[1][1], kv[0]))
    assert len(best) == 6  # one more than the dashboard shows
    with shop.app_context():
        top = stats.dashboard(TODAY)["top_products"]
    assert top == [{"sku": sku, "name": f"Item {sku}", "quantity": q, "revenue_cents": r}
                   for sku, (q, r) in best[:5]]
    assert top[0] == {"sku": "P2", "name": "Item P2", "quantity": 1, "revenue_cents": 40000}
    assert top[1]["revenue_cents"] == 7 * 999  # P1: two orders, one on the window's edge


def test_monthly_chart_covers_twelve_months_from_the_first_day(shop):
    start = at(date(2024, 4, 1))  # March 2025 and the eleven months before it
    months = {}
    for _, when, status, lines in ROWS:
        if status in COUNTED and when >= start:
            n, r = months.get(when.strftime("%Y-%m"), (0, 0))
            months[when.strftime("%Y-%m")] = (n + 1, r + total(lines))
    with shop.app_context():
        by_month = stats.dashboard(TODAY)["by_month"]
    assert by_month == [{"month": m, "orders": n, "revenue_cents": r}
                        for m, (n, r) in sorted(months.items())]
    assert [row["month"] for row in by_month] == ["2024-04", "2024-12", "2025-01", "2025-02",
                                                  "2025-03"]


def test_summary_counts_every_counted_order_customer_and_product(shop):
    orders, revenue = expected(datetime.min)
    with shop.app_context():
        summary = stats.summary()
    assert summary == {"orders": orders, "revenue_cents": revenue,
                       "average_order_value_cents": revenue // orders,
                       "customers": 2, "products": len(PRICES)}
    assert orders == 12 and revenue % orders  # a floor that shows


def test_empty_shop_has_zero_averages(app):
    with app.app_context():
        assert stats.summary()["average_order_value_cents"] == 0
        assert stats.dashboard(TODAY)["average_order_value_cents"] == 0


def test_dashboard_without_a_date_is_today(shop):
    with shop.app_context():
        assert stats.dashboard() == stats.dashboard(date.today())
