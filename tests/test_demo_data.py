"""Demo data: deterministic, plausible, consistent, and careful with existing data."""
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
import json

import pytest
from sqlalchemy import func, select, text

from webapp import create_app, demo_data, settings
from webapp.demo_data import DemoError, load_demo
from webapp.extensions import db
from webapp.models import (Activity, Customer, Order, OrderLine, Product, Refund, RefundLine,
                           Setting, User, ZReport)

END = date(2024, 3, 10)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def other_app(tmp_path):
    """A second, independent data dir."""
    app = create_app({"TESTING": True}, data_dir=tmp_path / "other")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def snapshot():
    """Everything demo data writes, except when the rows were written."""
    tables = []
    for model in (Product, Customer, Order, OrderLine, Refund, RefundLine):
        columns = [c for c in model.__table__.c if c.name != "updated_at"]
        tables.append(list(map(tuple, db.session.execute(
            select(*columns).order_by(model.__table__.c.id)).all())))
    return tables


def half_up(numerator, denominator):
    """Rounded half-up, by Decimal: the test's own arithmetic, not webapp.tax's."""
    return int((Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), ROUND_HALF_UP))


def rows(model):
    return db.session.execute(select(model)).scalars().all()


def count(model):
    return db.session.execute(select(func.count()).select_from(model)).scalar()


def test_same_seed_same_data_other_seed_differs(ctx, other_app):
    counts = load_demo(orders=400, seed=7, end=END, days=90)
    first = snapshot()
    with other_app.app_context():
        assert load_demo(orders=400, seed=7, end=END, days=90) == counts
        assert snapshot() == first
        load_demo(orders=400, seed=8, end=END, days=90, replace=True)
        second = snapshot()
    assert len(second[2]) == len(first[2]) == 400 and first[4] and first[5]
    assert all(second[i] != first[i] for i in range(6))


def test_counts_and_shape(ctx, monkeypatch):
    cleared = []
    monkeypatch.setattr(demo_data.caching, "clear_all", lambda: cleared.append(1))
    counts = load_demo(orders=2000, seed=1, end=END, days=120)
    assert cleared == [1]
    assert counts == {"products": count(Product), "customers": count(Customer),
                      "orders": count(Order), "lines": count(OrderLine),
                      "refunds": count(Refund)}
    assert 100 <= counts["products"] <= 150
    assert counts["customers"] == 250 and counts["orders"] == 2000
    assert 2000 * 1.5 < counts["lines"] < 2000 * 3.5

    products = db.session.execute(select(Product)).scalars().all()
    assert len({p.sku for p in products}) == len(products)
    assert {"Bakery", "Dairy", "Produce", "Pantry", "Beverages", "Deli", "Frozen",
            "Household"} <= {p.category for p in products}
    assert all(0 <= p.stock <= 500 and 5 <= p.price_cents < 5000 for p in products)

    customers = db.session.execute(select(Customer)).scalars().all()
    emails = [c.email for c in customers]
    assert len(set(emails)) == len(emails)
    assert all("@" in e and ".example." in f".{e.split('@')[1]}" for e in emails)
    countries = [c.country for c in customers]
    home = max(set(countries), key=countries.count)
    assert countries.count(home) > len(countries) / 2 and len(set(countries)) >= 3
    assert all(c.name and c.city for c in customers)
    start = datetime.combine(END - timedelta(days=119), datetime.min.time())
    assert any(c.created_at < start for c in customers)

    refs, first, last, per_day = db.session.execute(text(
        "SELECT count(DISTINCT ref), min(created_at), max(created_at), "
        "count(DISTINCT date(created_at)) FROM orders")).one()
    assert refs == 2000
    assert start <= datetime.fromisoformat(first) and \
        datetime.fromisoformat(last) < datetime.combine(END + timedelta(days=1),
                                                         datetime.min.time())
    assert per_day > 100  # spread over the days, not bunched
    assert db.session.execute(select(func.min(Order.ref), func.max(Order.ref))).one() == \
        ("D000001", "D002000")
    statuses = db.session.execute(select(Order.status)).scalars().all()
    assert set(statuses) == {"imported", "cancelled"}
    assert 0 < statuses.count("cancelled") < 2000 * 0.02
    on_end = db.session.execute(text(
        "SELECT count(*) FROM orders WHERE date(created_at) = :d"), {"d": END.isoformat()})
    assert on_end.scalar() > 0
    hours = db.session.execute(text(
        "SELECT min(strftime('%H', created_at)), max(strftime('%H', created_at)) FROM orders"))
    assert hours.one() == ("07", "22")  # opening hours, and a few late evening sales
    late = db.session.execute(text(
        "SELECT count(*) FROM orders WHERE strftime('%H', created_at) >= '21'")).scalar()
    assert 0 < late < 2000 * 0.05


def test_orders_are_consistent(ctx):
    load_demo(orders=500, seed=5, end=END, days=60)
    bad_totals = db.session.execute(text(
        "SELECT count(*) FROM orders o WHERE total_cents != (SELECT sum(net_cents + "
        "tax_cents) FROM order_lines l WHERE l.order_id = o.id) "
        "OR gross_cents - discount_cents != total_cents")).scalar()
    assert bad_totals == 0
    per_order = db.session.execute(text(
        "SELECT min(n), max(n) FROM (SELECT count(*) n FROM order_lines GROUP BY order_id)"))
    low, high = per_order.one()
    assert low >= 1 and high <= 5
    quantities = db.session.execute(select(func.min(OrderLine.quantity),
                                           func.max(OrderLine.quantity))).one()
    assert quantities[0] >= 1 and quantities[1] <= 6
    off_price = db.session.execute(text(
        "SELECT count(*) FROM order_lines l JOIN products p ON p.id = l.product_id "
        "WHERE l.unit_price_cents != p.price_cents")).scalar()
    assert off_price == 0
    before_joining = db.session.execute(text(
        "SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id "
        "WHERE c.created_at > o.created_at")).scalar()
    assert before_joining == 0


def lines_by_order():
    lines = defaultdict(list)
    for line in rows(OrderLine):
        lines[line.order_id].append(line)
    return lines


def order_discount(order, subtotal):
    if order.discount_percent_bp is not None:
        return half_up(subtotal * order.discount_percent_bp, 10_000)
    return order.discount_amount_cents or 0


@pytest.mark.parametrize("seed", [5, 6])
def test_money_as_an_invoice_computes_it_prices_with_tax(ctx, seed):
    """Every order's figures, recomputed here from its rows: lines add up to the order,
    discounts as entered, tax per rate rounded half-up on what the rate's lines came to."""
    load_demo(orders=800, seed=seed, end=END, days=60)
    products = {p.id: p for p in rows(Product)}
    default_rate = settings.get("default_tax_rate_bp")
    currency = settings.get("currency")  # the shop's default (from the system's locale)
    lines = lines_by_order()
    for order in rows(Order):
        assert order.currency == currency and order.prices_include_tax is True
        mine = lines[order.id]
        assert order.total_cents == sum(l.net_cents + l.tax_cents for l in mine)
        assert order.gross_cents - order.discount_cents == order.total_cents
        assert order.tax_cents == sum(l.tax_cents for l in mine)
        assert order.discount_percent_bp is None or order.discount_amount_cents is None
        subtotal = sum(l.quantity * l.unit_price_cents - l.discount_cents for l in mine)
        assert order.gross_cents == sum(l.quantity * l.unit_price_cents for l in mine)
        assert order.total_cents == subtotal - order_discount(order, subtotal)
        by_rate = defaultdict(lambda: [0, 0])
        for line in mine:
            product = products[line.product_id]
            assert line.unit_cost_cents == product.cost_cents
            assert line.tax_rate_bp == (default_rate if product.tax_rate_bp is None
                                        else product.tax_rate_bp)
            assert 0 <= line.discount_cents <= line.quantity * line.unit_price_cents
            by_rate[line.tax_rate_bp][0] += line.net_cents + line.tax_cents
            by_rate[line.tax_rate_bp][1] += line.tax_cents
        for rate, (amount, tax) in by_rate.items():
            assert tax == half_up(amount * rate, 10_000 + rate), (order.ref, rate)


def set_shop(app, **values):
    """Store settings as the Settings page does, then read them afresh (settings are
    read once per app context): the caller's context is a new one."""
    with app.app_context():
        stamp = datetime(2024, 1, 1)
        db.session.add_all([Setting(key=k, value=json.dumps(v), updated_at=stamp)
                            for k, v in values.items()])
        db.session.commit()
    return app.app_context()


def test_money_with_prices_before_tax_and_the_shops_currency(app):
    with set_shop(app, prices_include_tax=False, currency="GBP", default_tax_rate_bp=1900):
        load_demo(orders=600, seed=3, end=END, days=60)
        lines = lines_by_order()
        household = {p.id for p in rows(Product) if p.category == "Household"}
        for order in rows(Order):
            assert order.currency == "GBP" and order.prices_include_tax is False
            mine = lines[order.id]
            subtotal = sum(l.quantity * l.unit_price_cents - l.discount_cents for l in mine)
            assert sum(l.net_cents for l in mine) == subtotal - order_discount(order, subtotal)
            assert order.total_cents == sum(l.net_cents + l.tax_cents for l in mine)
            assert order.gross_cents - order.discount_cents == order.total_cents
            gross = 0
            for rate in {l.tax_rate_bp for l in mine}:
                of_rate = [l for l in mine if l.tax_rate_bp == rate]
                net = sum(l.net_cents for l in of_rate)
                assert sum(l.tax_cents for l in of_rate) == half_up(net * rate, 10_000)
                undiscounted = sum(l.quantity * l.unit_price_cents for l in of_rate)
                gross += undiscounted + half_up(undiscounted * rate, 10_000)
            assert order.gross_cents == gross
            assert all(l.tax_rate_bp == 1900 for l in mine if l.product_id in household)
        rates = set(db.session.execute(select(OrderLine.tax_rate_bp)).scalars())
        assert rates == {0, 550, 1900, 2000}


def test_refunds_never_more_than_sold_dated_a_later_day(ctx):
    load_demo(orders=3000, seed=4, end=END, days=90)
    limit = datetime.combine(END, datetime.max.time())
    orders = {o.id: o for o in rows(Order)}
    sold = {l.id: l for l in rows(OrderLine)}
    refunded = defaultdict(int)  # order line id: quantity
    per_order = defaultdict(int)
    kinds = set()
    refunds = rows(Refund)
    assert len(refunds) > 10
    for refund in refunds:
        order = orders[refund.order_id]
        assert order.status == "imported" and refund.payment_method == order.payment_method
        assert order.created_at.date() < refund.created_at.date() and refund.created_at <= limit
        assert 7 <= refund.created_at.hour <= 22 and refund.reason
        assert refund.lines
        for part in refund.lines:
            line = sold[part.order_line_id]
            assert line.order_id == order.id and part.tax_rate_bp == line.tax_rate_bp
            assert 1 <= part.quantity <= line.quantity
            # its share of what the line came to, rounded half-up
            assert part.net_cents == half_up(line.net_cents * part.quantity, line.quantity)
            assert part.tax_cents == half_up(line.tax_cents * part.quantity, line.quantity)
            assert part.cost_cents == (None if line.unit_cost_cents is None
                                       else line.unit_cost_cents * part.quantity)
            refunded[line.id] += part.quantity
        assert refund.net_cents == sum(p.net_cents for p in refund.lines)
        assert refund.tax_cents == sum(p.tax_cents for p in refund.lines)
        assert refund.amount_cents == refund.net_cents + refund.tax_cents > 0
        per_order[order.id] += refund.amount_cents
        whole = {p.order_line_id: p.quantity for p in refund.lines} == {
            l.id: l.quantity for l in order.lines}
        kinds.add(("whole" if whole else "partial", refund.restocked))
    assert all(quantity <= sold[line].quantity for line, quantity in refunded.items())
    assert all(amount <= orders[order].total_cents for order, amount in per_order.items())
    assert kinds == {("whole", True), ("whole", False), ("partial", True), ("partial", False)}


def test_a_shop_with_everything_the_reports_show(ctx):
    load_demo(orders=2000, seed=2, end=END, days=60)
    products = rows(Product)
    without_cost = [p for p in products if p.cost_cents is None]
    assert 0 < len(without_cost) < len(products) / 5  # most products have a cost
    assert all(0 < p.cost_cents < p.price_cents for p in products if p.cost_cents)
    low = [p for p in products if p.reorder_at is not None and p.stock <= p.reorder_at]
    assert 0 < len(low) < len(products) / 5
    # the alert went out when they crossed (no email for each on the first sale)
    assert {p.id for p in products if p.low_stock_alerted} == {p.id for p in low}
    lines = rows(OrderLine)
    assert {l.tax_rate_bp for l in lines} == {0, 550, 2000}
    assert any(l.unit_cost_cents is None for l in lines)
    assert 0 < sum(1 for l in lines if l.discount_cents) < len(lines) / 10
    orders = rows(Order)
    methods = [o.payment_method for o in orders]
    assert set(methods) == {"cash", "card", "voucher"}
    assert methods.count("card") > methods.count("cash") > methods.count("voucher") > 0
    assert 0.2 < sum(o.customer_id is None for o in orders) / len(orders) < 0.4  # walk-ins
    percent = [o for o in orders if o.discount_percent_bp]
    amount = [o for o in orders if o.discount_amount_cents]
    assert percent and amount and len(percent) + len(amount) < len(orders) / 10
    assert all(o.customer_id is not None for o in percent if o.discount_percent_bp == 1000)
    cancelled = [o for o in orders if o.status == "cancelled"]
    assert cancelled and all(o.status_reason for o in cancelled)
    assert count(Refund) > 0
    assert {"cash", "card", "voucher"} <= set(settings.get("payment_methods"))


def test_the_shops_own_payment_methods_are_kept(app):
    with set_shop(app, payment_methods=["card", "cheque"]):
        load_demo(orders=50, seed=1, end=END, days=10)
        assert settings.get("payment_methods") == ["card", "cheque", "cash", "voucher"]
    with app.app_context():
        assert settings.get("payment_methods") == ["card", "cheque", "cash", "voucher"]


def test_nothing_after_the_end_moment(ctx):
    """`end` as a moment: that day's sales stop there, as today's stop at now."""
    end = datetime(2024, 3, 10, 9, 30)
    load_demo(orders=3000, seed=9, end=end, days=30)
    latest = [db.session.execute(select(func.max(model.created_at))).scalar()
              for model in (Order, Refund, Customer)]
    assert all(moment <= end for moment in latest), latest
    last_day = db.session.execute(text(
        "SELECT count(*) FROM orders WHERE date(created_at) = '2024-03-10'")).scalar()
    # the day so far: hours 7, 8 and half of 9 of a whole day's ~100 weight
    assert 0 < last_day < 3000 / 30 * 0.3


def test_before_opening_time_today_still_has_a_sale(ctx):
    end = datetime(2024, 3, 10, 5, 0)
    load_demo(orders=500, seed=9, end=end, days=30)
    on_end = db.session.execute(select(Order.created_at).where(
        Order.created_at >= datetime(2024, 3, 10))).scalars().all()
    assert len(on_end) == 1 and on_end[0] <= end
    load_demo(orders=20, seed=9, end=end, days=1, replace=True)  # only that early day
    moments = db.session.execute(select(Order.created_at)).scalars().all()
    assert len(moments) == 20 and all(datetime(2024, 3, 10) <= m <= end for m in moments)


def test_the_default_end_is_now(ctx):
    load_demo(orders=4000, seed=3, days=14)
    now = datetime.now()
    for model in (Order, Refund, Customer):
        latest = db.session.execute(select(func.max(model.created_at))).scalar()
        assert latest <= now, model
    assert count(Refund) > 0


def test_zero_orders_still_gives_a_catalogue(ctx):
    assert load_demo(orders=0, end=END) == {"products": count(Product), "customers": 50,
                                            "orders": 0, "lines": 0, "refunds": 0}
    assert count(Product) >= 100


def test_refuses_existing_data_without_replace(ctx):
    db.session.add(Product(sku="MINE", name="Mine", category="X", price_cents=1, stock=1))
    db.session.commit()
    with pytest.raises(DemoError, match="already holds data; use --replace"):
        load_demo(orders=10, end=END)
    assert db.session.execute(select(Product.sku)).scalars().all() == ["MINE"]


def test_replace_keeps_users_and_activities(ctx):
    assert load_demo(orders=1000, seed=1, end=END, days=30)["refunds"] > 0
    user = User(username="sam", role="staff")
    db.session.add(user)
    db.session.flush()
    db.session.add(Activity(user_id=user.id, text="did things"))
    db.session.commit()
    users_before = count(User)
    counts = load_demo(orders=300, seed=2, end=END, days=30, replace=True)
    assert (count(Order), count(OrderLine), count(Customer), count(Refund)) == \
        (300, counts["lines"], counts["customers"], counts["refunds"])
    assert count(RefundLine) >= counts["refunds"]
    assert count(User) == users_before and count(Activity) == 1
    assert db.session.execute(select(func.max(Order.id))).scalar() == 300


def test_closed_days_are_data_and_go_with_the_sales_they_closed(ctx):
    stamp = datetime(2024, 3, 1, 22)
    db.session.add(ZReport(number=1, business_day=date(2024, 3, 1), since=stamp,
                           until=stamp, json_body="{}", sha256="0" * 64))
    db.session.commit()
    with pytest.raises(DemoError, match="already holds data"):
        load_demo(orders=10, end=END)
    load_demo(orders=10, end=END, replace=True)
    assert count(ZReport) == 0 and count(Order) == 10


@pytest.mark.parametrize("kwargs, message", [
    ({"orders": -1}, "orders must be between 0 and 5,000,000"),
    ({"orders": 5_000_001}, "orders must be between 0 and 5,000,000"),
    ({"orders": "10"}, "orders must be a whole number"),
    ({"days": 0}, "days must be a whole number between 1"),
    ({"end": "2024-01-01"}, "end must be a date"),
    ({"end": date.today() + timedelta(days=1)}, "end must not be after today"),
    ({"end": datetime.combine(date.today() + timedelta(days=1), datetime.min.time())},
     "end must not be after today"),
    ({"seed": None}, "seed must be a whole number or text"),
])
def test_bad_arguments(ctx, kwargs, message):
    with pytest.raises(DemoError, match=message):
        load_demo(**kwargs)
    assert count(Product) == 0


def test_default_end_is_today_and_today_is_never_empty(ctx):
    load_demo(orders=5, days=730)  # far fewer orders than days
    today = db.session.execute(text(
        "SELECT count(*) FROM orders WHERE date(created_at) = :d"),
        {"d": date.today().isoformat()}).scalar()
    assert today >= 1 and count(Order) == 5
