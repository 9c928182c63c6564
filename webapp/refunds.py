"""Refunds: money given back for a whole order or some of its lines (docs/orders.md).

A refund is its own dated row (Refund, RefundLine), counted on the day it is made; the
order itself never changes and nothing is deleted. Only a sold order (processed or
imported) is refunded; a pending or failed one is cancelled (ordering.cancel_order).

What a refunded quantity is worth: its proportional share of what is left of the line,
rounded half-up to the cent,

    net = (line net - net already refunded) x quantity / (quantity sold - already refunded)

and the same for tax. Refunding the last units takes exactly what is left, so refunding
an order in parts adds up to the order to the cent.
"""
from pydantic import StrictInt, model_validator

from . import caching, day_close, low_stock, settings
from .extensions import db
from .i18n import N_, gettext
from .models import Order, Product, Refund, RefundLine, now
from .tax import round_half_up
from .validation import (Input, OptionalText, Quantity, Sku, Text, ValidationError, check)

REFUNDABLE = ("processed", "imported")
NOTHING = (0, 0, 0)  # what was refunded of a line not refunded yet: quantity, net, tax


class RefundLineIn(Input):
    line_id: StrictInt | None = None  # the order line's id (the API's "line_id")
    sku: Sku | None = None            # or its sku, when the order has one line of it
    quantity: Quantity

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data):
        if not isinstance(data, dict):
            raise ValueError(gettext("must be an object with line_id (or sku) and quantity"))
        if data.get("line_id") is None and not data.get("sku"):
            raise ValueError(gettext("give the line_id or the sku of the line to refund"))
        return data


class RefundIn(Input):
    lines: list[RefundLineIn] | None = None  # none: everything not yet refunded
    reason: Text
    restock: bool = False                    # put the refunded quantities back in stock
    payment_method: OptionalText = ""        # "": the order's own


def share(line_net, line_tax, left, done_net, done_tax, quantity):
    """(net, tax) of refunding `quantity` of the `left` units not yet refunded of a line
    (the module's formula; the import engine uses it too)."""
    return (round_half_up((line_net - done_net) * quantity, left),
            round_half_up((line_tax - done_tax) * quantity, left))


def refunded_so_far(order):
    """{order line id: (quantity, net, tax)} already refunded."""
    done = {}
    rows = db.session.execute(
        db.select(RefundLine.order_line_id, db.func.sum(RefundLine.quantity),
                  db.func.sum(RefundLine.net_cents), db.func.sum(RefundLine.tax_cents))
        .join(Refund, Refund.id == RefundLine.refund_id)
        .where(Refund.order_id == order.id).group_by(RefundLine.order_line_id))
    for line_id, quantity, net, tax in rows:
        done[line_id] = (int(quantity), int(net), int(tax))
    return done


def _wanted(order, refund_in, done):
    """{order line: quantity} to refund, or ValidationError naming each bad line."""
    if refund_in.lines is None:
        wanted = {line: line.quantity - done.get(line.id, NOTHING)[0] for line in order.lines}
        wanted = {line: q for line, q in wanted.items() if q > 0}
        if not wanted:
            raise ValidationError(
                {"lines": gettext("everything in this order is already refunded")})
        return wanted
    if not refund_in.lines:
        raise ValidationError({"lines": gettext("at least one line to refund")})
    errors, wanted = {}, {}
    by_id = {line.id: line for line in order.lines}
    for i, item in enumerate(refund_in.lines):
        if item.line_id is not None:
            line = by_id.get(item.line_id)
            if line is None:
                errors[f"lines[{i}].line_id"] = gettext(
                    "order %(ref)s has no line %(line)s", ref=order.ref, line=item.line_id)
                continue
        else:
            same = [line for line in order.lines if line.product.sku == item.sku]
            if len(same) != 1:
                errors[f"lines[{i}].sku"] = (
                    gettext("order %(ref)s has no line of %(sku)s", ref=order.ref, sku=item.sku)
                    if not same else
                    gettext("order %(ref)s has %(count)s lines of %(sku)s: give the line_id",
                            ref=order.ref, count=len(same), sku=item.sku))
                continue
            line = same[0]
        wanted[line] = wanted.get(line, 0) + item.quantity
        left = line.quantity - done.get(line.id, NOTHING)[0]
        if wanted[line] > left:
            errors[f"lines[{i}].quantity"] = gettext(
                "%(sku)s: %(sold)s sold, %(done)s already refunded, so at most %(left)s can "
                "be refunded", sku=line.product.sku, sold=line.quantity,
                done=line.quantity - left, left=left)
    if errors:
        raise ValidationError(errors)
    return wanted


def refund_order(order_id, data, user_id=None):
    """Record a refund of `data` (RefundIn's fields) for the order; returns the Refund.
    Raises LookupError (no such order) or ValidationError (why not)."""
    refund_in = check(RefundIn, data)
    order = db.session.get(Order, order_id)
    if order is None:
        raise LookupError(gettext("There is no such order."))
    if order.status not in REFUNDABLE:
        how = (N_("this order is %(status)s, not sold: cancel it instead")
               if order.status in ("pending", "failed")
               else N_("this order is %(status)s, not sold: there is nothing to refund"))
        raise ValidationError({"status": gettext(how, status=gettext(order.status))})
    methods = settings.get("payment_methods")
    method = refund_in.payment_method or order.payment_method
    if refund_in.payment_method and method not in methods:
        raise ValidationError({"payment_method": gettext("one of: %(known)s",
                                                         known=", ".join(methods))})
    created = now()
    day_close.ensure_open(created)
    # Take the order's row lock first (a no-op UPDATE: SQLite's write lock, PostgreSQL's
    # row lock), so two refunds at once cannot both give back the same units.
    db.session.execute(db.update(Order).where(Order.id == order.id)
                       .values(status=Order.status))
    done = refunded_so_far(order)
    wanted = _wanted(order, refund_in, done)
    refund = Refund(order_id=order.id, created_at=created, reason=refund_in.reason,
                    restocked=refund_in.restock, payment_method=method, user_id=user_id)
    for line, quantity in sorted(wanted.items(), key=lambda item: item[0].id):
        sold_q, (done_q, done_net, done_tax) = line.quantity, done.get(line.id, NOTHING)
        left = sold_q - done_q
        net, tax = share(line.net_cents, line.tax_cents, left, done_net, done_tax, quantity)
        refund.lines.append(RefundLine(
            order_line_id=line.id, quantity=quantity, tax_rate_bp=line.tax_rate_bp,
            net_cents=net, tax_cents=tax,
            cost_cents=None if line.unit_cost_cents is None else line.unit_cost_cents * quantity))
    refund.net_cents = sum(r.net_cents for r in refund.lines)
    refund.tax_cents = sum(r.tax_cents for r in refund.lines)
    refund.amount_cents = refund.net_cents + refund.tax_cents
    restocked = []
    if refund_in.restock:
        for line, quantity in wanted.items():
            product = db.session.execute(
                db.select(Product).where(Product.id == line.product_id).with_for_update()
                .execution_options(populate_existing=True)).scalar_one()
            product.stock += quantity
            restocked.append(product.id)
    db.session.add(refund)
    db.session.commit()
    caching.orders_changed()  # the product list's stock too
    if restocked:
        low_stock.after_stock_change(restocked)
    return refund


def refundable(order):
    """[(order line, quantity still refundable)] for the order page's refund form."""
    done = refunded_so_far(order)
    return [(line, line.quantity - done.get(line.id, NOTHING)[0]) for line in order.lines]

