"""Queries behind the dashboard and /api/stats, memoized under the "stats" version
(caching.stats_name: invalidate_stats's bump refreshes them).

A sale counts when its status is pending, processed or imported (failed and cancelled
do not). Revenue is what the orders took less the refunds dated in the same span
(docs/figures.md). Periods are business days (settings.day_starts_at): "today" is the
current business day; a period of days [first, last] is
business_day_span(first)[0] <= t < business_day_span(last)[1].

Spans of whole business days are read from the daily figures (webapp.daily_reads: a few
thousand rows at a million orders); anything else, or figures summed with another day
start, from the orders (the same numbers: tests/test_daily_figures.py).
"""
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import extract, func

from . import daily_reads
from .caching import stats_name
from .extensions import cache, db
from .models import Customer, Order, OrderLine, Product, Refund
from .settings import business_day_of, business_day_span, day_start, today_business_day

COUNTED = ("pending", "processed", "imported")


def month_of(column):
    """'YYYY-MM' of a datetime column, in the SQL of the database in use."""
    if db.engine.dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    # SQLite stores 'YYYY-MM-DD HH:MM:SS': a substring is 1.4x cheaper than strftime.
    return func.substr(column, 1, 7)


def _refunded(*where):
    return int(db.session.scalar(
        db.select(func.coalesce(func.sum(Refund.amount_cents), 0)).where(*where)))


@cache.memoize(make_name=stats_name)
def summary():
    if daily_reads.usable():
        orders, total, refunded = daily_reads.totals()
        revenue = total - refunded
    else:
        orders, total = db.session.execute(
            db.select(func.count(Order.id), func.coalesce(func.sum(Order.total_cents), 0))
            .where(Order.status.in_(COUNTED))
        ).one()
        revenue = int(total) - _refunded()
    return {
        "orders": orders,
        "revenue_cents": int(revenue),
        "average_order_value_cents": int(revenue) // orders if orders else 0,
        "customers": db.session.scalar(db.select(func.count(Customer.id))),
        "products": db.session.scalar(db.select(func.count(Product.id))),
    }


@cache.memoize(make_name=stats_name)
def period_totals(start, end):
    """Orders and revenue with start <= created_at < end (ISO strings keep keys stable):
    the orders' totals less the refunds dated in the span."""
    whole = daily_reads.days(start, end)
    if whole:
        orders, total, refunded = daily_reads.totals(*whole)
        return {"orders": orders, "revenue_cents": total - refunded}
    since, until = datetime.fromisoformat(start), datetime.fromisoformat(end)
    orders, total = db.session.execute(
        db.select(func.count(Order.id), func.coalesce(func.sum(Order.total_cents), 0))
        .where(Order.created_at >= since)
        .where(Order.created_at < until)
        .where(Order.status.in_(COUNTED))
    ).one()
    refunded = _refunded(Refund.created_at >= since, Refund.created_at < until)
    return {"orders": orders, "revenue_cents": int(total) - refunded}


@cache.memoize(make_name=stats_name)
def top_products(since, until, limit=5):
    """Best sellers by revenue with since <= created_at < until."""
    whole = daily_reads.days(since, until)
    if whole:
        return _named(daily_reads.top_products(*whole, limit))
    revenue = func.sum(OrderLine.quantity * OrderLine.unit_price_cents).label("revenue")
    # Orders in range first (covering index), then their lines (covering index), then
    # names for the few winners only.
    best = (
        db.select(OrderLine.product_id, func.sum(OrderLine.quantity).label("quantity"), revenue)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.created_at >= datetime.fromisoformat(since))
        .where(Order.created_at < datetime.fromisoformat(until))
        .where(Order.status.in_(COUNTED))
        .group_by(OrderLine.product_id)
        .order_by(revenue.desc(), OrderLine.product_id)
        .limit(limit)
        .subquery()
    )
    rows = db.session.execute(
        db.select(Product.sku, Product.name, best.c.quantity, best.c.revenue)
        .join(best, best.c.product_id == Product.id)
        .order_by(best.c.revenue.desc(), Product.sku)
    ).all()
    return [
        {"sku": sku, "name": name, "quantity": int(qty), "revenue_cents": int(rev)}
        for sku, name, qty, rev in rows
    ]


def _named(best):
    """top_products' rows from [(product id, quantity, revenue)], best first."""
    names = dict(db.session.execute(
        db.select(Product.id, Product).where(Product.id.in_([b[0] for b in best]))).all())
    rows = [{"sku": names[pid].sku, "name": names[pid].name, "quantity": qty,
             "revenue_cents": rev} for pid, qty, rev in best]
    return sorted(rows, key=lambda r: (-r["revenue_cents"], r["sku"]))


@cache.memoize(make_name=stats_name)
def revenue_by_month(since):
    moment = datetime.fromisoformat(since)
    if business_day_span(business_day_of(moment))[0] == moment and daily_reads.usable():
        return [{"month": m, "orders": n, "revenue_cents": r}
                for m, n, r in daily_reads.by_calendar_month(business_day_of(moment))]
    month = month_of(Order.created_at)
    rows = db.session.execute(
        db.select(month, func.count(Order.id), func.sum(Order.total_cents))
        .where(Order.created_at >= datetime.fromisoformat(since))
        .where(Order.status.in_(COUNTED))
        .group_by(month)
        .order_by(month)
    ).all()
    return [{"month": m, "orders": n, "revenue_cents": int(r)} for m, n, r in rows]


def hour_of(column):
    """The clock hour (0-23) of a datetime column (SQLAlchemy writes EXTRACT in each
    database's SQL: strftime on SQLite)."""
    return func.cast(extract("hour", column), db.Integer)


@cache.memoize(make_name=stats_name)
def sales_by_hour(start, end):
    """24 rows in the order of the business day (from the hour it starts): hour, orders,
    revenue (order totals less the refunds made in that hour), start <= t < end."""
    rows = [{"hour": h, "orders": 0, "revenue_cents": 0} for h in range(24)]
    whole = daily_reads.days(start, end)
    if whole:
        for h, (n, revenue) in daily_reads.by_hour(*whole).items():
            rows[h].update(orders=n, revenue_cents=revenue)
        first = day_start().hour
        return rows[first:] + rows[:first]
    since, until = datetime.fromisoformat(start), datetime.fromisoformat(end)
    hour = hour_of(Order.created_at)
    for h, n, total in db.session.execute(
            db.select(hour, func.count(Order.id), func.sum(Order.total_cents))
            .where(Order.created_at >= since, Order.created_at < until,
                   Order.status.in_(COUNTED)).group_by(hour)):
        rows[h].update(orders=n, revenue_cents=int(total))
    hour = hour_of(Refund.created_at)
    for h, amount in db.session.execute(
            db.select(hour, func.sum(Refund.amount_cents))
            .where(Refund.created_at >= since, Refund.created_at < until).group_by(hour)):
        rows[h]["revenue_cents"] -= int(amount)
    first = day_start().hour
    return rows[first:] + rows[:first]


@cache.memoize(make_name=stats_name)
def low_stock(limit=50):
    """Products at or below their reorder level (stock <= reorder_at), not archived,
    lowest stock first: (rows, how many in all)."""
    where = (Product.reorder_at.is_not(None), Product.stock <= Product.reorder_at,
             Product.archived.is_(False))
    rows = db.session.execute(
        db.select(Product.sku, Product.name, Product.stock, Product.reorder_at)
        .where(*where).order_by(Product.stock, Product.sku).limit(limit)).all()
    count = db.session.scalar(db.select(func.count(Product.id)).where(*where))
    return [{"sku": sku, "name": name, "stock": stock, "reorder_at": at}
            for sku, name, stock, at in rows], count


MEMOIZED = (summary, period_totals, top_products, revenue_by_month, sales_by_hour, low_stock)


def change_pct(current, base):
    """Change from base to current in percent, one decimal, half-up; None when the base
    is 0 (no percent of nothing)."""
    if base == 0:
        return None
    return float((Decimal(current - base) * 100 / Decimal(abs(base)))
                 .quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def year_before(day):
    """The same date a year before; 29 February -> the 28th."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def span(first, last):
    """ISO (start, end) of the business days first..last, both included."""
    return business_day_span(first)[0].isoformat(), business_day_span(last)[1].isoformat()


def comparison_periods(today):
    """(name, label, (first, last) now, (first, last) before, what before is called):
    today against the same weekday a week before; this month so far against the same
    number of days of last month (never past its end); this year so far against the
    same dates last year."""
    month_start = today.replace(day=1)
    last_month_end = month_start - timedelta(days=1)
    last_month_start = last_month_end.replace(day=1)
    same_days = min(last_month_start + timedelta(days=today.day - 1), last_month_end)
    year_start = today.replace(month=1, day=1)
    return [
        ("today", "Today", (today, today), (today - timedelta(days=7),) * 2,
         f"last {today:%A}"),
        ("month", "This month", (month_start, today), (last_month_start, same_days),
         "last month, same days"),
        ("year", "This year", (year_start, today),
         (year_start.replace(year=year_start.year - 1), year_before(today)),
         "last year, same dates"),
    ]


def comparisons(today):
    rows = []
    for name, label, now, before, before_label in comparison_periods(today):
        current, previous = period_totals(*span(*now)), period_totals(*span(*before))
        rows.append({
            "name": name, "label": label, "before_label": before_label,
            "from": now[0].isoformat(), "to": now[1].isoformat(),
            "previous_from": before[0].isoformat(), "previous_to": before[1].isoformat(),
            **current,
            "previous_orders": previous["orders"],
            "previous_revenue_cents": previous["revenue_cents"],
            "change_pct": change_pct(current["revenue_cents"], previous["revenue_cents"]),
        })
    return rows


def dashboard(today=None):
    """Everything the dashboard shows; `today` is a business day (default: the current
    one)."""
    today = today or today_business_day()
    month_start = today.replace(day=1)
    year_start = today.replace(month=1, day=1)
    tomorrow = span(today, today)[1]
    twelve_months_ago = (month_start.replace(year=month_start.year - 1)
                         + timedelta(days=32)).replace(day=1)
    year = period_totals(span(year_start, today)[0], tomorrow)
    low, low_count = low_stock()
    return {
        "today": period_totals(*span(today, today)),
        "month": period_totals(span(month_start, today)[0], tomorrow),
        "year": year,
        "average_order_value_cents": year["revenue_cents"] // year["orders"] if year["orders"] else 0,
        # 30 days: what sells now (and cheap: a year of lines costs ~100 ms at 100k orders)
        "top_products": top_products(span(today - timedelta(days=29), today)[0], tomorrow),
        "by_month": revenue_by_month(span(twelve_months_ago, today)[0]),
        "comparisons": comparisons(today),
        "by_hour": sales_by_hour(*span(today, today)),
        "low_stock": low,
        "low_stock_count": low_count,
    }


def customer_figures(customer_id):
    """A customer's lifetime: sales (orders that count), what they spent (those orders'
    totals less every refund of them), first and last visit. Not memoized: one
    customer's orders are few and read through their index."""
    orders, total, first, last = db.session.execute(
        db.select(func.count(Order.id), func.coalesce(func.sum(Order.total_cents), 0),
                  func.min(Order.created_at), func.max(Order.created_at))
        .where(Order.customer_id == customer_id, Order.status.in_(COUNTED))).one()
    refunded = _refunded(Refund.order_id.in_(
        db.select(Order.id).where(Order.customer_id == customer_id)))
    return {"orders": orders, "spent_cents": int(total) - refunded, "refunded_cents": refunded,
            "first_visit": first, "last_visit": last}
