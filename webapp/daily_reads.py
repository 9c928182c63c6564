"""Reading the daily figures (webapp.daily_figures) for whole business days: what the
dashboard (stats) and the sales report (reports.report_data) sum instead of the orders.

Every function takes business days first..last (both included) and gives what the
same question asked of the orders gives (tests/test_daily_figures.py compares them).
`days()` says whether a span can be read here: whole business days, and tables summed
with the day start in force; otherwise the callers read the orders.
"""
from datetime import datetime, timedelta

from sqlalchemy import func

from . import daily_figures
from .extensions import db
from .models import DailyCountrySales as C
from .models import DailyProductSales as P
from .models import DailySales as S
from .settings import business_day_of, business_day_span


def usable():
    return daily_figures.current(db.session.connection())


def days(start, end):
    """(first, last) business days when [start, end) (datetimes or ISO text) is exactly
    whole business days and the tables are current; else None."""
    since = datetime.fromisoformat(start) if isinstance(start, str) else start
    until = datetime.fromisoformat(end) if isinstance(end, str) else end
    first, last = business_day_of(since), business_day_of(until) - timedelta(days=1)
    if (first > last or business_day_span(first)[0] != since
            or business_day_span(last)[1] != until or not usable()):
        return None
    return first, last


def _sum(column):
    return func.coalesce(func.sum(column), 0)


def _in(first=None, last=None):
    return ([S.day >= first] if first else []) + ([S.day <= last] if last else [])


def totals(first=None, last=None):
    """(orders, order totals, refunds) of the days (all days without first and last)."""
    n, total, refunded = db.session.execute(
        db.select(_sum(S.orders), _sum(S.total_cents), _sum(S.refunds_cents))
        .where(*_in(first, last))).one()
    return int(n), int(total), int(refunded)


def by_hour(first, last):
    """{clock hour: (orders, order totals less the refunds made in that hour)}."""
    return {h: (int(n), int(t) - int(r)) for h, n, t, r in db.session.execute(
        db.select(S.hour, _sum(S.orders), _sum(S.total_cents), _sum(S.refunds_cents))
        .where(*_in(first, last)).group_by(S.hour))}


def by_calendar_month(first):
    """[(YYYY-MM, orders, order totals)] by the calendar month of the sale (not of its
    business day), days from `first` on, months with sales only."""
    months = {}
    for day, next_date, n, total in db.session.execute(
            db.select(S.day, S.next_date, _sum(S.orders), _sum(S.total_cents))
            .where(S.day >= first).group_by(S.day, S.next_date)):
        date = day + timedelta(days=1) if next_date else day
        row = months.setdefault(f"{date:%Y-%m}", [0, 0])
        row[0] += int(n)
        row[1] += int(total)
    return [(m, n, t) for m, (n, t) in sorted(months.items()) if n]


def top_products(first, last, limit):
    """[(product id, quantity, quantity x unit price)] of the lines sold, best first."""
    revenue = _sum(P.list_cents)
    return [(pid, int(q), int(r)) for pid, q, r in db.session.execute(
        db.select(P.product_id, _sum(P.quantity), revenue)
        .where(P.day >= first, P.day <= last).group_by(P.product_id)
        .having(func.sum(P.lines) > 0)
        .order_by(revenue.desc(), P.product_id).limit(limit))]


def hour_rows(first, last):
    """[(day, hour, next_date, method, orders, gross, discounts, order totals, refunds,
    refunded)] of the days: one row per business day, clock hour and method."""
    return [(day, hour, next_date, method, *map(int, rest)) for day, hour, next_date, method,
            *rest in db.session.execute(
                db.select(S.day, S.hour, S.next_date, S.method, S.orders, S.gross_cents,
                          S.discount_cents, S.total_cents, S.refunds, S.refunds_cents)
                .where(S.day >= first, S.day <= last))]


SOLD = ("quantity", "net", "tax", "cost", "net_known", "quantity_known",
        "lines_without_cost")
REFUNDED = SOLD[:-1]


def product_groups(first, last):
    """(lines, refund lines) per (product id, rate), as reports.figures.line_groups
    and refund_groups give them from the orders."""
    columns = (P.lines, P.quantity, P.net_cents, P.tax_cents, P.cost_cents,
               P.net_known_cents, P.quantity_known, P.lines_without_cost,
               P.refund_lines, P.refund_quantity, P.refund_net_cents, P.refund_tax_cents,
               P.refund_cost_cents, P.refund_net_known_cents, P.refund_quantity_known)
    sold, refunded = [], []
    for pid, rate, *values in db.session.execute(
            db.select(P.product_id, P.rate_bp, *(_sum(c) for c in columns))
            .where(P.day >= first, P.day <= last).group_by(P.product_id, P.rate_bp)):
        values = [int(v) for v in values]
        if values[0]:
            sold.append({"product_id": pid, "rate_bp": rate, **dict(zip(SOLD, values[1:8]))})
        if values[8]:
            refunded.append({"product_id": pid, "rate_bp": rate,
                             **dict(zip(REFUNDED, values[9:]))})
    return sold, refunded


def by_country(first, last):
    """[(country, orders, order totals less refunds)] as reports.figures.by_country
    gives them: countries with sales or refunds in the days."""
    return [(country, int(n), int(t) - int(r)) for country, n, t, r, k in db.session.execute(
        db.select(C.country, _sum(C.orders), _sum(C.total_cents), _sum(C.refunds_cents),
                  _sum(C.refunds))
        .where(C.day >= first, C.day <= last).group_by(C.country))
        if int(n) or int(k)]
