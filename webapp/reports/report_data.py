"""The numbers behind a sales report, aggregated in the database (four queries).

Range [start, end] is inclusive of both days: start 00:00 <= created_at < (end + 1) 00:00.
Only orders whose status is in stats.COUNTED count. Money is integer cents under keys
ending in `_cents`; the format writers turn `revenue_cents` into `revenue` and so on.
The average order value is floor(revenue / orders) in cents, as on the dashboard.
"""
from datetime import date, datetime, time, timedelta

from sqlalchemy import func

from ..extensions import db
from ..models import Customer, Order, OrderLine, Product
from ..stats import COUNTED, month_of
from . import figures

SECTIONS = ("totals", "by_month", "by_category", "by_country", "top_products")
COLUMNS = {  # the keys of each section's rows, in file order
    "totals": ("orders", "revenue_cents", "average_order_value_cents", "new_customers"),
    "by_month": ("month", "orders", "revenue_cents"),
    "by_category": ("category", "quantity", "revenue_cents"),
    "by_country": ("country", "orders", "revenue_cents"),
    "top_products": ("sku", "name", "quantity", "revenue_cents"),
}
TOP = 10
MAX_DAYS = 36_600  # ~100 years: bounds the month list and the PDF chart


class ReportError(ValueError):
    """A request that cannot make a report; the message is for the user as it is."""


def check_range(start, end):
    """Both dates (a datetime counts as its day); start <= end; returns (start, end)."""
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, date):
            raise ReportError(f"the {name} must be a date, not {value!r}")
    start = start.date() if isinstance(start, datetime) else start
    end = end.date() if isinstance(end, datetime) else end
    if start > end:
        raise ReportError(f"the start {start} is after the end {end}")
    if end == date.max:  # the range ends at midnight after `end`
        raise ReportError(f"the end must be before {date.max}")
    if (end - start).days >= MAX_DAYS:
        raise ReportError(f"the range is too long: at most {MAX_DAYS:,} days")
    return start, end


def months(start, end):
    """'YYYY-MM' of every month touching [start, end], in order."""
    year, month = start.year, start.month
    out = []
    while (year, month) <= (end.year, end.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def collect(start, end, progress=None):
    """The report's data for [start, end]: the dates under `start` and `end` and the five
    sections (COLUMNS gives their keys); progress(percent, message) after each query."""
    start, end = check_range(start, end)
    step = progress or (lambda percent, message: None)
    since = datetime.combine(start, time.min)
    until = datetime.combine(end + timedelta(days=1), time.min)
    step(0, "Reading orders")

    # 1. Orders by month: the covering index on (created_at, status, total_cents) alone.
    in_range = (Order.created_at >= since, Order.created_at < until, Order.status.in_(COUNTED))
    month = month_of(Order.created_at)
    found = {m: (n, int(r)) for m, n, r in db.session.execute(
        db.select(month, func.count(Order.id), func.sum(Order.total_cents))
        .where(*in_range).group_by(month))}
    by_month = [{"month": m, "orders": found.get(m, (0, 0))[0],
                 "revenue_cents": found.get(m, (0, 0))[1]} for m in months(start, end)]
    orders = sum(row["orders"] for row in by_month)
    revenue = sum(row["revenue_cents"] for row in by_month)
    step(20, "Orders by month")

    # 2. New customers (index on customers.created_at).
    new_customers = db.session.scalar(
        db.select(func.count(Customer.id))
        .where(Customer.created_at >= since, Customer.created_at < until))
    step(30, "New customers")

    # 3. By country: orders in range joined to their customer by primary key.
    revenue_sum = func.sum(Order.total_cents)
    by_country = [
        {"country": country, "orders": n, "revenue_cents": int(r)}
        for country, n, r in db.session.execute(
            db.select(Customer.country, func.count(Order.id), revenue_sum)
            .join(Customer, Customer.id == Order.customer_id)
            .where(*in_range).group_by(Customer.country)
            .order_by(revenue_sum.desc(), Customer.country))
    ]
    step(50, "Sales by country")

    # 4. Per product, from the orders in range then their lines (both covering indexes,
    # as stats.top_products); then names for the products sold. Categories and the top
    # ten are rolled up from these rows: one per product sold, a few hundred at most.
    line_revenue = func.sum(OrderLine.quantity * OrderLine.unit_price_cents).label("revenue")
    sold = (
        db.select(OrderLine.product_id, func.sum(OrderLine.quantity).label("quantity"),
                  line_revenue)
        .join(Order, Order.id == OrderLine.order_id)
        .where(*in_range).group_by(OrderLine.product_id)
        .subquery()
    )
    products = [
        {"sku": sku, "name": name, "category": category, "quantity": int(qty),
         "revenue_cents": int(rev)}
        for sku, name, category, qty, rev in db.session.execute(
            db.select(Product.sku, Product.name, Product.category, sold.c.quantity,
                      sold.c.revenue)
            .join(sold, sold.c.product_id == Product.id)
            .order_by(sold.c.revenue.desc(), Product.sku))
    ]
    step(80, "Sales by product")

    categories = {}
    for row in products:
        total = categories.setdefault(row["category"], [0, 0])
        total[0] += row["quantity"]
        total[1] += row["revenue_cents"]
    by_category = [
        {"category": name, "quantity": qty, "revenue_cents": rev}
        for name, (qty, rev) in sorted(categories.items(), key=lambda kv: (-kv[1][1], kv[0]))
    ]
    top_products = [{k: row[k] for k in ("sku", "name", "quantity", "revenue_cents")}
                    for row in products[:TOP]]
    step(100, "Data ready")
    return {
        "start": start,
        "end": end,
        "totals": {
            "orders": orders,
            "revenue_cents": revenue,
            "average_order_value_cents": revenue // orders if orders else 0,
            "new_customers": new_customers,
        },
        "by_month": by_month,
        "by_category": by_category,
        "by_country": by_country,
        "top_products": top_products,
    }


def sales_figures(since, until):
    """The money figures of the sales in [since, until) (naive shop-time datetimes,
    since <= t < until; a business day: settings.business_day_span(day)). The X/Z
    reports and the sales report use these same figures. Returns a dict, money in
    integer cents:

        orders            sales counted (status in stats.COUNTED)
        first_ref         reference of the first sale in the span (by time), or None
        last_ref          reference of the last one, or None
        gross_cents       before any discount, tax included
        discounts_cents   line and order discounts
        refunds_cents     refunds dated in the span (whatever day the sale was)
        revenue_cents     gross - discounts - refunds: what the shop took in
        tax_cents         tax of the lines sold less tax of the lines refunded
        net_cents         revenue - tax
        cost_cents        quantity x unit cost, lines with a known cost, less refunded
        margin_cents      net - cost over the lines with a known cost only
        lines_without_cost  sold lines whose unit cost is unknown (left out of margin)
        tax_rates         [{rate_bp, net_cents, tax_cents, gross_cents}] ascending rate,
                          refunds subtracted; they add up to tax, net and revenue
        by_payment_method [{method, orders, revenue_cents}] by method name; revenue is
                          what the sales took less the refunds paid back by that method
                          (the refund's own method, else its order's); orders made
                          before 0.3.0 have method "". Cash expected in the till is
                          the "cash" row's revenue (plus the float).
    """
    orders, gross, discounts, _ = figures.order_totals(since, until)
    lines = figures.line_groups(since, until)
    refund_lines = figures.refund_groups(since, until)
    refunds = figures.refunds_by_method(since, until)
    first, last = figures.first_last_refs(since, until)
    return {
        **figures.money_totals(orders, gross, discounts, lines, refund_lines,
                               sum(refunds.values())),
        "first_ref": first,
        "last_ref": last,
        "tax_rates": figures.rate_rows(lines, refund_lines),
        "by_payment_method": figures.payment_rows(figures.sales_by_method(since, until),
                                                  refunds),
    }


def public(key):
    """The name files use: `revenue_cents` is the money field `revenue`."""
    return key[:-6] if key.endswith("_cents") else key

