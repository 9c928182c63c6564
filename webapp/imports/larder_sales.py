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
from sqlalchemy import select

from ..extensions import db
from ..models import Order, OrderLine
from ..money import cents_for_display
from .records import Problem

_O, _L = Order.__table__, OrderLine.__table__


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
            writer.plan.problem(Problem(line.line, "line_discount", "more than the line "
                                        f"({cents_for_display(line.quantity * unit)})"))
            ok = False
    return ok


def _keep_recorded(writer, rec):
    old = db.session.execute(select(
        _O.c.id, _O.c.prices_include_tax, _O.c.currency, _O.c.payment_method,
        _O.c.discount_percent_bp, _O.c.discount_amount_cents).where(_O.c.ref == rec.ref)
    ).first()
    if old is None:
        return
    rec.prices_include_tax, rec.currency = old.prices_include_tax, old.currency
    keep = rec.keep
    if "payment_method" in keep:
        rec.payment_method = old.payment_method
    if "order_discount" in keep:
        rec.order_discount_percent_bp = old.discount_percent_bp
        rec.order_discount_cents = old.discount_amount_cents or 0
    stored = db.session.execute(select(
        _L.c.product_id, _L.c.quantity, _L.c.unit_price_cents, _L.c.tax_rate_bp,
        _L.c.discount_cents, _L.c.unit_cost_cents).where(_L.c.order_id == old.id)
        .order_by(_L.c.id)).all()
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

