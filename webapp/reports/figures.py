"""The money figures of a time span, aggregated in the database: shared by the sales
report (report_data.collect) and the end-of-day X/Z reports (report_data.sales_figures).

Definitions (docs/figures.md): a sale counts when its status is in stats.COUNTED; a
refund counts on its own created_at. gross = sum(order gross); discounts = sum(order
discount); refunds = sum(refund amount); revenue = gross - discounts - refunds; tax =
line tax - refunded tax; net = revenue - tax; cost = qty x unit cost over lines with a
known cost, minus refunded cost; margin = net - cost over lines with a known cost only.

Every query here walks the span's orders through the index on orders.created_at, then
their lines by order id (indexes of migration 0004 cover the columns read).
"""
from sqlalchemy import case, func

from ..extensions import db
from ..models import Order, OrderLine, Refund, RefundLine
from ..stats import COUNTED


def in_span(since, until):
    return (Order.created_at >= since, Order.created_at < until, Order.status.in_(COUNTED))


def order_totals(since, until):
    """(orders, gross, discounts, total) of the sales in [since, until)."""
    n, gross, discounts, total = db.session.execute(
        db.select(func.count(Order.id), func.coalesce(func.sum(Order.gross_cents), 0),
                  func.coalesce(func.sum(Order.discount_cents), 0),
                  func.coalesce(func.sum(Order.total_cents), 0))
        .where(*in_span(since, until))).one()
    return n, int(gross), int(discounts), int(total)


def first_last_refs(since, until):
    """The references of the first and last sale in the span (by time, then id)."""
    select = db.select(Order.ref).where(*in_span(since, until)).limit(1)
    first = db.session.scalar(select.order_by(Order.created_at, Order.id))
    last = db.session.scalar(select.order_by(Order.created_at.desc(), Order.id.desc()))
    return first, last


def _known(value, cost):
    """`value` where the cost is known, else 0."""
    return func.coalesce(func.sum(case((cost.is_not(None), value), else_=0)), 0)


def line_groups(since, until):
    """Sold lines per (product id, rate): one row each with quantity, value (qty x unit
    price), net, tax, cost (known costs), net_known (net of lines with a known cost),
    quantity_known, lines_without_cost."""
    cost = OrderLine.unit_cost_cents
    rows = db.session.execute(
        db.select(OrderLine.product_id, OrderLine.tax_rate_bp,
                  func.sum(OrderLine.quantity),
                  func.sum(OrderLine.quantity * OrderLine.unit_price_cents),
                  func.sum(OrderLine.net_cents), func.sum(OrderLine.tax_cents),
                  _known(OrderLine.quantity * cost, cost), _known(OrderLine.net_cents, cost),
                  _known(OrderLine.quantity, cost),
                  func.sum(case((cost.is_(None), 1), else_=0)))
        .join(Order, Order.id == OrderLine.order_id)
        .where(*in_span(since, until))
        .group_by(OrderLine.product_id, OrderLine.tax_rate_bp))
    keys = ("quantity", "value", "net", "tax", "cost", "net_known", "quantity_known",
            "lines_without_cost")
    return [{"product_id": pid, "rate_bp": rate, **dict(zip(keys, map(int, rest)))}
            for pid, rate, *rest in rows]


def refund_groups(since, until):
    """Refunded lines dated in the span per (product id, rate): quantity, net, tax, cost
    (known costs), net_known, quantity_known (as line_groups, the refunded part)."""
    cost = RefundLine.cost_cents
    rows = db.session.execute(
        db.select(OrderLine.product_id, RefundLine.tax_rate_bp,
                  func.sum(RefundLine.quantity), func.sum(RefundLine.net_cents),
                  func.sum(RefundLine.tax_cents), _known(cost, cost),
                  _known(RefundLine.net_cents, cost), _known(RefundLine.quantity, cost))
        .join(Refund, Refund.id == RefundLine.refund_id)
        .join(OrderLine, OrderLine.id == RefundLine.order_line_id)
        .where(Refund.created_at >= since, Refund.created_at < until)
        .group_by(OrderLine.product_id, RefundLine.tax_rate_bp))
    keys = ("quantity", "net", "tax", "cost", "net_known", "quantity_known")
    return [{"product_id": pid, "rate_bp": rate, **dict(zip(keys, map(int, rest)))}
            for pid, rate, *rest in rows]


def refund_method():
    """The method a refund was paid back by: its own, else the order's."""
    return func.coalesce(func.nullif(Refund.payment_method, ""), Order.payment_method)


def refunds_by_method(since, until):
    """{method: refunded amount} for refunds dated in the span."""
    method = refund_method()
    return {m: int(a) for m, a in db.session.execute(
        db.select(method, func.sum(Refund.amount_cents))
        .join(Order, Order.id == Refund.order_id)
        .where(Refund.created_at >= since, Refund.created_at < until)
        .group_by(method))}


def sales_by_method(since, until):
    """{method: (orders, total)} of the sales in the span."""
    return {m: (n, int(t)) for m, n, t in db.session.execute(
        db.select(Order.payment_method, func.count(Order.id), func.sum(Order.total_cents))
        .where(*in_span(since, until)).group_by(Order.payment_method))}


def payment_rows(sales, refunds):
    """by_payment_method rows: method, orders, revenue (takings less refunds paid back
    by that method), ordered by method name."""
    return [{"method": m, "orders": sales.get(m, (0, 0))[0],
             "revenue_cents": sales.get(m, (0, 0))[1] - refunds.get(m, 0)}
            for m in sorted(set(sales) | set(refunds))]


def rate_rows(lines, refunds):
    """tax rows per rate, ascending: rate_bp, net, tax, gross (= net + tax), refunds
    subtracted."""
    rates = {}
    for row, sign in [(r, 1) for r in lines] + [(r, -1) for r in refunds]:
        total = rates.setdefault(row["rate_bp"], [0, 0])
        total[0] += sign * row["net"]
        total[1] += sign * row["tax"]
    return [{"rate_bp": rate, "net_cents": net, "tax_cents": tax, "gross_cents": net + tax}
            for rate, (net, tax) in sorted(rates.items())]


def money_totals(orders, gross, discounts, lines, refunds, refunded):
    """The totals every report shares (cents), from the parts above; `refunded` is the
    sum of the refund amounts in the span."""
    revenue = gross - discounts - refunded
    tax = sum(r["tax"] for r in lines) - sum(r["tax"] for r in refunds)
    cost = sum(r["cost"] for r in lines) - sum(r["cost"] for r in refunds)
    net_known = sum(r["net_known"] for r in lines) - sum(r["net_known"] for r in refunds)
    return {
        "orders": orders,
        "gross_cents": gross,
        "discounts_cents": discounts,
        "refunds_cents": refunded,
        "revenue_cents": revenue,
        "tax_cents": tax,
        "net_cents": revenue - tax,
        "cost_cents": cost,
        "margin_cents": net_known - cost,
        "lines_without_cost": sum(r["lines_without_cost"] for r in lines),
    }
