"""Recording and processing orders.

An order is saved at once as `pending`; processing (stock, status) runs in the
background (webapp.background.tasks.process_order_task). Processing is idempotent: only a pending order is
processed, in one transaction, so stock is never decremented twice.
"""
import secrets
from datetime import datetime

from . import caching, low_stock
from .catalog import ValidationError
from .extensions import db
from .models import Customer, Order, OrderLine, Product, now
from .money import (MAX_LINES, MAX_ORDER_CENTS, MAX_QUANTITY, NumberError, cents_for_display,
                    parse_whole)


def new_ref():
    return f"W{datetime.now():%y%m%d}-{secrets.token_hex(4).upper()}"


def create_order(customer_email, lines, idempotency_key=None):
    """Validate and save a pending order; raises ValidationError({field: reason}).
    An IdempotencyKey row is saved in the same transaction, pointing at the order (its
    unique constraint makes a duplicate request fail here, recording nothing)."""
    errors = {}
    email = str(customer_email or "").strip().lower()
    customer = None
    if not email:
        errors["customer_email"] = "is required"
    else:
        customer = db.session.execute(db.select(Customer).filter_by(email=email)).scalar()
        if customer is None:
            errors["customer_email"] = f"no customer with email {email!r}"
    if not isinstance(lines, list) or not lines:
        errors["lines"] = "at least one line is required"
        lines = []
    elif len(lines) > MAX_LINES:
        errors["lines"] = f"at most {MAX_LINES} lines"
        lines = []
    parsed = []
    for i, line in enumerate(lines):
        if not isinstance(line, dict):
            errors[f"lines[{i}]"] = "must be an object with sku and quantity"
            continue
        sku = str(line.get("sku") or "").strip()
        product = db.session.execute(db.select(Product).filter_by(sku=sku)).scalar() if sku else None
        if product is None:
            errors[f"lines[{i}].sku"] = f"unknown sku {sku!r}" if sku else "is required"
        try:
            quantity = parse_whole(line.get("quantity"), 1, MAX_QUANTITY)
        except NumberError:
            errors[f"lines[{i}].quantity"] = f"a whole number from 1 to {MAX_QUANTITY:,}"
        else:
            if product is not None:
                parsed.append((product, quantity))
    if not errors and sum(p.price_cents * q for p, q in parsed) > MAX_ORDER_CENTS:
        errors["lines"] = f"the order's total is above {cents_for_display(MAX_ORDER_CENTS)}"
    if errors:
        raise ValidationError(errors)
    order = Order(ref=new_ref(), customer_id=customer.id, created_at=now(), status="pending")
    order.lines = [
        OrderLine(product_id=p.id, quantity=q, unit_price_cents=p.price_cents,
                  net_cents=p.price_cents * q) for p, q in parsed
    ]
    order.total_cents = order.gross_cents = sum(p.price_cents * q for p, q in parsed)
    db.session.add(order)
    if idempotency_key is not None:
        idempotency_key.order = order
        db.session.add(idempotency_key)
    db.session.commit()
    caching.orders_changed()
    return order


def process_order(order_id):
    """Decrement stock, or mark the order failed with the reason. Safe to run twice, and
    from two processes at once: the order is claimed by a conditional UPDATE, and the
    whole change is one transaction."""
    claimed = db.session.execute(
        db.update(Order).where(Order.id == order_id, Order.status == "pending")
        .values(status="processing")
    ).rowcount
    if not claimed:
        db.session.rollback()
        return db.session.get(Order, order_id)
    order = db.session.execute(
        db.select(Order).where(Order.id == order_id).execution_options(populate_existing=True)
    ).unique().scalar_one()
    products = {
        p.id: p for p in db.session.execute(
            db.select(Product).where(Product.id.in_([line.product_id for line in order.lines]))
            .with_for_update().execution_options(populate_existing=True)
        ).scalars()
    }
    needed = {}
    for line in order.lines:
        needed[line.product_id] = needed.get(line.product_id, 0) + line.quantity
    short = [f"{products[pid].sku}: {qty} ordered, {products[pid].stock} in stock"
             for pid, qty in needed.items() if products[pid].stock < qty]
    if short:
        order.status = "failed"
        order.status_reason = "not enough stock: " + "; ".join(short)
    else:
        for pid, qty in needed.items():
            products[pid].stock -= qty
        order.status = "processed"
    db.session.commit()
    caching.orders_changed()
    if order.status == "processed":
        low_stock.after_stock_change(needed)
    return order
