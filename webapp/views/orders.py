"""Orders: list (not cached: it changes with every sale), detail, the order desk (the
New sale page; its parts are in views/desk.py), the receipt and the invoice PDF."""
import secrets

from flask import (Blueprint, abort, flash, g, redirect, render_template, request,
                   send_file, url_for)
from sqlalchemy.exc import IntegrityError

from .. import catalog, idempotency, ordering, permissions, refunds, settings
from ..background import jobs
from ..auth import record_activity
from ..catalog import ValidationError
from ..config import files_folder
from ..extensions import db
from ..i18n import N_, gettext, stored
from ..invoice_pdf import order_rates, write_invoice
from ..models import Customer, Order, Product
from ..money_display import format_money
from . import desk, order_filters
from .customers import welcome_later
from .paging import page_arg, search_pattern

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
        db.select(Order).order_by(Order.created_at.desc(), Order.id.desc()),
        order_filters.for_role(wanted))
    page = db.paginate(select, page=page_arg(), per_page=50, error_out=False)
    customer = db.session.get(Customer, wanted["customer"]) if "customer" in wanted else None
    return _list_page(given, page, {}, customer)


def _list_page(given, page, errors, customer=None):
    return render_template("orders/list.html", page=page, f=given, errors=errors,
                           customer=customer, statuses=order_filters.STATUSES,
                           methods=order_filters.payment_choices(given.get("payment", "")))


@bp.get("/<int:order_id>")
def detail(order_id):
    return _detail_page(_order_or_404(order_id))


def _detail_page(order, errors=None, status=200):
    left = refunds.refundable(order) if order.status in refunds.REFUNDABLE else []
    return render_template("orders/detail.html", order=order, refundable=left,
                           errors=errors or {}), status


def _order_or_404(order_id):
    """The order, if there is one and the role may see its day (staff: today's)."""
    order = db.session.get(Order, order_id)
    if order is None:
        abort(404, gettext("There is no such order."))
    permissions.check_order_day(order.created_at)
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
    record_activity(N_("Refunded %(amount)s of order %(ref)s"),
                    amount=format_money(done.amount_cents), ref=order.ref)
    flash(gettext("Refund recorded for order %(ref)s.", ref=order.ref))
    return redirect(url_for(".detail", order_id=order.id), 303)


@bp.post("/<int:order_id>/cancel")
def cancel(order_id):
    order = _order_or_404(order_id)
    try:
        ordering.cancel_order(order.id, request.form.get("reason", ""))
    except ValidationError as exc:
        db.session.rollback()
        return _detail_page(order, exc.errors, 400)
    record_activity(N_("Cancelled order %(ref)s"), ref=order.ref)
    flash(gettext("Order %(ref)s was cancelled.", ref=order.ref))
    return redirect(url_for(".detail", order_id=order.id), 303)


def submit_order(data, idempotency_key=None):
    """The one way an order is recorded (form and API): saved at once with its processing
    job, processed in the background (ordering.record_order: recorded even when the
    broker cannot take the job now). Returns (order, job). With an IdempotencyKey row, a
    request that lost the race for that key raises IntegrityError and records nothing."""
    return ordering.record_order(data, idempotency_key=idempotency_key,
                                 user_id=g.get("user_id"))


def process_later(order):
    """The order's processing job: its unfinished one, or a new one queued."""
    job, _ = jobs.submit("order", stored(N_("Process order %(ref)s"), ref=order.ref),
                         {"order_id": order.id}, dedup_key=f"order:{order.id}",
                         user_id=g.user_id)
    return job


def _sent_twice(row, content):
    """A form sent again with its one-time token: the first order, never a second one."""
    if idempotency.same_request(row, content):
        flash(gettext("Order %(ref)s was already recorded: the form was sent twice.",
                      ref=row.order.ref))
        return redirect(url_for(".receipt", order_id=row.order_id), 303)
    return None


@bp.route("/new", methods=["GET", "POST"])
def create():
    """The order desk. Buttons say what a POST is for (`action`): add (the default
    button, so Enter in any field adds or updates and never records), remove-<i>,
    customer (add one inline) and record; a POST without `action` records (the API's
    sibling: scripts and older forms)."""
    errors, status = {}, 200
    once = secrets.token_urlsafe(16)  # the form's one-time token
    form = request.form.to_dict() if request.method == "POST" else {}
    action = "add" if form.get("pick") else form.get("action", "record")
    matches = []
    if form.get("customer_email", "").strip():
        form["customer_email"], problem = desk.find_customer(form["customer_email"])
        if problem:
            errors["customer_email"], status = problem, 400
    if request.method == "POST" and action == "add":
        matches, errors = _desk_add(form, errors)
    elif action.startswith("remove-"):
        for name in ("sku", "qty", "disc"):
            form.pop(f"{name}{action.removeprefix('remove-')}", None)
    elif action == "customer":
        errors = _desk_customer(form, errors)
        status = 400 if errors else 200
    elif request.method == "POST" and action == "record" and not errors:
        content = desk.form_order(form)
        sent = form.get("once", "")
        key = f"form:{sent}" if sent and len(sent) <= 64 and sent.isprintable() else None
        row = idempotency.find(g.user_id, key) if key else None
        if row is None:
            lines = desk.form_lines(form)
            row_new = idempotency.new(g.user_id, key, content) if key else None
            try:  # short stock is refused there too (ordering.stock_notes)
                order, _ = submit_order(content, row_new)
            except ValidationError as exc:
                db.session.rollback()
                errors, status, once = desk.field_errors(exc.errors, lines), 400, sent or once
            except IntegrityError:
                db.session.rollback()
                row = idempotency.find(g.user_id, key) if key else None
                if row is None:
                    raise
            else:
                flash(gettext("Order %(ref)s recorded", ref=order.ref))
                return redirect(url_for(".receipt", order_id=order.id))
        if row is not None:
            response = _sent_twice(row, content)
            if response is not None:
                return response
            errors, status = {"form": f"This form was already used for order "
                                      f"{row.order.ref}. To record another order, check "
                                      f"it and send it again."}, 409
    if request.method == "POST" and action != "record":
        once = form.get("once") or once  # the same sale, still being put together
    return _desk_page(form, errors, matches, once, status)


def _desk_page(form, errors, matches, once, status):
    lines = desk.form_lines(form)
    state = desk.desk_state(desk.form_order(form)) if lines else None
    products = {p.sku: p for p in db.session.execute(db.select(Product).where(
        Product.sku.in_([sku for _, sku, _, _ in lines]))).scalars()} if lines else {}
    priced = state["lines"] if state and len(state["lines"]) == len(lines) else []
    shown = [{"index": i, "sku": sku, "qty": qty, "disc": disc, "product": products.get(sku),
              "priced": priced[n] if priced else None,
              "note": state["stock"].get(sku) if state else None}
             for n, (i, sku, qty, disc) in enumerate(lines)]
    if state and not errors and state["errors"]:  # shown while the sale is put together
        errors = desk.field_errors(state["errors"], lines)
    return render_template(
        "orders/form.html", form=form, errors=errors, lines=shown, matches=matches,
        totals=state["totals"] if state and not state["errors"] else None, once=once,
        methods=settings.get("payment_methods")), status


def _desk_add(form, errors):
    """Add the product picked, or the one `find` names (an exact SKU or barcode, or the
    only name that matches), to the form; a second of the same adds 1 to its line."""
    text = form.pop("pick", "") or form.get("find", "").strip()
    form["find"] = ""
    if not text:
        return [], errors  # "Update": Enter in a field, or the button with nothing typed
    live = Product.archived.is_(False)
    product = desk.exact_product(text)
    matches = []
    if product is None:
        matches = db.session.execute(db.select(Product).where(live, Product.name.ilike(
            search_pattern(text), escape="\\") | Product.sku.ilike(
            search_pattern(text), escape="\\")).order_by(Product.name).limit(10)).scalars().all()
        if len(matches) == 1:
            product, matches = matches[0], []
    if product is None:
        form["find"] = text
        if not matches:
            errors = {**errors, "find": f"No product matches \u201c{text}\u201d."}
        return matches, errors
    for i, sku, qty, _ in desk.form_lines(form):
        if sku == product.sku:
            form[f"qty{i}"] = str(int(qty) + 1) if qty.isdigit() else qty
            return [], errors
    index = max([i for i, *_ in desk.form_lines(form)], default=-1) + 1
    form.update({f"sku{index}": product.sku, f"qty{index}": "1", f"disc{index}": ""})
    return [], errors


def _desk_customer(form, errors):
    """Add the customer typed in the desk's "New customer" fields, and pick them."""
    fields = {name: form.get(f"new_{name}", "") for name in ("email", "name", "country", "city")}
    try:
        customer = catalog.create_customer(fields)
    except ValidationError as exc:
        db.session.rollback()
        return {**errors, **{f"new_{k}": desk.plain(v) for k, v in exc.errors.items()}}
    record_activity(N_("Added customer %(email)s"), email=customer.email)
    welcome_later(customer)
    for name in fields:
        form.pop(f"new_{name}", None)
    form["customer_email"] = customer.email
    errors.pop("customer_email", None)
    return errors


@bp.get("/<int:order_id>/receipt")
def receipt(order_id):
    """The sale's receipt, for the screen and for printing (static/desk.css)."""
    order = _order_or_404(order_id)
    return render_template("orders/receipt.html", order=order, rates=order_rates(order),
                           shop={name: settings.get(f"shop_{name}")
                                 for name in ("name", "address", "tax_number")})


@bp.get("/<int:order_id>/invoice.pdf")
def invoice(order_id):
    """The order's invoice PDF: the one written when it was processed, or written now
    (a pending order's figures are fixed at the sale too)."""
    order = _order_or_404(order_id)
    path = files_folder("invoices") / f"{order.ref}.pdf"
    if not path.is_file():
        write_invoice(order, path)
    return send_file(path, mimetype="application/pdf", as_attachment=False,
                     download_name=f"Invoice {order.ref}.pdf")
