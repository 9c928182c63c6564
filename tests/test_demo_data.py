"""Demo data: deterministic, plausible, consistent, and careful with existing data."""
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from webapp import create_app, demo_data
from webapp.demo_data import DemoError, load_demo
from webapp.extensions import db
from webapp.models import Activity, Customer, Order, OrderLine, Product, User

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
    products = db.session.execute(select(Product.id, Product.sku, Product.name,
                                         Product.category, Product.price_cents,
                                         Product.stock).order_by(Product.id)).all()
    customers = db.session.execute(select(Customer.id, Customer.email, Customer.name,
                                          Customer.country, Customer.city,
                                          Customer.created_at).order_by(Customer.id)).all()
    orders = db.session.execute(select(Order.id, Order.ref, Order.customer_id,
                                       Order.created_at, Order.status,
                                       Order.total_cents).order_by(Order.id)).all()
    lines = db.session.execute(select(OrderLine.order_id, OrderLine.product_id,
                                      OrderLine.quantity, OrderLine.unit_price_cents)
                               .order_by(OrderLine.id)).all()
    return [list(map(tuple, rows)) for rows in (products, customers, orders, lines)]


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
    assert len(second[2]) == len(first[2]) == 400
    assert second[1] != first[1] and second[2] != first[2] and second[0] != first[0]


def test_counts_and_shape(ctx, monkeypatch):
    cleared = []
    monkeypatch.setattr(demo_data.caching, "clear_all", lambda: cleared.append(1))
    counts = load_demo(orders=2000, seed=1, end=END, days=120)
    assert cleared == [1]
    assert counts == {"products": count(Product), "customers": count(Customer),
                      "orders": count(Order), "lines": count(OrderLine)}
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
    assert set(db.session.execute(select(Order.status)).scalars()) == {"imported"}
    on_end = db.session.execute(text(
        "SELECT count(*) FROM orders WHERE date(created_at) = :d"), {"d": END.isoformat()})
    assert on_end.scalar() > 0
    hours = db.session.execute(text(
        "SELECT min(strftime('%H', created_at)), max(strftime('%H', created_at)) FROM orders"))
    assert hours.one() == ("07", "20")


def test_orders_are_consistent(ctx):
    load_demo(orders=500, seed=5, end=END, days=60)
    bad_totals = db.session.execute(text(
        "SELECT count(*) FROM orders o WHERE total_cents != (SELECT sum(quantity * "
        "unit_price_cents) FROM order_lines l WHERE l.order_id = o.id)")).scalar()
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


def test_zero_orders_still_gives_a_catalogue(ctx):
    assert load_demo(orders=0, end=END) == {"products": count(Product), "customers": 50,
                                            "orders": 0, "lines": 0}
    assert count(Product) >= 100


def test_refuses_existing_data_without_replace(ctx):
    db.session.add(Product(sku="MINE", name="Mine", category="X", price_cents=1, stock=1))
    db.session.commit()
    with pytest.raises(DemoError, match="already holds data; use --replace"):
        load_demo(orders=10, end=END)
    assert db.session.execute(select(Product.sku)).scalars().all() == ["MINE"]


def test_replace_keeps_users_and_activities(ctx):
    load_demo(orders=100, seed=1, end=END, days=30)
    user = User(username="sam", role="staff")
    db.session.add(user)
    db.session.flush()
    db.session.add(Activity(user_id=user.id, text="did things"))
    db.session.commit()
    users_before = count(User)
    counts = load_demo(orders=300, seed=2, end=END, days=30, replace=True)
    assert (count(Order), count(OrderLine), count(Customer)) == \
        (300, counts["lines"], counts["customers"])
    assert count(User) == users_before and count(Activity) == 1
    assert db.session.execute(select(func.max(Order.id))).scalar() == 300


@pytest.mark.parametrize("kwargs, message", [
    ({"orders": -1}, "orders must be between 0 and 5,000,000"),
    ({"orders": 5_000_001}, "orders must be between 0 and 5,000,000"),
    ({"orders": "10"}, "orders must be a whole number"),
    ({"days": 0}, "days must be a whole number between 1"),
    ({"end": "2024-01-01"}, "end must be a date"),
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
