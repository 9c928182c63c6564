"""Orders: list (not cached: it changes with every sale), detail, and a form."""
from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from .. import ordering
from ..background import jobs
from ..auth import record_activity
from ..catalog import ValidationError
from ..extensions import db
from ..models import Order, Product
from .paging import page_arg

bp = Blueprint("orders", __name__, url_prefix="/orders")


@bp.get("/")
def index():
    select = db.select(Order).order_by(Order.created_at.desc(), Order.id.desc())
    status = request.args.get("status", "")
    if status:
        select = select.where(Order.status == status)
    page = db.paginate(select, page=page_arg(), per_page=50, error_out=False)
    return render_template("orders/list.html", page=page, status=status)


@bp.get("/<int:order_id>")
def detail(order_id):
    order = db.session.get(Order, order_id)
    if order is None:
        abort(404, "There is no such order.")
    return render_template("orders/detail.html", order=order)


def submit_order(customer_email, lines):
    """The one way an order is recorded (form and API): saved at once, processed in the
    background. Returns (order, job)."""
    order = ordering.create_order(customer_email, lines)
    record_activity(f"Recorded order {order.ref}")
    job, _ = jobs.submit("order", f"Process order {order.ref}", {"order_id": order.id},
                         dedup_key=f"order:{order.id}", user_id=g.user_id)
    return order, job


@bp.route("/new", methods=["GET", "POST"])
def create():
    errors, form = {}, {}
    if request.method == "POST":
        form = request.form.to_dict()
        lines = []
        for i in range(5):
            sku = request.form.get(f"sku{i}", "").strip()
            qty = request.form.get(f"qty{i}", "").strip()
            if sku or qty:
                lines.append({"sku": sku, "quantity": qty})
        try:
            order, _ = submit_order(request.form.get("customer_email"), lines)
        except ValidationError as exc:
            errors = exc.errors
        else:
            return redirect(url_for(".detail", order_id=order.id))
    skus = db.session.execute(db.select(Product.sku, Product.name).order_by(Product.name)).all()
    return render_template("orders/form.html", form=form, errors=errors, skus=skus), (
        400 if errors else 200)
