"""JSON API. Errors are {"error": "..."} with a 4xx status (see webapp.errors)."""
from flask import Blueprint, abort, current_app, jsonify, request, url_for

from .. import catalog, stats
from ..auth import record_activity
from ..caching import only_ok, stats_api_key
from ..extensions import cache
from ..money import cents_to_number
from .orders import submit_order

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
@cache.cached(key_prefix=stats_api_key(), response_filter=only_ok)
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
    data = json_body()
    try:
        order, job = submit_order(data.get("customer_email"), data.get("lines"))
    except catalog.ValidationError as exc:
        return validation_error(exc)
    body = order.to_dict()
    body["task_id"] = job.task_id
    body["status_url"] = url_for("tasks.task_status", task_id=job.task_id)
    return jsonify(body), 201, {"Location": url_for("api.get_order", order_id=order.id)}


@bp.get("/orders/<int:order_id>")
def get_order(order_id):
    from ..extensions import db
    from ..models import Order

    order = db.session.get(Order, order_id)
    if order is None:
        abort(404, "There is no such order.")
    return jsonify(order.to_dict())


@bp.get("/products/<sku>")
def get_product(sku):
    try:
        return jsonify(catalog.get_product(sku).to_dict())
    except catalog.NotFound as exc:
        abort(404, str(exc))


@bp.patch("/products/<sku>")
def patch_product(sku):
    data = json_body()
    try:
        product = catalog.update_product(sku, data, partial=True)
    except catalog.NotFound as exc:
        abort(404, str(exc))
    except catalog.ValidationError as exc:
        return validation_error(exc)
    record_activity(f"Edited product {product.sku}")
    return jsonify(product.to_dict())
