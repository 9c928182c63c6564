"""Larder's own orders layout against what Larder already has, before a sale is priced
(Writer.sale): an export of Larder read back must change nothing, whatever the shop's
settings and products say now.

- A recorded order keeps the terms of its sale: its prices stay with or without tax as
  they were, its currency stays, and a product it already had keeps its cost at the sale.
- A column the file lacks (an export made before 0.3.0, a hand-made file) keeps the
  recorded order's values: its payment method, its order discount, and the unit price,
  tax rate and discount of each line the file gives as it was (same place, product,
  quantity, and unit price when the file has that column). With the column, an empty cell
  means what it says (no discount; the product's price or rate now).
- A line's discount above the line is refused with the words of ordering.create_order.
"""
from typing import NamedTuple

from ..extensions import db
from ..i18n import N_
from ..models import Order, OrderLine
from ..money import cents_for_display
from .records import Problem, Reason

_O, _L = Order.__table__, OrderLine.__table__


class _Stored(NamedTuple):
    product_id: int
    quantity: int
    unit_price_cents: int
    tax_rate_bp: int
    discount_cents: int
    unit_cost_cents: int | None


def settle(writer, rec):
    """Fill `rec` (a SaleRecord of Larder's layout) from its recorded order, if any, and
    check its line discounts; False when a Problem was recorded."""
    if writer.last_order_id:  # no order before this import: nothing recorded to keep
        _keep_recorded(writer, rec)
    ok = True
    for line in rec.lines:
        product = writer.products.get(line.product.sku)
        if not line.discount_cents or product is None:
            continue  # an unknown SKU is the writer's to report
        unit = product[1] if line.unit_price_cents is None else line.unit_price_cents
        if line.discount_cents > line.quantity * unit:
            writer.plan.problem(Problem(line.line, "line_discount", Reason(
                N_("more than the line (%(amount)s)"),
                amount=cents_for_display(line.quantity * unit))))
            ok = False
    return ok


def _keep_recorded(writer, rec):
    # On the driver's own cursor: a re-import looks up every order it meets, and
    # SQLAlchemy's statement and result handling cost several times the query itself
    # (50,000 orders imported again, a loaded machine: 23.7 s of CPU with select(),
    # 10.7 s with exec_driver_sql, 6.1 s so; 2.8 s without looking them up at all).
    conn = db.session.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    cursor = conn.connection.dbapi_connection.cursor()
    cursor.execute(f"SELECT id, prices_include_tax, currency, payment_method, "
                   f"discount_percent_bp, discount_amount_cents FROM {_O.name} "
                   f"WHERE ref = {mark}", (rec.ref,))
    old = cursor.fetchone()
    if old is None:
        return
    order_id, include, currency, method, percent, amount = old
    rec.prices_include_tax, rec.currency = bool(include), currency
    keep = rec.keep
    if "payment_method" in keep:
        rec.payment_method = method
    if "order_discount" in keep:
        rec.order_discount_percent_bp, rec.order_discount_cents = percent, amount or 0
    cursor.execute(f"SELECT product_id, quantity, unit_price_cents, tax_rate_bp, "
                   f"discount_cents, unit_cost_cents FROM {_L.name} WHERE order_id = {mark} "
                   f"ORDER BY id", (order_id,))
    stored = [_Stored(*row) for row in cursor.fetchall()]
    costs = {}
    for was in stored:
        costs.setdefault(was.product_id, was.unit_cost_cents)
    for line, was in zip(rec.lines, stored):
        product = writer.products.get(line.product.sku)
        if product is None or (product[0], line.quantity) != (was.product_id, was.quantity):
            continue
        if "unit_price" in keep:
            line.unit_price_cents = was.unit_price_cents
        elif (product[1] if line.unit_price_cents is None
              else line.unit_price_cents) != was.unit_price_cents:
            continue
        if "tax_rate" in keep:
            line.tax_rate_bp = was.tax_rate_bp
        if "line_discount" in keep:
            line.discount_cents = was.discount_cents
    for line in rec.lines:
        product = writer.products.get(line.product.sku)
        if product is not None and product[0] in costs and line.unit_cost_cents is None:
            line.unit_cost_cents = costs[product[0]]

