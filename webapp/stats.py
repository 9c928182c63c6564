"""Queries behind the dashboard and /api/stats, memoized (invalidated by delete_memoized).

Failed orders do not count as sales; pending, processed and imported ones do.
"""
from datetime import date, datetime, timedelta

from sqlalchemy import func

from .extensions import cache, db
from .models import Customer, Order, OrderLine, Product

COUNTED = ("pending", "processed", "imported")


def month_of(column):
    """'YYYY-MM' of a datetime column, in the SQL of the database in use."""
    if db.engine.dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


@cache.memoize()
def summary():
    orders, revenue = db.session.execute(
        db.select(func.count(Order.id), func.coalesce(func.sum(Order.total_cents), 0))
        .where(Order.status.in_(COUNTED))
    ).one()
    return {
        "orders": orders,
        "revenue_cents": int(revenue),
        "average_order_value_cents": int(revenue) // orders if orders else 0,
        "customers": db.session.scalar(db.select(func.count(Customer.id))),
        "products": db.session.scalar(db.select(func.count(Product.id))),
    }


@cache.memoize()
def period_totals(start, end):
    """Orders and revenue with start <= created_at < end (ISO strings keep keys stable)."""
    orders, revenue = db.session.execute(
        db.select(func.count(Order.id), func.coalesce(func.sum(Order.total_cents), 0))
        .where(Order.created_at >= datetime.fromisoformat(start))
        .where(Order.created_at < datetime.fromisoformat(end))
        .where(Order.status.in_(COUNTED))
    ).one()
    return {"orders": orders, "revenue_cents": int(revenue)}


@cache.memoize()
def top_products(since, limit=5):
    revenue = func.sum(OrderLine.quantity * OrderLine.unit_price_cents)
    rows = db.session.execute(
        db.select(Product.sku, Product.name, func.sum(OrderLine.quantity), revenue)
        .join(OrderLine, OrderLine.product_id == Product.id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.created_at >= datetime.fromisoformat(since))
        .where(Order.status.in_(COUNTED))
        .group_by(Product.id)
        .order_by(revenue.desc())
        .limit(limit)
    ).all()
    return [
        {"sku": sku, "name": name, "quantity": int(qty), "revenue_cents": int(rev)}
        for sku, name, qty, rev in rows
    ]


@cache.memoize()
def revenue_by_month(since):
    month = month_of(Order.created_at)
    rows = db.session.execute(
        db.select(month, func.count(Order.id), func.sum(Order.total_cents))
        .where(Order.created_at >= datetime.fromisoformat(since))
        .where(Order.status.in_(COUNTED))
        .group_by(month)
        .order_by(month)
    ).all()
    return [{"month": m, "orders": n, "revenue_cents": int(r)} for m, n, r in rows]


MEMOIZED = (summary, period_totals, top_products, revenue_by_month)


def dashboard(today=None):
    today = today or date.today()
    month_start = today.replace(day=1)
    year_start = today.replace(month=1, day=1)
    tomorrow = (today + timedelta(days=1)).isoformat()
    twelve_months_ago = (month_start.replace(year=month_start.year - 1)
                         + timedelta(days=32)).replace(day=1)
    year = period_totals(year_start.isoformat(), tomorrow)
    return {
        "today": period_totals(today.isoformat(), tomorrow),
        "month": period_totals(month_start.isoformat(), tomorrow),
        "year": year,
        "average_order_value_cents": year["revenue_cents"] // year["orders"] if year["orders"] else 0,
        "top_products": top_products(year_start.isoformat()),
        "by_month": revenue_by_month(twelve_months_ago.isoformat()),
    }
