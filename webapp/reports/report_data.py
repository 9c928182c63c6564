"""The numbers behind a sales report, aggregated in the database (reports/figures.py).

A range [start, end] is of business days, inclusive of both: business_day_span(start)[0]
<= created_at < business_day_span(end)[1] (with the day starting at 00:00: start 00:00
to (end + 1) 00:00), times in shop time. Only orders whose status is in stats.COUNTED
count; refunds count on the day they happened. Money is integer cents under keys ending
in `_cents`; the format writers turn `revenue_cents` into `revenue` and so on. Rates and
percents (`rate`, `margin_pct`, `change_pct`) are Decimals (20, 5.5, 37.5) or None.
The average order value is floor(revenue / orders) in cents, as on the dashboard.
`currency` is the shop's (ISO code): the files name it (CSV headers `revenue (EUR)`,
the JSON's `currency`).
The meaning of every figure: docs/figures.md.
"""
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func

from .. import daily_reads, settings
from ..extensions import db
from ..models import Customer, Product
from ..settings import business_day_span, day_start
from ..tax import round_half_up
from . import figures

SECTIONS = ("totals", "by_month", "by_category", "by_country", "top_products", "tax",
            "margin_by_product", "products_without_cost", "margin_by_category", "by_hour",
            "by_weekday", "by_payment_method", "comparison")
COLUMNS = {  # the keys of each section's rows, in file order
    "totals": ("orders", "gross_cents", "discounts_cents", "refunds_cents", "revenue_cents",
               "tax_cents", "net_cents", "cost_cents", "margin_cents", "lines_without_cost",
               "average_order_value_cents", "new_customers"),
    "by_month": ("month", "orders", "revenue_cents"),
    "by_category": ("category", "quantity", "revenue_cents"),
    "by_country": ("country", "orders", "revenue_cents"),
    "top_products": ("sku", "name", "quantity", "revenue_cents"),
    "tax": ("rate", "net_cents", "tax_cents", "gross_cents"),
    "margin_by_product": ("sku", "name", "quantity", "net_cents", "cost_cents",
                          "margin_cents", "margin_pct"),
    "products_without_cost": ("sku", "name", "quantity", "net_cents"),
    "margin_by_category": ("category", "quantity", "net_cents", "cost_cents", "margin_cents",
                           "margin_pct"),
    "by_hour": ("hour", "orders", "revenue_cents"),
    "by_weekday": ("weekday", "orders", "revenue_cents"),
    "by_payment_method": ("method", "orders", "revenue_cents"),
    "comparison": ("period", "from", "to", "orders", "revenue_cents", "change_pct"),
}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
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


def collect(start, end, progress=None, raw=False):
    """The report's data for business days [start, end]: the dates under `start` and
    `end` and the sections in SECTIONS (COLUMNS gives their keys); progress(percent,
    message) after each query. Old sections keep their keys; revenue everywhere is
    what the shop took in: order totals less refunds (counted on their own day).
    Read from the daily figures (webapp.daily_reads), or from the orders themselves
    when those cannot answer or `raw` (the same figures: tests/test_daily_figures.py)."""
    start, end = check_range(start, end)
    step = progress or (lambda percent, message: None)
    since, until = business_day_span(start)[0], business_day_span(end)[1]
    opens = day_start()  # read once: settings.business_day_of reads it at every call
    step(0, "Reading orders")

    # 1. Sales and refunds per business day, clock hour and payment method (the daily
    # figures, or the orders when they cannot answer): months, hours, weekdays, methods
    # and totals are rolled up from these rows (at most 24 x 2 x methods a day).
    whole = raw is False and daily_reads.days(since, until)
    if whole:
        rows = daily_reads.hour_rows(*whole)
    else:
        rows = raw_hour_rows(since, until, opens)
    months_found, hours, weekdays = {}, [[0, 0] for _ in range(24)], [[0, 0] for _ in range(7)]
    sales, refunds, orders, gross, discounts, total_paid = {}, {}, 0, 0, 0, 0
    for day, hour, _, method, n, gross_part, discount_part, total, refund_n, refunded in rows:
        if n:
            by_method = sales.setdefault(method, [0, 0])
            by_method[0] += n
            by_method[1] += total
        if refund_n:
            refunds[method] = refunds.get(method, 0) + refunded
        orders, gross, discounts = orders + n, gross + gross_part, discounts + discount_part
        total_paid += total
        for row in (months_found.setdefault(f"{day:%Y-%m}", [0, 0]), hours[hour],
                    weekdays[day.weekday()]):
            row[0] += n
            row[1] += total - refunded
    by_month = [{"month": m, "orders": months_found.get(m, (0, 0))[0],
                 "revenue_cents": months_found.get(m, (0, 0))[1]} for m in months(start, end)]
    step(20, "Orders by month")

    # 2. New customers, countries (by the customer's country now).
    if not whole:
        refunds = figures.refunds_by_method(since, until)
    countries = (daily_reads.by_country(*whole) if whole
                 else figures.by_country(since, until))
    new_customers = db.session.scalar(
        db.select(func.count(Customer.id))
        .where(Customer.created_at >= since, Customer.created_at < until))
    by_payment_method = figures.payment_rows(sales, refunds)
    by_country = [{"country": c, "orders": n, "revenue_cents": r}
                  for c, n, r in sorted(countries, key=lambda row: (-row[2], row[0]))]
    step(40, "Totals and countries")

    # 3. Lines sold and refunded per product and rate (one pass over the span's lines).
    if whole:
        lines, refund_lines = daily_reads.product_groups(*whole)
    else:
        lines = figures.line_groups(since, until)
        refund_lines = figures.refund_groups(since, until)
    step(70, "Sales by product")
    totals = figures.money_totals(orders, gross, discounts, total_paid, lines,
                                  refund_lines, sum(refunds.values()))
    totals["average_order_value_cents"] = (totals["revenue_cents"] // orders
                                           if orders else 0)
    totals["new_customers"] = new_customers
    products = product_rows(lines, refund_lines)
    top_products = sorted(products, key=lambda r: (-r["revenue_cents"], r["sku"]))
    step(85, "Margins")

    comparison = []
    for period, (first, last) in (("previous_period", previous_period(start, end)),
                                  ("previous_year", previous_year(start, end))):
        if whole:
            n, total, refunded = daily_reads.totals(first, last)
            revenue = total - refunded
        else:
            n, revenue = figures.sales_and_refunds(business_day_span(first)[0],
                                                   business_day_span(last)[1])
        comparison.append({"period": period, "from": first.isoformat(),
                           "to": last.isoformat(), "orders": n, "revenue_cents": revenue,
                           "change_pct": percent(totals["revenue_cents"] - revenue, revenue)})
    step(100, "Data ready")
    return {
        "start": start,
        "end": end,
        "currency": settings.get("currency"),
        "totals": {key: totals[key] for key in COLUMNS["totals"]},
        "by_month": by_month,
        "by_category": rollup(products, "category", ("quantity", "revenue_cents"),
                              "revenue_cents"),
        "by_country": by_country,
        "top_products": [{k: row[k] for k in COLUMNS["top_products"]}
                         for row in top_products[:TOP]],
        "tax": [{"rate": rate_percent(r["rate_bp"]), **r}
                for r in figures.rate_rows(lines, refund_lines)],
        "margin_by_product": margin_rows(products, "sku"),
        "products_without_cost": sorted(
            ({"sku": r["sku"], "name": r["name"], "quantity": r["quantity_unknown"],
              "net_cents": r["net_unknown"]} for r in products if r["without_cost"]),
            key=lambda r: r["sku"]),
        "margin_by_category": margin_rows(
            rollup(products, "category", ("quantity_known", "net_known", "cost_cents",
                                          "with_cost"), "net_known"), "category"),
        "by_hour": [{"hour": h, "orders": n, "revenue_cents": r}
                    for h, (n, r) in enumerate(hours)],
        "by_weekday": [{"weekday": WEEKDAYS[d], "orders": n, "revenue_cents": r}
                       for d, (n, r) in enumerate(weekdays)],
        "by_payment_method": by_payment_method,
        "comparison": comparison,
    }


def raw_hour_rows(since, until, opens):
    """daily_reads.hour_rows' rows summed from the orders and refunds of [since,
    until) (`opens`: the day start): order rows by hour and method, refund rows by hour
    (method None: refunds by method are read apart)."""
    minute, out, places = opens.minute, [], {}
    buckets = [(text, after, method, n, gross, discount, total, 0, 0)
               for text, after, method, n, total, gross, discount in figures.order_buckets(
                   since, until, minute)]
    buckets += [(text, after, None, 0, 0, 0, 0, 1, amount)
                for text, after, amount in figures.refunds_by_hour(since, until, minute)]
    for text, after, method, *figures_of in buckets:
        place = places.get((text, after))
        if place is None:  # once per hour, not once per method: the dates are the cost
            moment = datetime(int(text[:4]), int(text[5:7]), int(text[8:10]),
                              int(text[11:13]), minute if after else 0)
            day = (moment.date() if moment.time() >= opens
                   else moment.date() - timedelta(days=1))
            place = places[text, after] = (day, moment.hour, moment.date() != day)
        out.append((*place, method, *figures_of))
    return out


def product_rows(lines, refund_lines):
    """One row per product sold or refunded in the span: sku, name, category, quantity
    and revenue (sold less refunded, after discounts, tax included), and the parts with
    a known cost (quantity_known, net_known, cost_cents, lines_with_cost) and without
    (quantity_unknown, net_unknown), and flags with_cost / without_cost."""
    rows = {}
    zero = dict.fromkeys(("quantity", "revenue_cents", "quantity_known", "net_known",
                          "cost_cents", "quantity_unknown", "net_unknown",
                          "with_cost", "without_cost"), 0)
    for group, sign in [(g, 1) for g in lines] + [(g, -1) for g in refund_lines]:
        row = rows.setdefault(group["product_id"], dict(zero))
        row["quantity"] += sign * group["quantity"]
        row["revenue_cents"] += sign * (group["net"] + group["tax"])
        row["quantity_known"] += sign * group["quantity_known"]
        row["net_known"] += sign * group["net_known"]
        row["cost_cents"] += sign * group["cost"]
        row["quantity_unknown"] += sign * (group["quantity"] - group["quantity_known"])
        row["net_unknown"] += sign * (group["net"] - group["net_known"])
        # Flags (summed by category): the product has parts with / without a cost.
        row["with_cost"] += group["quantity_known"] != 0
        row["without_cost"] += group["quantity"] != group["quantity_known"]
    names = {pid: (sku, name, category) for pid, sku, name, category in db.session.execute(
        db.select(Product.id, Product.sku, Product.name, Product.category)
        .where(Product.id.in_(list(rows))))} if rows else {}
    out = []
    for pid, row in rows.items():
        sku, name, category = names[pid]
        out.append({"sku": sku, "name": name, "category": category, **row})
    return out


def rollup(rows, key, fields, order):
    """Rows summed by `key`, largest `order` first, then by name."""
    groups = {}
    for row in rows:
        total = groups.setdefault(row[key], dict.fromkeys(fields, 0))
        for field in fields:
            total[field] += row[field]
    return [{key: name, **total}
            for name, total in sorted(groups.items(), key=lambda kv: (-kv[1][order], kv[0]))]


def margin_rows(rows, key):
    """margin_by_product / margin_by_category rows: over the lines with a known cost
    only; margin = net - cost, margin_pct = margin / net in percent (one decimal, None
    when net is not positive). Largest margin first."""
    out = []
    for row in rows:
        if not row["with_cost"]:
            continue
        net, cost = row["net_known"], row["cost_cents"]
        out.append({key: row[key], **({"name": row["name"]} if key == "sku" else {}),
                    "quantity": row["quantity_known"], "net_cents": net, "cost_cents": cost,
                    "margin_cents": net - cost, "margin_pct": percent(net - cost, net)})
    return sorted(out, key=lambda r: (-r["margin_cents"], r[key]))


def percent(part, whole):
    """part / whole in percent, one decimal, half-up (Decimal); None when whole <= 0."""
    if whole <= 0:
        return None
    return Decimal(round_half_up(part * 1000, whole)).scaleb(-1)


def rate_percent(rate_bp):
    """2000 -> Decimal('20'), 550 -> Decimal('5.5'): rates in files are percents."""
    return Decimal(rate_bp) / 100


def previous_period(start, end):
    """The same number of days just before [start, end]."""
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


def _year_before(day):
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def previous_year(start, end):
    """The same dates a year before (29 February: the 28th)."""
    return _year_before(start), _year_before(end)


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
        revenue_cents     gross - discounts - refunds: what the shop took in (summed
                          as order totals less refunds; the same for every order)
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
    orders, gross, discounts, total = figures.order_totals(since, until)
    lines = figures.line_groups(since, until)
    refund_lines = figures.refund_groups(since, until)
    refunds = figures.refunds_by_method(since, until)
    first, last = figures.first_last_refs(since, until)
    return {
        **figures.money_totals(orders, gross, discounts, total, lines, refund_lines,
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

