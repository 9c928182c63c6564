"""The daily figures (webapp/daily_figures.py) against the orders themselves: after every
step of a random run (fixed seeds) of sales, processing, cancels, refunds, product and
order edits, imports and day-start changes, the tables equal the orders summed again
(`differences()` empty: a missing hook shows at the step that needs it), and the
dashboard's and the report's figures read from them equal those read from the orders.
Also: the demo loader and the `larder figures` command (PostgreSQL:
tests/test_daily_figures_postgres.py)."""
import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from test_cli import larder, one_line_error
from webapp import catalog, create_app, daily_figures, ordering, refunds, settings, stats, tax
from webapp.demo_data import load_demo
from webapp.extensions import db
from webapp.imports.engine import ImportFailed, import_file
from webapp.models import (Customer, DailySales, Order, OrderLine, Product, Refund,
                           RefundLine, now)
from webapp.reports.report_data import collect
from webapp.validation import ValidationError

COUNTED = ("pending", "processed", "imported")
RATES = (0, 550, 2000, None)


def make_shop(rng):
    products = [Product(sku=f"S{i}", name=f"Item {i}", category=rng.choice("ABC"),
                        price_cents=rng.randint(50, 5000), stock=rng.randint(0, 40),
                        cost_cents=None if i % 4 == 0 else rng.randint(10, 2000),
                        tax_rate_bp=RATES[i % 4]) for i in range(8)]
    customers = [Customer(email=f"c{i}@example.com", name=f"C{i}",
                          country=rng.choice(["UK", "FR"])) for i in range(6)]
    db.session.add_all(products + customers)
    db.session.commit()


def past_moment(rng):
    return (now().replace(hour=0, minute=0, second=0) - timedelta(days=rng.randint(0, 40))
            + timedelta(minutes=rng.randint(0, 24 * 60 - 1)))


# ---- the random steps ------------------------------------------------------------------

def sale_now(rng):
    products = db.session.execute(db.select(Product.sku)).scalars().all()
    data = {"lines": [{"sku": sku, "quantity": rng.randint(1, 4),
                       "discount": rng.choice([None, None, "0.10"])}
                      for sku in rng.sample(products, rng.randint(1, 3))],
            "payment_method": rng.choice(["cash", "card"]),
            "customer_email": rng.choice([None, "c1@example.com", "c2@example.com"]),
            "discount": rng.choice([None, None, "10%", "0.50"])}
    try:
        ordering.create_order(data)
    except ValidationError:
        db.session.rollback()


def sale_past(rng):
    """An order written through the session at any time of a past day, in any state."""
    products = rng.sample(db.session.execute(db.select(Product)).scalars().all(),
                          rng.randint(1, 3))
    lines = [tax.Line(rng.randint(1, 5), p.price_cents, p.tax_rate_bp or 2000,
                      rng.choice([0, 0, 5])) for p in products]
    priced = tax.price_order(lines, True, discount_percent_bp=rng.choice([None, 1000]))
    customers = db.session.execute(db.select(Customer.id)).scalars().all()
    order = Order(ref=f"P{rng.getrandbits(40):x}", created_at=past_moment(rng),
                  customer_id=rng.choice(customers + [None]),
                  status=rng.choice(COUNTED + ("failed", "cancelled")),
                  payment_method=rng.choice(["cash", "card", ""]),
                  gross_cents=priced.gross_cents, discount_cents=priced.discount_cents,
                  total_cents=priced.total_cents, tax_cents=priced.tax_cents)
    order.lines = [OrderLine(product_id=p.id, quantity=t.quantity,
                             unit_price_cents=t.unit_price_cents, tax_rate_bp=t.tax_rate_bp,
                             unit_cost_cents=p.cost_cents, discount_cents=t.discount_cents,
                             net_cents=pl.net_cents, tax_cents=pl.tax_cents)
                   for p, t, pl in zip(products, lines, priced.lines)]
    db.session.add(order)
    db.session.commit()


def _some(rng, *statuses):
    ids = db.session.execute(db.select(Order.id).where(Order.status.in_(statuses))
                             .order_by(Order.id)).scalars().all()
    return rng.choice(ids) if ids else None


def process(rng):
    order_id = _some(rng, "pending")
    if order_id:
        ordering.process_order(order_id)


def cancel(rng):
    order_id = _some(rng, "pending", "failed")
    if order_id:
        ordering.cancel_order(order_id, "test")


def refund(rng):
    order_id = _some(rng, "processed", "imported")
    if order_id is None:
        return
    order = db.session.get(Order, order_id)
    left = [(line, q) for line, q in refunds.refundable(order) if q > 0]
    if not left:
        return
    lines = None if rng.random() < 0.3 else [
        {"line_id": line.id, "quantity": rng.randint(1, q)} for line, q in
        rng.sample(left, rng.randint(1, len(left)))]
    refunds.refund_order(order_id, {"reason": "test", "lines": lines,
                                    "restock": rng.random() < 0.5,
                                    "payment_method": rng.choice(["", "cash"])})


def edit_product(rng):
    """Costs, prices and categories change; what was sold stays as it was."""
    product = rng.choice(db.session.execute(db.select(Product)).scalars().all())
    product.cost_cents = rng.choice([None, rng.randint(1, 900)])
    product.price_cents = rng.randint(50, 5000)
    product.category = rng.choice("ABCD")
    db.session.commit()


def edit_order(rng):
    """An order moved to another moment, given another method, a line changed, or its
    state changed, through the session."""
    order_id = _some(rng, *COUNTED, "failed", "cancelled")
    if order_id is None:
        return
    order = db.session.get(Order, order_id)
    what = rng.randrange(4)
    if what == 0:
        order.created_at = past_moment(rng)
    elif what == 1:
        order.payment_method = rng.choice(["cash", "card", "voucher"])
    elif what == 2:
        line = order.lines[0]
        line.quantity += 1
        line.net_cents += 100
        line.unit_cost_cents = rng.choice([None, 123])
    else:
        order.status = rng.choice(COUNTED + ("failed",))
    db.session.commit()


def import_orders(rng, folder):
    """Larder's orders CSV: new orders of past days, and now and then an order already
    in Larder with another quantity (rewritten, or refused when it has refunds)."""
    rows = ["order_ref,created_at,customer_email,sku,quantity,payment_method"]
    for i in range(rng.randint(1, 3)):
        ref, when = f"I{rng.getrandbits(40):x}", past_moment(rng)
        for sku in rng.sample(["S1", "S2", "S3", "S5"], rng.randint(1, 2)):
            rows.append(f"{ref},{when:%Y-%m-%d %H:%M:%S},c3@example.com,{sku},"
                        f"{rng.randint(1, 3)},{rng.choice(['cash', 'card'])}")
    again = db.session.execute(db.select(Order).where(Order.ref.like("I%"))).scalars().all()
    if again and rng.random() < 0.5:
        old = rng.choice(again)
        for line in old.lines:
            rows.append(f"{old.ref},{old.created_at:%Y-%m-%d %H:%M:%S},c3@example.com,"
                        f"{line.product.sku},{line.quantity + 1},{old.payment_method}")
    path = Path(folder) / f"orders-{rng.getrandbits(30)}.csv"
    path.write_text("\n".join(rows) + "\n")
    db.session.commit()
    try:
        import_file(path, format="orders")
    except ImportFailed:
        pass


SUMUP_HEAD = ("Account,Date,Time,Type,Transaction ID,Receipt Number,Payment Method,Quantity,"
              "Description,Currency,Price (Gross),Price (Net),Tax,Tax rate,Transaction refunded")


def import_till_refund(rng, folder):
    """A till's export (SumUp) with a sale and a refund of part of it: imported refunds."""
    txn, day = f"T{rng.getrandbits(30)}", past_moment(rng)
    path = Path(folder) / f"sumup-{txn}.csv"
    path.write_text("\n".join([
        SUMUP_HEAD,
        f"k@example.ch,{day:%d.%m.%y},10:02,Sales,{txn},S{txn},Card,2,Tea,EUR,8.40,7.00,"
        "1.40,20%,",
        f"k@example.ch,{day + timedelta(days=1):%d.%m.%y},09:30,Refund,R{txn},RR{txn},Card,1,"
        f"Tea,EUR,-4.20,-3.50,-0.70,20%,{txn}"]) + "\n")
    db.session.commit()
    import_file(path)


def edit_customer(rng):
    """A customer moves to another country (their sales count there), through the
    session."""
    customer = rng.choice(db.session.execute(db.select(Customer)).scalars().all())
    customer.country = rng.choice(["UK", "FR", "DE"])
    db.session.commit()


def merge(rng):
    customers = db.session.execute(db.select(Customer.id)).scalars().all()
    if len(customers) > 2:
        keep, drop = rng.sample(customers, 2)
        catalog.merge_customers(keep, drop)


def import_customers(rng, folder):
    """Larder's customers CSV giving a known customer another country."""
    customer = rng.choice(db.session.execute(db.select(Customer)).scalars().all())
    path = Path(folder) / f"customers-{rng.getrandbits(30)}.csv"
    path.write_text(f"email,name,country\n{customer.email},{customer.name},"
                    f"{rng.choice(['UK', 'FR', 'ES'])}\n")
    db.session.commit()
    import_file(path, format="customers")


def day_start(rng):
    settings.save({"day_starts_at": rng.choice(["00:00", "02:00", "04:30"])})


STEPS = [sale_now, sale_past, sale_past, process, cancel, refund, refund, edit_product,
         edit_order, import_orders, import_till_refund, day_start, edit_customer, merge,
         import_customers]
WITH_FOLDER = (import_orders, import_till_refund, import_customers)


# ---- what must hold after every step ---------------------------------------------------

def expected_period(first, last):
    """(orders, revenue) of business days first..last, summed here from the rows."""
    since, until = stats.span(first, last)
    since, until = datetime.fromisoformat(since), datetime.fromisoformat(until)
    orders = [o for o in db.session.execute(db.select(Order)).scalars()
              if o.status in COUNTED and since <= o.created_at < until]
    back = sum(r.amount_cents for r in db.session.execute(db.select(Refund)).scalars()
               if since <= r.created_at < until)
    return {"orders": len(orders), "revenue_cents": sum(o.total_cents for o in orders) - back}


def check_all(rng, step):
    db.session.expire_all()
    assert daily_figures.differences() == [], f"after {step}"
    assert daily_figures.current(db.session.connection())
    today = settings.today_business_day()
    for _ in range(2):
        first = today - timedelta(days=rng.randint(0, 45))
        last = min(today, first + timedelta(days=rng.randint(0, 30)))
        assert collect(first, last) == collect(first, last, raw=True), f"after {step}"
        assert stats.period_totals.uncached(*stats.span(first, last)) == \
            expected_period(first, last), f"after {step}"
    hours = stats.sales_by_hour.uncached(*stats.span(today, today))
    assert sum(h["revenue_cents"] for h in hours) == expected_period(today, today)[
        "revenue_cents"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_changes_keep_the_daily_figures_equal_to_the_orders(app, tmp_path, seed):
    rng = random.Random(seed)
    with app.app_context():
        make_shop(rng)
        check_all(rng, "the shop")
        for i in range(50):
            step = rng.choice(STEPS)
            if step in WITH_FOLDER:
                step(rng, tmp_path)
            else:
                step(rng)
            check_all(rng, f"step {i}: {step.__name__}")
        assert db.session.scalar(db.select(db.func.count(Refund.id))) > 0


def test_the_dashboard_reads_the_same_figures_as_the_orders_give(app):
    """The dashboard's sections from the daily figures equal those from the orders
    (the tables emptied and marked for another day start: stats reads the orders)."""
    with app.app_context():
        load_demo(orders=600, days=60, seed=5)
        assert daily_figures.differences() == []
        parts = {name: fn.uncached for name, fn in (
            ("summary", stats.summary), ("period", stats.period_totals),
            ("top", stats.top_products), ("months", stats.revenue_by_month),
            ("hours", stats.sales_by_hour))}
        today = settings.today_business_day()
        calls = [("summary", ()), ("period", stats.span(today - timedelta(days=40), today)),
                 ("top", stats.span(today - timedelta(days=29), today)),
                 ("months", (stats.span(today - timedelta(days=50), today)[0],)),
                 ("hours", stats.span(today, today)),
                 ("hours", stats.span(today - timedelta(days=3), today - timedelta(days=3)))]
        from_tables = [parts[name](*args) for name, args in calls]
        db.session.execute(daily_figures.BASIS.update().values(day_starts_at="99:99"))
        from_orders = [parts[name](*args) for name, args in calls]
        db.session.rollback()
        assert from_tables == from_orders


def test_a_new_day_start_rebuilds_and_the_figures_follow(app):
    with app.app_context():
        load_demo(orders=300, days=20, seed=3)
        # The demo's hours follow the clock (its last sales are the last hours): a few
        # sales before 03:15 whatever the time the test runs.
        early = db.session.scalars(db.select(Order).where(Order.status.in_(COUNTED))
                                   .order_by(Order.id).limit(3)).all()
        for order, (hour, minute) in zip(early, [(0, 30), (2, 45), (3, 10)]):
            order.created_at = order.created_at.replace(hour=hour, minute=minute)
        db.session.commit()
        settings.save({"day_starts_at": "03:15"})
        assert daily_figures.basis(db.session.connection()) == "03:15"
        assert daily_figures.differences() == []
        hours = db.session.execute(db.select(DailySales.hour, DailySales.next_date)
                                   .where(DailySales.next_date.is_(True))).all()
        assert {h for h, _ in hours} >= {0, 2, 3} and all(h <= 3 for h, _ in hours)


def test_demo_data_and_cancelled_orders_count_nowhere(app):
    with app.app_context():
        load_demo(orders=400, days=30, seed=9)
        assert daily_figures.differences() == []
        n, total, _ = db.session.execute(db.select(
            db.func.sum(DailySales.orders), db.func.sum(DailySales.total_cents),
            db.func.sum(DailySales.refunds_cents))).one()
        assert n == db.session.scalar(db.select(db.func.count(Order.id))
                                      .where(Order.status.in_(COUNTED)))
        assert total == db.session.scalar(db.select(db.func.sum(Order.total_cents))
                                          .where(Order.status.in_(COUNTED)))


def test_figures_command_checks_and_rebuilds(app, data_dir):
    with app.app_context():
        load_demo(orders=200, days=10, seed=1)
        db.session.execute(daily_figures.SALES.delete().where(
            daily_figures.SALES.c.hour == 12))
        db.session.commit()
    result = larder(data_dir, "figures", "check")
    assert result.returncode == 1 and "differ" in result.stdout
    result = larder(data_dir, "figures", "rebuild")
    assert result.returncode == 0, result.stderr
    result = larder(data_dir, "figures", "check")
    assert result.returncode == 0 and "agree" in result.stdout
    one_line_error(larder(data_dir, "figures", "sideways"))


def test_refund_lines_of_a_line_changed_after_count_with_its_product(app):
    """A refund counts under the product of the line it refunds (and moves with it)."""
    with app.app_context():
        make_shop(random.Random(4))
        sale_past(random.Random(8))
        order = db.session.execute(db.select(Order)).scalar_one()
        order.status = "imported"
        db.session.commit()
        refunds.refund_order(order.id, {"reason": "x"})
        line = db.session.execute(db.select(OrderLine)).scalars().first()
        line.product_id = db.session.execute(
            db.select(Product.id).where(Product.id != line.product_id)).scalars().first()
        db.session.commit()
        assert db.session.scalar(db.select(db.func.count(RefundLine.id))) > 0
        assert daily_figures.differences() == []


def test_the_dashboard_and_report_read_the_daily_figures_not_the_orders(app):
    """For whole days they read the tables (a row changed by hand shows), and not
    when the tables were summed with another day start (the orders' figures again)."""
    with app.app_context():
        load_demo(orders=300, days=30, seed=6)
        today = settings.today_business_day()
        first = today - timedelta(days=20)
        before = (stats.summary.uncached()["revenue_cents"],
                  stats.period_totals.uncached(*stats.span(first, today))["revenue_cents"],
                  collect(first, today)["totals"]["revenue_cents"])
        db.session.execute(daily_figures.SALES.update().values(
            total_cents=daily_figures.SALES.c.total_cents + 1))
        rows = db.session.scalar(db.select(db.func.count()).select_from(daily_figures.SALES)
                                 .where(daily_figures.SALES.c.day >= first))
        assert (stats.summary.uncached()["revenue_cents"],
                stats.period_totals.uncached(*stats.span(first, today))["revenue_cents"],
                collect(first, today)["totals"]["revenue_cents"]) == (
            before[0] + db.session.scalar(db.select(db.func.count())
                                          .select_from(daily_figures.SALES)),
            before[1] + rows, before[2] + rows)
        db.session.execute(daily_figures.BASIS.update().values(day_starts_at="01:00"))
        assert daily_figures.differences()[0] == ("figures_basis", (), "01:00", "00:00")
        assert stats.summary.uncached()["revenue_cents"] == before[0]
        assert collect(first, today)["totals"]["revenue_cents"] == before[2]
        db.session.rollback()


def test_a_day_start_set_in_larder_toml_is_summed_at_the_next_start(app, data_dir):
    with app.app_context():
        load_demo(orders=200, days=10, seed=2)
        assert daily_figures.basis(db.session.connection()) == "00:00"
    (data_dir / "larder.toml").write_text('[shop]\nday_starts_at = "02:30"\n')
    again = create_app({"TESTING": True, "LARDER_TOKEN": "t"}, data_dir=data_dir)
    with again.app_context():
        assert daily_figures.basis(db.session.connection()) == "02:30"
        assert daily_figures.differences() == []
        db.session.remove()
        db.engine.dispose()


def test_ids_in_runs_are_read_as_ranges():
    """An import's ids follow each other: one BETWEEN, not thousands of values in IN."""
    import sqlalchemy as sa

    clauses = daily_figures.in_ids(sa.column("id"), [42, *range(1, 21), 40, 3])
    assert [str(c.compile(compile_kwargs={"literal_binds": True})) for c in clauses] == [
        "id BETWEEN 1 AND 20", "id IN (40, 42)"]
