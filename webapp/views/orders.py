"""Orders: list (not cached: it changes with every sale), detail, and a form."""
import secrets

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError

from .. import idempotency, ordering, refunds, settings
from ..background import jobs
from ..auth import record_activity
from ..catalog import ValidationError
from ..extensions import db
from ..models import Customer, Order, Product
from ..money_display import format_money
from . import order_filters
from .paging import page_arg

bp = Blueprint("orders", __name__, url_prefix="/orders")


@bp.get("/")
def index():
    """Filtered by the query string (order_filters): a bad filter is a 400 page that
    says which field and why, with the form to fix it."""
    try:
        given, wanted = order_filters.read(request.args)
    except order_filters.FilterError as exc:
        given = {k: v for k, v in request.args.items() if k in order_filters.FIELDS}
        return _list_page(given, None, exc.errors), 400
    select = order_filters.apply(
        db.select(Order).order_by(Order.created_at.desc(), Order.id.desc()), wanted)
    page = db.paginate(select, page=page_arg(), per_page=50, error_out=False)
    customer = db.session.get(Customer, wanted["customer"]) if "customer" in wanted else None
    return _list_page(given, page, {}, customer)


def _list_page(given, page, errors, customer=None):
    return render_template("orders/list.html", page=page, f=given, errors=errors,
                           customer=customer, statuses=order_filters.STATUSES,
                           methods=order_filters.payment_choices(given.get("payment", "")))


@bp.get("/<int:order_id>")
def detail(order_id):
    order = db.session.get(Order, order_id)
    if order is None:
        abort(404, "There is no such order.")
    return _detail_page(order)


def _detail_page(order, errors=None, status=200):
    left = refunds.refundable(order) if order.status in refunds.REFUNDABLE else []
    return render_template("orders/detail.html", order=order, refundable=left,
                           errors=errors or {}), status


def _order_or_404(order_id):
    order = db.session.get(Order, order_id)
    if order is None:
        abort(404, "There is no such order.")
    return order


@bp.post("/<int:order_id>/refund")
def refund(order_id):
    """The order page's refund form: qty_<line id> per line (empty: none of it)."""
    order = _order_or_404(order_id)
    form = request.form
    lines = [{"line_id": line.id, "quantity": form.get(f"qty_{line.id}", "").strip()}
             for line in order.lines if form.get(f"qty_{line.id}", "").strip() not in ("", "0")]
    data = {"reason": form.get("reason", ""), "restock": form.get("restock") == "on",
            "lines": None if form.get("whole") else lines}
    try:
        done = refunds.refund_order(order.id, data, user_id=g.user_id)
    except ValidationError as exc:
        db.session.rollback()
        return _detail_page(order, exc.errors, 400)
    record_activity(f"Refunded {format_money(done.amount_cents)} of order {order.ref}")
    flash(f"Refund recorded for order {order.ref}.")
    return redirect(url_for(".detail", order_id=order.id), 303)


@bp.post("/<int:order_id>/cancel")
def cancel(order_id):
    order = _order_or_404(order_id)
    try:
        ordering.cancel_order(order.id, request.form.get("reason", ""))
    except ValidationError as exc:
        db.session.rollback()
        return _detail_page(order, exc.errors, 400)
    record_activity(f"Cancelled order {order.ref}")
    flash(f"Order {order.ref} was cancelled.")
    return redirect(url_for(".detail", order_id=order.id), 303)


def submit_order(data, idempotency_key=None):
    """The one way an order is recorded (form and API): saved at once, processed in the
    background. Returns (order, job). With an IdempotencyKey row, a request that lost the
    race for that key raises IntegrityError and records nothing."""
    order = ordering.create_order(data, idempotency_key=idempotency_key)
    record_activity(f"Recorded order {order.ref}")
    return order, process_later(order)


def process_later(order):
    """Queue the order's processing (once: an unfinished job for it is reused)."""
    job, _ = jobs.submit("order", f"Process order {order.ref}", {"order_id": order.id},
                         dedup_key=f"order:{order.id}", user_id=g.user_id)
    return job


FORM_FIELDS = (["customer_email", "payment_method", "discount", "into_open_day"]
               + [f"{name}{i}" for i in range(5) for name in ("sku", "qty", "disc")])


def form_order(content):
    """The form's fields as OrderIn's (the API's) shape: one set of rules for both."""
    lines = [{"sku": content[f"sku{i}"], "quantity": content[f"qty{i}"],
              "discount": content[f"disc{i}"]}
             for i in range(5) if content[f"sku{i}"] or content[f"qty{i}"] or content[f"disc{i}"]]
    return {"customer_email": content["customer_email"], "lines": lines,
            "payment_method": content["payment_method"], "discount": content["discount"],
            "into_open_day": content["into_open_day"] == "1"}


def _sent_twice(row, content):
    """A form sent again with its one-time token: the first order, never a second one."""
    if idempotency.same_request(row, content):
        flash(f"Order {row.order.ref} was already recorded: the form was sent twice.")
        return redirect(url_for(".detail", order_id=row.order_id), 303)
    return None


@bp.route("/new", methods=["GET", "POST"])
def create():
    errors, form, status = {}, {}, 200
    once = secrets.token_urlsafe(16)  # the form's one-time token
    if request.method == "POST":
        form = request.form.to_dict()
        content = {name: form.get(name, "").strip() for name in FORM_FIELDS}
        sent = form.get("once", "")
        key = f"form:{sent}" if sent and len(sent) <= 64 and sent.isprintable() else None
        row = idempotency.find(g.user_id, key) if key else None
        if row is None:
            row_new = idempotency.new(g.user_id, key, content) if key else None
            try:
                order, _ = submit_order(form_order(content), row_new)
            except ValidationError as exc:
                db.session.rollback()
                errors, status, once = exc.errors, 400, sent or once
            except IntegrityError:
                db.session.rollback()
                row = idempotency.find(g.user_id, key) if key else None
                if row is None:
                    raise
            else:
                return redirect(url_for(".detail", order_id=order.id))
        if row is not None:
            response = _sent_twice(row, content)
            if response is not None:
                return response
            errors, status = {"form": f"this form was already used for order {row.order.ref}. "
                                      f"To record another order, check it and send it again."}, 409
    skus = db.session.execute(db.select(Product.sku, Product.name)  # archived: not sold
                              .where(Product.archived.is_(False)).order_by(Product.name)).all()
    return render_template("orders/form.html", form=form, errors=errors, skus=skus,
                           once=once, methods=settings.get("payment_methods")), status
