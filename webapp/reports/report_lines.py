"""The accountant's CSV: one row per order line sold and per line refunded, in time order.

Columns: date (the business day the row counts on), time, type (`sale` or `refund`),
order_ref, customer (name; empty for a walk-in sale), sku, name, quantity, unit_price,
discount, net, tax_rate (percent: 20, 5.5), tax, gross (= net + tax), payment_method,
unit_cost (empty when unknown).

- `discount` is everything taken off the line, its share of the order discount included,
  in the prices' terms: quantity x unit price - discount = gross when the shop's prices
  include tax, = net when they do not.
- A refund is a row of its own on the day it happened, with negative quantity, net, tax
  and gross (and discount empty); unit price and cost are the sold line's. Its payment
  method is the one the money was paid back by.
- The rows of a range add up to the report's figures: sum(gross) = revenue, sum(tax) =
  tax, sum(net) = net, per rate as the report's tax section.

The money columns (unit_price, discount, net, tax, gross, unit_cost) name the shop's
currency in the header: `unit_price (EUR)`. Money is `12.34` (`-12.34` for refunds), text
cells are formula-safe (webapp.csv_cells), UTF-8 with a byte-order mark for Excel, as the
other CSV files.
"""
import csv
import heapq
import io
from datetime import timedelta

from .. import settings
from ..csv_cells import money_header, text_cell
from ..extensions import db
from ..models import Customer, Order, OrderLine, Product, Refund, RefundLine
from ..money import cents_to_str
from ..settings import business_day_span, day_start
from . import figures
from .report_data import check_range, rate_percent

HEADER = ("date", "time", "type", "order_ref", "customer", "sku", "name", "quantity",
          "unit_price", "discount", "net", "tax_rate", "tax", "gross", "payment_method",
          "unit_cost")
MONEY = frozenset(("unit_price", "discount", "net", "tax", "gross", "unit_cost"))
BATCH = 2000  # rows fetched at a time: a year's lines never sit in memory at once


def _sales(since, until):
    rows = db.session.execute(
        db.select(Order.created_at, Order.id, OrderLine.id, Order.ref, Customer.name,
                  Product.sku, Product.name, OrderLine.quantity, OrderLine.unit_price_cents,
                  OrderLine.net_cents, OrderLine.tax_rate_bp, OrderLine.tax_cents,
                  Order.payment_method, OrderLine.unit_cost_cents, Order.prices_include_tax)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Product, Product.id == OrderLine.product_id)
        .outerjoin(Customer, Customer.id == Order.customer_id)
        .where(*figures.in_span(since, until))
        .order_by(Order.created_at, Order.id, OrderLine.id)
        .execution_options(yield_per=BATCH))
    for (when, _, _, ref, customer, sku, name, qty, price, net, rate, tax, method, cost,
         with_tax) in rows:
        paid = net + tax if with_tax else net
        yield (when, 0, "sale", ref, customer, sku, name, qty, price, qty * price - paid,
               net, rate, tax, method, cost)


def _refunds(since, until):
    rows = db.session.execute(
        db.select(Refund.created_at, Refund.id, RefundLine.id, Order.ref, Customer.name,
                  Product.sku, Product.name, RefundLine.quantity, OrderLine.unit_price_cents,
                  RefundLine.net_cents, RefundLine.tax_rate_bp, RefundLine.tax_cents,
                  figures.refund_method(), OrderLine.unit_cost_cents)
        .join(RefundLine, RefundLine.refund_id == Refund.id)
        .join(OrderLine, OrderLine.id == RefundLine.order_line_id)
        .join(Product, Product.id == OrderLine.product_id)
        .join(Order, Order.id == Refund.order_id)
        .outerjoin(Customer, Customer.id == Order.customer_id)
        .where(Refund.created_at >= since, Refund.created_at < until)
        .order_by(Refund.created_at, Refund.id, RefundLine.id)
        .execution_options(yield_per=BATCH))
    for when, _, _, ref, customer, sku, name, qty, price, net, rate, tax, method, cost in rows:
        yield (when, 1, "refund", ref, customer, sku, name, -qty, price, None, -net, rate,
               -tax, method, cost)


def header(currency):
    """The first row: HEADER with the money columns' currency, `unit_price (EUR)`."""
    return [money_header(name, currency) if name in MONEY else name for name in HEADER]


def _money(cents):
    return "" if cents is None else cents_to_str(cents)


def write(start, end, fh, progress=None):
    """Write the rows of business days [start, end] to a binary file object; returns
    {orders, lines, refund_lines, revenue_cents} (the sum of the gross column)."""
    start, end = check_range(start, end)
    step = progress or (lambda percent, message: None)
    since, until = business_day_span(start)[0], business_day_span(end)[1]
    opens = day_start()
    text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
    writer = csv.writer(text, lineterminator="\n")
    step(0, "Reading order lines")
    writer.writerow(header(settings.get("currency")))
    orders, lines, refunds, revenue, last_ref = 0, 0, 0, 0, None
    step(5, "Writing one row per line")
    for (when, _, kind, ref, customer, sku, name, qty, price, discount, net, rate, tax,
         method, cost) in heapq.merge(_sales(since, until), _refunds(since, until),
                                      key=lambda row: (row[0], row[1])):
        day = when.date() if when.time() >= opens else when.date() - timedelta(days=1)
        writer.writerow((day.isoformat(), when.isoformat(sep=" "), kind, text_cell(ref),
                         text_cell(customer), text_cell(sku), text_cell(name), qty,
                         _money(price), _money(discount), _money(net), rate_percent(rate),
                         _money(tax), _money(net + tax), text_cell(method), _money(cost)))
        revenue += net + tax
        if kind == "sale":
            lines += 1
            orders += ref != last_ref  # a sale's lines come together
            last_ref = ref
        else:
            refunds += 1
        if (lines + refunds) % 20_000 == 0:  # the total is not known ahead: creep up
            step(min(85, 5 + (lines + refunds) // 5_000), f"{lines + refunds:,} rows")
    step(90, f"{lines + refunds:,} rows written")
    text.flush()
    text.detach()
    step(100, "Lines written")
    return {"orders": orders, "lines": lines, "refund_lines": refunds,
            "revenue_cents": revenue}

