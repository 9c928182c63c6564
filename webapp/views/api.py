"""JSON API. Errors are {"error": "..."} with a 4xx status (see webapp.errors)."""
from flask import Blueprint, abort, current_app, g, jsonify, request, url_for
from sqlalchemy.exc import IntegrityError

from .. import catalog, idempotency, ordering, refunds, stats
from ..auth import record_activity
from ..caching import only_ok, stats_api_key
from ..extensions import cache, db
from ..i18n import N_, PRODUCT_GONE
from ..money import cents_to_number, cents_to_str
from ..permissions import check_order_day
from .customers import welcome_later
from .orders import process_later, submit_order

bp = Blueprint("api", __name__, url_prefix="/api")


def json_body():
    data = None
    if request.is_json:
        try:
            data = current_app.json.loads(request.get_data())  # webapp.errors: strict
        except (ValueError, UnicodeDecodeError) as exc:
            abort(400, f"The body is not valid JSON: {exc}")
    if not isinstance(data, dict):
        abort(400, "The body must be a JSON object (Content-Type: application/json).")
    return data


def validation_error(exc):
    return jsonify(error=str(exc), fields=exc.errors), 400


@bp.get("/stats")
@cache.cached(key_prefix=stats_api_key, response_filter=only_ok)
def stats_view():
    s = stats.summary()
    return jsonify(
        orders=s["orders"],
        revenue=cents_to_number(s["revenue_cents"]),
        average_order_value=cents_to_number(s["average_order_value_cents"]),
        customers=s["customers"],
        products=s["products"],
    )


@bp.post("/orders")
def create_order():
    """Records an order. With an `Idempotency-Key` header, the same key (same user, within
    24 hours) answers with the first order, 201 and the same body, and records nothing."""
    data = json_body()
    raw_key = request.headers.get("Idempotency-Key")
    key = idempotency.check_key(raw_key) if raw_key is not None else None
    row = idempotency.find(g.user_id, key) if key else None
    if row is None:
        new_row = idempotency.new(g.user_id, key, data) if key else None
        try:
            order, job = submit_order(data, new_row)
        except catalog.ValidationError as exc:
            db.session.rollback()
            return validation_error(exc)
        except IntegrityError:  # another request with this key was first
            db.session.rollback()
            row = idempotency.find(g.user_id, key) if key else None
            if row is None:
                raise
        else:
            body = order_body(order, job)
            if new_row is not None:
                idempotency.store_response(new_row, body)
            return order_created(body)
    if not idempotency.same_request(row, data):
        abort(422, idempotency.reused_message(row))
    body = idempotency.first_response(row, lambda order: order_body(order, process_later(order)))
    return order_created(body, replayed=True)


def order_body(order, job):
    body = order.to_dict()
    body["task_id"] = job.task_id
    body["status_url"] = url_for("tasks.task_status", task_id=job.task_id)
    return body


def order_created(body, replayed=False):
    headers = {"Location": url_for("api.get_order", order_id=body["id"])}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return jsonify(body), 201, headers


@bp.get("/orders/<int:order_id>")
def get_order(order_id):
    from ..extensions import db
    from ..models import Order

    order = db.session.get(Order, order_id)
    if order is None:
        abort(404, "There is no such order.")
    check_order_day(order.created_at)
    return jsonify(order.to_dict())


@bp.post("/orders/<int:order_id>/refunds")
def refund_order(order_id):
    """{"lines": [{"line_id" or "sku", "quantity"}] (omitted: all not yet refunded),
    "reason", "restock", "payment_method"} -> 201 and the refund."""
    data = json_body()
    try:
        refund = refunds.refund_order(order_id, data, user_id=g.user_id)
    except LookupError as exc:
        abort(404, str(exc))
    except catalog.ValidationError as exc:
        db.session.rollback()
        return validation_error(exc)
    record_activity(N_("Refunded %(amount)s of order %(ref)s"),
                    amount=cents_to_str(refund.amount_cents), ref=refund.order.ref)
    return jsonify(refund.to_dict()), 201


@bp.post("/orders/<int:order_id>/cancel")
def cancel_order(order_id):
    """{"reason": "..."} (optional) -> the cancelled order."""
    data = json_body() if request.get_data() else {}
    try:
        order = ordering.cancel_order(order_id, data.get("reason", ""))
    except LookupError as exc:
        abort(404, str(exc))
    except catalog.ValidationError as exc:
        db.session.rollback()
        return validation_error(exc)
    record_activity(N_("Cancelled order %(ref)s"), ref=order.ref)
    return jsonify(order.to_dict())


@bp.get("/products/<sku>")
def get_product(sku):
    return jsonify(catalog.get_product(sku).to_dict())


@bp.post("/products")
def create_product():
    try:
        product = catalog.create_product(json_body())
    except catalog.ValidationError as exc:
        return validation_error(exc)
    record_activity(N_("Created product %(sku)s"), sku=product.sku)
    return jsonify(product.to_dict()), 201, {
        "Location": url_for("api.get_product", sku=product.sku)}


@bp.patch("/products/<sku>")
def patch_product(sku):
    """Only the fields given change; the result obeys the same rules as a full product."""
    data = json_body()
    try:
        product = catalog.update_product(sku, data)
    except catalog.ValidationError as exc:
        return validation_error(exc)
    record_activity(N_("Edited product %(sku)s"), sku=product.sku)
    return jsonify(product.to_dict())


@bp.delete("/products/<sku>")
def delete_product(sku):
    """Deleted, or archived when it is in orders: {"sku", "outcome": "deleted"|"archived"}."""
    outcome = catalog.delete_product(sku)
    record_activity(PRODUCT_GONE[outcome], sku=sku)
    return jsonify(sku=sku, outcome=outcome)


@bp.post("/products/<sku>/restore")
def restore_product(sku):
    product = catalog.restore_product(sku)
    record_activity(N_("Restored product %(sku)s"), sku=sku)
    return jsonify(product.to_dict())


@bp.post("/customers")
def create_customer():
    try:
        customer = catalog.create_customer(json_body())
    except catalog.ValidationError as exc:
        return validation_error(exc)
    record_activity(N_("Added customer %(email)s"), email=customer.email)
    welcome_later(customer)
    return jsonify(customer.to_dict()), 201
