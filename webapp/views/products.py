"""Products: a cached list (versioned keys + query string), cached detail, edit forms."""
from flask import Blueprint, abort, redirect, render_template, request, url_for

from .. import catalog
from ..auth import record_activity
from ..caching import only_ok, product_detail_key, query_key
from ..extensions import cache, db
from ..models import Product
from .paging import page_arg, search

bp = Blueprint("products", __name__, url_prefix="/products")


@bp.get("/")
@cache.cached(make_cache_key=lambda *a, **k: query_key("products"), response_filter=only_ok)
def index():
    category = request.args.get("category", "").strip()
    q = request.args.get("q", "").strip()
    select = db.select(Product).order_by(Product.name, Product.id)
    if category:
        select = select.where(Product.category == category)
    select = search(select, q, Product.name, Product.sku)
    page = db.paginate(select, page=page_arg(), per_page=25, error_out=False)
    categories = db.session.execute(
        db.select(Product.category).distinct().order_by(Product.category)
    ).scalars().all()
    return render_template("products/list.html", page=page, categories=categories,
                           category=category, q=q, cached_page=True)


@bp.get("/<sku>")
@cache.cached(make_cache_key=lambda *a, **k: product_detail_key(), response_filter=only_ok)
def detail(sku):
    product = db.session.execute(db.select(Product).filter_by(sku=sku)).scalar()
    if product is None:
        abort(404, f"There is no product with SKU {sku}.")
    return render_template("products/detail.html", product=product, cached_page=True)


@bp.route("/new", methods=["GET", "POST"])
def create():
    errors, form = {}, {}
    if request.method == "POST":
        form = request.form.to_dict()
        try:
            product = catalog.create_product(form)
        except catalog.ValidationError as exc:
            errors = exc.errors
        else:
            record_activity(f"Created product {product.sku}")
            return redirect(url_for(".detail", sku=product.sku))
    return render_template("products/form.html", form=form, errors=errors, product=None), (
        400 if errors else 200)


@bp.route("/<sku>/edit", methods=["GET", "POST"])
def edit(sku):
    try:
        product = catalog.get_product(sku)
    except catalog.NotFound as exc:
        abort(404, str(exc))
    errors = {}
    form = {**product.to_dict(), **request.form.to_dict()}
    form.pop("updated_at", None)
    if request.method == "POST":
        try:
            product = catalog.update_product(sku, request.form.to_dict(), partial=False)
        except catalog.ValidationError as exc:
            errors = exc.errors
        else:
            record_activity(f"Edited product {product.sku}")
            return redirect(url_for(".detail", sku=product.sku))
    return render_template("products/form.html", form=form, errors=errors, product=product), (
        400 if errors else 200)


@bp.route("/<sku>/delete", methods=["GET", "POST"])
def delete(sku):
    try:
        product = catalog.get_product(sku)
        if request.method == "POST":
            catalog.delete_product(sku)
            record_activity(f"Deleted product {sku}")
            return redirect(url_for(".index"))
    except catalog.NotFound as exc:
        abort(404, str(exc))
    except catalog.Conflict as exc:
        abort(409, str(exc))
    return render_template("products/delete.html", product=product)
