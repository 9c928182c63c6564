"""Recording and processing orders.

An order is saved at once as `pending`; processing (stock, status) runs in the
background (webapp.background.tasks.process_order_task). Processing is idempotent: only a pending order is
processed, in one transaction, so stock is never decremented twice.

What an order must be is OrderIn (the form and the API both use it, docs/orders.md):
a customer's email or none (a walk-in sale), lines {sku, quantity, discount}, a payment
method from the shop's list, and an order discount written "5.00" (an amount) or "10%"
(a percent). Its money comes from webapp.tax.price_order and is fixed at the sale.
"""
import secrets
from datetime import datetime
from typing import NamedTuple

from pydantic import field_validator, model_validator

from . import caching, daily_figures, day_close, low_stock, settings, tax
from .extensions import db
from .i18n import N_, STORED_PARTS, format_count, gettext, stored
from .models import Customer, Order, OrderLine, Product, now
from .money import MAX_LINES, MAX_ORDER_CENTS, locale_number
from .validation import (Input, OptionalEmail, OptionalMoney, OptionalText, Quantity, Sku,
                         ValidationError, _money, check, parse_rate)



def new_ref():
    return f"W{datetime.now():%y%m%d}-{secrets.token_hex(4).upper()}"


def parse_discount(value):
    """An order discount as entered: "10%" -> ("percent", 1000 basis points);
    "5.00" or 5 -> ("amount", 500 cents); "" or None -> None."""
    rule = gettext("an amount like 5.00 or a percent like 10%")
    if isinstance(value, bool):
        raise ValueError(rule)
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    if text.endswith("%"):
        return ("percent", parse_rate(text))
    try:
        return ("amount", _money(text))
    except ValueError as exc:
        raise ValueError(gettext("%(reason)s (%(rule)s)", reason=exc, rule=rule)) from None


class LineIn(Input):
    sku: Sku
    quantity: Quantity
    discount: OptionalMoney = None  # the line's own discount, in the prices' terms

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data):
        if not isinstance(data, dict):
            raise ValueError(gettext("must be an object with sku and quantity"))
        return data


class OrderIn(Input):
    customer_email: OptionalEmail = None   # none: a walk-in sale
    lines: list[LineIn]
    payment_method: OptionalText = ""       # "": the shop's first payment method
    discount: tuple[str, int] | None = None  # ("percent", bp) | ("amount", cents)
    # Today is closed (Z-report done): the owner confirmed "record it on the next open
    # day" (day_close.open_moment). Without it such a sale is refused.
    into_open_day: bool = False

    @field_validator("lines", mode="before")
    @classmethod
    def _some_lines(cls, value):
        if not isinstance(value, list) or not value:
            raise ValueError(gettext("at least one line is required"))
        if len(value) > MAX_LINES:
            raise ValueError(gettext("at most %(count)s lines", count=format_count(MAX_LINES)))
        return value

    @field_validator("discount", mode="before")
    @classmethod
    def _discount(cls, value):
        return parse_discount(value)


class Draft(NamedTuple):
    """An order checked and priced, not saved: what create_order would record, and the
    order desk shows before recording (`errors` empty: it can be recorded)."""
    order_in: OrderIn
    customer: Customer | None
    payment_method: str
    lines: list      # (product, LineIn, tax.Line) per line that could be priced
    priced: tax.PricedOrder | None
    errors: dict     # {field: reason}, the API's field names (lines[0].sku, ...)

    @property
    def discount(self):
        return self.order_in.discount or (None, None)


def price_draft(data):
    """Check `data` (OrderIn's fields) and price it with the shop's settings now, saving
    nothing. Raises ValidationError when its shape is wrong (check); problems found
    against the database (an unknown SKU or customer, a discount above the order) are
    in the Draft's `errors`."""
    order_in = check(OrderIn, data)
    errors = {}
    customer = None
    if order_in.customer_email:
        customer = db.session.execute(
            db.select(Customer).filter_by(email=order_in.customer_email)).scalar()
        if customer is None:
            errors["customer_email"] = gettext("no customer with email %(email)r",
                                               email=order_in.customer_email)
    methods = settings.get("payment_methods")
    method = order_in.payment_method or (methods[0] if methods else "")
    if method not in methods:
        errors["payment_method"] = gettext("one of: %(known)s", known=", ".join(methods))
    skus = {line.sku for line in order_in.lines}
    products = {p.sku: p for p in db.session.execute(
        db.select(Product).where(Product.sku.in_(skus))).scalars()}
    default_rate = settings.get("default_tax_rate_bp")
    priced_lines = []
    for i, line in enumerate(order_in.lines):
        product = products.get(line.sku)
        if product is None:
            errors[f"lines[{i}].sku"] = gettext("unknown sku %(sku)r", sku=line.sku)
            continue
        if product.archived:
            errors[f"lines[{i}].sku"] = gettext(
                "%(sku)s is archived and can no longer be sold", sku=line.sku)
            continue
        if (line.discount or 0) > line.quantity * product.price_cents:
            errors[f"lines[{i}].discount"] = gettext(
                "more than the line (%(amount)s)",
                amount=locale_number(line.quantity * product.price_cents, cents=True))
            continue
        rate = default_rate if product.tax_rate_bp is None else product.tax_rate_bp
        priced_lines.append((product, line, tax.Line(line.quantity, product.price_cents, rate,
                                                     line.discount or 0)))
    include_tax = settings.get("prices_include_tax")
    kind, value = order_in.discount or (None, None)
    priced = None
    if not errors:
        try:
            priced = tax.price_order([t for _, _, t in priced_lines], include_tax,
                                     discount_percent_bp=value if kind == "percent" else None,
                                     discount_amount_cents=value if kind == "amount" else None)
        except tax.PricingError as exc:
            errors["discount"] = gettext(str(exc))  # webapp.tax marks its reasons (N_)
            priced = None
        else:
            if priced.total_cents > MAX_ORDER_CENTS or priced.gross_cents > MAX_ORDER_CENTS:
                errors["lines"] = gettext("the order's total is above %(amount)s",
                                          amount=locale_number(MAX_ORDER_CENTS, cents=True))
    return Draft(order_in, customer, method, priced_lines, priced, errors)


def stock_notes(draft):
    """{sku: "Only 2 in stock" | "Out of stock"} for each product the draft asks more of
    than there is now (its lines of one product counted together). The one stock rule
    before a sale is recorded: the desk shows it on the line, and create_order refuses
    such an order, from the desk and the API alike."""
    needed, products = {}, {}
    for product, line, _ in draft.lines:
        needed[product.sku] = needed.get(product.sku, 0) + line.quantity
        products[product.sku] = product
    notes = {}
    for sku, quantity in needed.items():
        stock = products[sku].stock
        if stock < quantity:
            notes[sku] = (gettext("Out of stock") if stock <= 0 else
                          gettext("Only %(count)s in stock", count=format_count(stock)))
    return notes


def short_stock_errors(draft):
    """{lines[i].quantity: reason} for each line of a product short of stock."""
    notes = stock_notes(draft)
    stock = {product.sku: product.stock for product, _line, _t in draft.lines}

    def reason(sku):
        if stock[sku] <= 0:
            return gettext("out of stock: lower the quantity, or add stock first")
        return gettext("only %(count)s in stock: lower the quantity, or add stock first",
                       count=format_count(stock[sku]))
    return {f"lines[{i}].quantity": reason(line.sku)
            for i, line in enumerate(draft.order_in.lines) if line.sku in notes}


def record_order(data, idempotency_key=None, user_id=None):
    """The one way a sale is recorded (the desk form and the API): create_order's pending
    order, the job that processes it and the user's activity line ("Recorded order
    ..."), committed in one transaction (the job's row is the outbox), then queued.
    Queueing can fail (the broker down for a moment): the sale is recorded all the same,
    and the sweep queues it (webapp.background.outbox). Returns (order, job)."""
    from sqlalchemy.orm.attributes import set_committed_value

    from .background import jobs
    from .models import Activity

    order = _add_order(data, idempotency_key)
    db.session.flush()  # the order's id, for its job
    set_committed_value(order, "refunds", [])  # a new sale has none: not queried for
    job = jobs.new("order", stored(N_("Process order %(ref)s"), ref=order.ref),
                   {"order_id": order.id},
                   dedup_key=f"order:{order.id}", user_id=user_id)
    if user_id is not None:  # auth.record_activity's row, in this transaction
        db.session.add(Activity(user_id=user_id,
                                text=stored(N_("Recorded order %(ref)s"), ref=order.ref)))
    # The answer is made from what was just written: keep it loaded, not read back.
    session = db.session()
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        db.session.commit()
    finally:
        session.expire_on_commit = expire
    caching.sale_recorded()
    if user_id is not None:
        caching.invalidate_user_dashboard(user_id)
    jobs.hand_over(job)
    return order, job


def create_order(data, idempotency_key=None):
    """Validate `data` (OrderIn's fields) and save a pending order, not queued (the web
    side records sales with record_order); raises
    ValidationError({field: reason}) (day_close.DayClosed when today is closed), also when
    the stock cannot cover it now. Processing checks the stock again (process_order):
    two sales recorded at the same moment may still ask for the same last units.
    An IdempotencyKey row is saved in the same transaction, pointing at the order (its
    unique constraint makes a duplicate request fail here, recording nothing)."""
    order = _add_order(data, idempotency_key)
    db.session.commit()
    caching.orders_changed()
    return order


def _add_order(data, idempotency_key):
    """create_order's order, added to the session, not committed."""
    draft = price_draft(data)
    if draft.errors:
        raise ValidationError(draft.errors)
    short = short_stock_errors(draft)
    if short:
        raise ValidationError(short)
    order_in, customer, priced = draft.order_in, draft.customer, draft.priced
    kind, value = draft.discount
    created = now()
    if order_in.into_open_day:
        created = day_close.open_moment(created)
    day_close.ensure_open(created)
    order = Order(ref=new_ref(), customer_id=customer.id if customer else None,
                  created_at=created, status="pending", payment_method=draft.payment_method,
                  currency=settings.get("currency"),
                  prices_include_tax=settings.get("prices_include_tax"),
                  discount_percent_bp=value if kind == "percent" else None,
                  discount_amount_cents=value if kind == "amount" else None,
                  gross_cents=priced.gross_cents, discount_cents=priced.discount_cents,
                  total_cents=priced.total_cents, tax_cents=priced.tax_cents)
    order.lines = [
        OrderLine(product=p, quantity=t.quantity, unit_price_cents=t.unit_price_cents,
                  tax_rate_bp=t.tax_rate_bp, unit_cost_cents=p.cost_cents,
                  discount_cents=t.discount_cents, net_cents=pl.net_cents,
                  tax_cents=pl.tax_cents)
        for (p, _, t), pl in zip(draft.lines, priced.lines)
    ]
    lock_products([p.id for p, _, _ in draft.lines], share=True)
    db.session.add(order)
    if idempotency_key is not None:
        idempotency_key.order = order
        db.session.add(idempotency_key)
    return order


def cancel_order(order_id, reason=""):
    """Cancel a pending or failed order (it never took stock): status "cancelled", not a
    sale, nothing deleted. A processed or imported order is refunded instead
    (webapp.refunds). Raises ValidationError with the reason it cannot be cancelled."""
    order = db.session.get(Order, order_id)
    if order is None:
        raise LookupError(gettext("There is no such order."))
    if order.status not in ("pending", "failed"):
        raise ValidationError({"status": _why_not_cancelled(order.status)})
    # Its day's figures change (a pending order counts as a sale): not in a closed day.
    day_close.ensure_open(order.created_at)
    text = str(reason or "").strip()[:300]
    # Conditional, like process_order's claim: a worker taking the order at the same
    # moment wins or loses as a whole, never both.
    changed = 0
    for before in ("pending", "failed"):  # one at a time: whether it counted matters
        changed = db.session.execute(
            db.update(Order).where(Order.id == order_id, Order.status == before)
            .values(status="cancelled", status_reason=text or "cancelled")
        ).rowcount
        if changed:
            if before == "pending":  # a sale until now: off the daily figures
                daily_figures.order_left(order_id)
            break
    db.session.commit()
    db.session.refresh(order)
    if not changed:
        raise ValidationError({"status": _why_not_cancelled(order.status)})
    caching.orders_changed()
    return order


def give_up(order_id, reason):
    """A pending order that could not be processed, try after try (an unexpected error,
    webapp.background.outbox): failed with the reason, so that it is seen and can be
    cancelled or recorded again, instead of pending for ever. It never took stock."""
    changed = db.session.execute(
        db.update(Order).where(Order.id == order_id, Order.status == "pending")
        .values(status="failed", status_reason=reason[:300])).rowcount
    if changed:
        daily_figures.order_left(order_id)  # a failed order is not a sale
    db.session.commit()
    if changed:
        caching.orders_changed()
    return bool(changed)


def _why_not_cancelled(status):
    if status in ("processed", "imported", "processing"):
        return gettext("this order is %(status)s: a sold order is refunded (with its stock "
                       "put back if you choose), not cancelled", status=gettext(status))
    return gettext("this order is already %(status)s", status=gettext(status))


def load_for_invoice(order_id):
    """The order with its customer, lines and their products in two queries (after a
    commit every attribute would be loaded again one by one)."""
    from sqlalchemy.orm import selectinload

    return db.session.execute(
        db.select(Order).where(Order.id == order_id).options(selectinload(Order.lines))
        .execution_options(populate_existing=True)).unique().scalar_one()


def lock_products(ids, share=False):
    """Lock the products of an order, always in one order (by id), so that two
    transactions locking some of the same products never wait for each other in a circle
    (PostgreSQL's "deadlock detected"; SQLite has one writer and ignores row locks).
    share=True (recording an order): KEY SHARE, the lock its lines' foreign keys take
    anyway, taken up front in id order rather than line by line in the order's own.
    Otherwise (changing stock): FOR NO KEY UPDATE, which does not conflict with KEY
    SHARE, so recording orders never waits for processing ones. Returns the products
    (their ids only, for share)."""
    select = db.select(Product.id if share else Product).where(
        Product.id.in_(sorted(set(ids)))).order_by(Product.id)
    select = select.with_for_update(key_share=True, read=share)
    return db.session.execute(select.execution_options(populate_existing=True)).scalars().all()


def process_order(order_id):
    """Decrement stock, or mark the order failed with the reason. Safe to run twice, and
    from two processes at once: the order is claimed by a conditional UPDATE, and the
    whole change is one transaction. A cancelled order is left alone."""
    claimed = db.session.execute(
        db.update(Order).where(Order.id == order_id, Order.status == "pending")
        .values(status="processing")
    ).rowcount
    if not claimed:
        db.session.rollback()
        return db.session.get(Order, order_id)
    daily_figures.order_left(order_id)  # "processing"; added back if processed
    order = db.session.execute(
        db.select(Order).where(Order.id == order_id).execution_options(populate_existing=True)
    ).unique().scalar_one()
    products = {p.id: p for p in lock_products([line.product_id for line in order.lines])}
    needed = {}
    for line in order.lines:
        needed[line.product_id] = needed.get(line.product_id, 0) + line.quantity
    # Stored in English, shown in the shop's language (webapp.i18n.say_stored).
    short = [stored(STORED_PARTS["items"], sku=products[pid].sku, ordered=qty,
                    stock=products[pid].stock)
             for pid, qty in needed.items() if products[pid].stock < qty]
    if short:
        order.status = "failed"
        order.status_reason = stored(N_("not enough stock: %(items)s"), items="; ".join(short))
    else:
        for pid, qty in needed.items():
            products[pid].stock -= qty
        order.status = "processed"
    low = any(p.reorder_at is not None and p.stock <= p.reorder_at for p in products.values())
    db.session.commit()
    if short or low:
        caching.orders_changed()  # a failed sale leaves the figures; low stock is on them
    else:
        # A pending order already counts as a sale: processing it changes only the stock
        # the product pages show (one cache write per order, not a dozen: the drain rate).
        caching.bump_version("products")
    if not short:
        low_stock.after_stock_change(list(needed))
    return order
