"""Report figures (webapp.reports.report_data) against sums made here from the rows:
more products than the top ten, ties broken by name, months across a year's end, the
longest range allowed, and ranges given as datetimes."""
from datetime import date, datetime, timedelta

import pytest

from webapp.extensions import db
from webapp.models import Customer, Order, OrderLine, Product
from webapp.reports import ReportError, collect
from webapp.reports.report_data import MAX_DAYS, check_range

START, END = date(2024, 11, 15), date(2025, 2, 10)
# sku -> (category, price); 12 products: two more than the top ten
PRODUCTS = {f"S{i:02d}": ("Tea" if i % 2 else "Jam", 100 * (i + 1) + 7) for i in range(12)}
CUSTOMERS = {"a@example.com": "Spain", "b@example.com": "Chile", "c@example.com": "Peru"}
ROWS = [  # ref, created_at, email, [(sku, quantity)]
    ("O1", datetime(2024, 11, 15, 0, 0), "a@example.com", [("S00", 3), ("S01", 2)]),
    ("O2", datetime(2024, 12, 31, 23, 59, 59), "b@example.com", [("S02", 1), ("S03", 4)]),
    ("O3", datetime(2025, 1, 1, 0, 0), "c@example.com", [("S04", 2), ("S05", 1), ("S06", 5)]),
    ("O4", datetime(2025, 2, 10, 23, 59, 59), "a@example.com",
     [("S07", 1), ("S08", 2), ("S09", 3), ("S10", 1), ("S11", 2)]),
    ("O5", datetime(2025, 2, 11, 0, 0), "b@example.com", [("S11", 9)]),   # the day after
    ("O6", datetime(2024, 11, 14, 23, 59, 59), "c@example.com", [("S00", 9)]),  # the day before
]


def _in_range(when):
    return datetime(2024, 11, 15) <= when < datetime(2025, 2, 11)


@pytest.fixture
def shop(app):
    with app.app_context():
        products = {sku: Product(sku=sku, name=f"Item {sku}", category=cat, price_cents=price,
                                 stock=0) for sku, (cat, price) in PRODUCTS.items()}
        customers = {email: Customer(email=email, name=email[0], country=country,
                                     created_at=datetime(2024, 1, 1))
                     for email, country in CUSTOMERS.items()}
        db.session.add_all([*products.values(), *customers.values()])
        for ref, when, email, lines in ROWS:
            total = sum(q * PRODUCTS[s][1] for s, q in lines)
            order = Order(ref=ref, customer=customers[email], created_at=when,
                          status="imported", total_cents=total, gross_cents=total)
            order.lines = [OrderLine(product=products[s], quantity=q,
                                     unit_price_cents=PRODUCTS[s][1],
                                     net_cents=q * PRODUCTS[s][1]) for s, q in lines]
            db.session.add(order)
        db.session.commit()
    return app


def test_every_section_against_the_rows(shop):
    sold, months, countries = {}, {}, {}
    for ref, when, email, lines in ROWS:
        if not _in_range(when):
            continue
        total = sum(q * PRODUCTS[s][1] for s, q in lines)
        n, r = months.get(when.strftime("%Y-%m"), (0, 0))
        months[when.strftime("%Y-%m")] = (n + 1, r + total)
        n, r = countries.get(CUSTOMERS[email], (0, 0))
        countries[CUSTOMERS[email]] = (n + 1, r + total)
        for sku, q in lines:
            quantity, revenue = sold.get(sku, (0, 0))
            sold[sku] = (quantity + q, revenue + q * PRODUCTS[sku][1])
    orders = sum(n for n, _ in months.values())
    revenue = sum(r for _, r in months.values())
    categories = {}
    for sku, (q, r) in sold.items():
        quantity, rev = categories.get(PRODUCTS[sku][0], (0, 0))
        categories[PRODUCTS[sku][0]] = (quantity + q, rev + r)

    with shop.app_context():
        data = collect(START, END)
    lines = sum(len(lines) for _, when, _, lines in ROWS if _in_range(when))
    assert data["totals"] == {"orders": orders, "gross_cents": revenue, "discounts_cents": 0,
                              "refunds_cents": 0, "revenue_cents": revenue, "tax_cents": 0,
                              "net_cents": revenue, "cost_cents": 0, "margin_cents": 0,
                              "lines_without_cost": lines,
                              "average_order_value_cents": revenue // orders,
                              "new_customers": 0}
    assert orders == 4 and revenue % orders  # the floor shows
    assert data["by_month"] == [
        {"month": m, "orders": months.get(m, (0, 0))[0], "revenue_cents": months.get(m, (0, 0))[1]}
        for m in ("2024-11", "2024-12", "2025-01", "2025-02")]
    assert data["by_country"] == [
        {"country": c, "orders": n, "revenue_cents": r}
        for c, (n, r) in sorted(countries.items(), key=lambda kv: (-kv[1][1], kv[0]))]
    assert data["by_category"] == [
        {"category": c, "quantity": q, "revenue_cents": r}
        for c, (q, r) in sorted(categories.items(), key=lambda kv: (-kv[1][1], kv[0]))]
    best = sorted(sold.items(), key=lambda kv: (-kv[1][1], kv[0]))
    assert len(best) == 12
    assert data["top_products"] == [
        {"sku": s, "name": f"Item {s}", "quantity": q, "revenue_cents": r}
        for s, (q, r) in best[:10]]


def test_ties_are_ordered_by_name(app):
    with app.app_context():
        tea = Product(sku="T", name="Tea", category="Tea", price_cents=500)
        jam = Product(sku="J", name="Jam", category="Jam", price_cents=250)
        zoe = Customer(email="z@example.com", name="Z", country="Zambia")
        amy = Customer(email="y@example.com", name="Y", country="Angola")
        for ref, who, product, q in (("A", zoe, tea, 1), ("B", amy, jam, 2)):
            order = Order(ref=ref, customer=who, created_at=datetime(2025, 5, 5, 12),
                          status="processed", total_cents=q * product.price_cents)
            order.lines = [OrderLine(product=product, quantity=q,
                                     unit_price_cents=product.price_cents)]
            db.session.add(order)
        db.session.commit()
        data = collect(date(2025, 5, 5), date(2025, 5, 5))
    assert [row["country"] for row in data["by_country"]] == ["Angola", "Zambia"]
    assert [row["category"] for row in data["by_category"]] == ["Jam", "Tea"]
    assert [row["sku"] for row in data["top_products"]] == ["J", "T"]
    assert data["totals"]["new_customers"] == 0  # both were created today, not that day


def test_range_limits(app):
    start = date(2000, 1, 1)
    longest = start + timedelta(days=MAX_DAYS - 1)
    assert check_range(start, longest) == (start, longest)
    with pytest.raises(ReportError) as caught:
        check_range(start, longest + timedelta(days=1))
    assert str(caught.value) == "the range is too long: at most 36,600 days"
    assert check_range(start, start) == (start, start)
    with pytest.raises(ReportError) as caught:
        check_range(date(9999, 12, 30), date.max)
    assert str(caught.value) == "the end must be before 9999-12-31"
    assert check_range(date(9999, 12, 30), date(9999, 12, 30)) == (date(9999, 12, 30),) * 2
    with pytest.raises(ReportError) as caught:
        check_range(start, "2000-01-02")
    assert str(caught.value) == "the end must be a date, not '2000-01-02'"
    # a datetime counts as its whole day
    assert check_range(datetime(2025, 1, 1, 18, 30), datetime(2025, 1, 2, 0, 1)) == (
        date(2025, 1, 1), date(2025, 1, 2))


def test_datetimes_take_whole_days_and_months_run_on(shop):
    with shop.app_context():
        data = collect(datetime(2025, 2, 10, 23, 0), datetime(2025, 2, 10, 1, 0))
        years = collect(date(2023, 12, 1), date(2025, 1, 31))
    assert data["totals"]["orders"] == 1  # O4 at 23:59:59; O5 the next midnight is out
    assert (data["start"], data["end"]) == (date(2025, 2, 10), date(2025, 2, 10))
    assert [row["month"] for row in years["by_month"]] == [
        "2023-12", *(f"2024-{m:02d}" for m in range(1, 13)), "2025-01"]
    assert years["totals"]["orders"] == 4  # O6, O1, O2, O3


def test_new_customers_at_the_range_edges(app):
    with app.app_context():
        for i, when in enumerate((datetime(2025, 3, 1), datetime(2025, 3, 31, 23, 59, 59),
                                  datetime(2025, 2, 28, 23, 59, 59), datetime(2025, 4, 1))):
            db.session.add(Customer(email=f"n{i}@example.com", name="N", country="X",
                                    created_at=when))
        db.session.commit()
        assert collect(date(2025, 3, 1), date(2025, 3, 31))["totals"]["new_customers"] == 2


def test_progress_steps(shop):
    calls = []
    with shop.app_context():
        collect(START, END, progress=lambda percent, message: calls.append(percent))
    assert calls == [0, 20, 40, 70, 85, 100]
