"""Products: a cached list (versioned keys + query string), cached detail, edit forms,
archived products and their restoring."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import false, true

from .. import catalog
from ..auth import record_activity
from ..caching import only_ok, product_detail_key, query_key
from ..extensions import cache, db
from ..i18n import N_, PRODUCT_GONE, _
from ..models import Product
from ..validation import rate_text
from .paging import page_arg, search

bp = Blueprint("products", __name__, url_prefix="/products")


# The list's sortable columns (?sort=price, ?sort=-price for the other way): sorted here,
# not in the browser, as the list comes a page at a time.
SORTS = {"sku": Product.sku, "name": Product.name, "category": Product.category,
         "price": Product.price_cents, "stock": Product.stock,
         "reorder_at": Product.reorder_at}


def _sort_arg():
    sort = request.args.get("sort", "name")
    key = sort.lstrip("-")
    return (key, sort.startswith("-")) if key in SORTS else ("name", False)


def _listing(archived):
    category = request.args.get("category", "").strip()
    q = request.args.get("q", "").strip()
    key, descending = _sort_arg()
    column = SORTS[key]
    shown = Product.archived == (true() if archived else false())
    select = db.select(Product).where(shown).order_by(
        column.desc() if descending else column, Product.name, Product.id)
    if category:
        select = select.where(Product.category == category)
    select = search(select, q, Product.name, Product.sku)
    page = db.paginate(select, page=page_arg(), per_page=25, error_out=False)
    categories = db.session.execute(
        db.select(Product.category).where(shown).distinct().order_by(Product.category)
    ).scalars().all()
    return render_template("products/list.html", page=page, categories=categories,
                           category=category, q=q, archived=archived, cached_page=True,
                           sort=("-" if descending else "") + key)


def _categories():
    """The categories in use, offered by the form (one "Dairy", not "Dairy" and "dairy")."""
    return db.session.execute(
        db.select(Product.category).distinct().order_by(Product.category)).scalars().all()


@bp.get("/")
@cache.cached(make_cache_key=lambda *a, **k: query_key("products"), response_filter=only_ok)
def index():
    # ?archived=1: the archived products (a query argument, not a path: "archived" is a
    # valid SKU).
    return _listing(archived=request.args.get("archived") == "1")


@bp.get("/<sku>")
@cache.cached(make_cache_key=lambda *a, **k: product_detail_key(), response_filter=only_ok)
def detail(sku):
    product = db.session.execute(db.select(Product).filter_by(sku=sku)).scalar()
    if product is None:
        abort(404, _("There is no product with SKU %(sku)s.", sku=sku))
    return render_template("products/detail.html", product=product, rate_text=rate_text,
                           cached_page=True)


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
            record_activity(N_("Created product %(sku)s"), sku=product.sku)
            flash(_("Product %(sku)s added.", sku=product.sku))
            return redirect(url_for(".detail", sku=product.sku))
    return render_template("products/form.html", form=form, errors=errors, product=None,
                           categories=_categories()), (
        400 if errors else 200)


@bp.route("/<sku>/edit", methods=["GET", "POST"])
def edit(sku):
    product = catalog.get_product(sku)
    errors = {}
    form = {**catalog.product_input(product), **request.form.to_dict()}
    if request.method == "POST":
        try:
            product = catalog.update_product(sku, request.form.to_dict())
        except catalog.ValidationError as exc:
            errors = exc.errors
        else:
            record_activity(N_("Edited product %(sku)s"), sku=product.sku)
            flash(_("Product %(sku)s saved.", sku=product.sku))
            return redirect(url_for(".detail", sku=product.sku))
    return render_template("products/form.html", form=form, errors=errors, product=product,
                           categories=_categories()), (
        400 if errors else 200)


@bp.route("/<sku>/delete", methods=["GET", "POST"])
def delete(sku):
    product = catalog.get_product(sku)
    if request.method == "POST":
        outcome = catalog.delete_product(sku)
        # The message is put in after the list's cache (webapp/views/chrome.py).
        record_activity(PRODUCT_GONE[outcome], sku=sku)
        flash(_("Product %(sku)s archived.", sku=sku) if outcome == "archived"
              else _("Product %(sku)s deleted.", sku=sku))
        return redirect(url_for(".index", archived=1) if outcome == "archived"
                        else url_for(".index"))
    return render_template("products/delete.html", product=product,
                           has_orders=catalog.has_orders(product))


@bp.route("/<sku>/restore", methods=["GET", "POST"])
def restore(sku):
    """A confirmation page (the detail page is cached: it holds no form)."""
    product = catalog.get_product(sku)
    if request.method == "POST":
        catalog.restore_product(sku)
        record_activity(N_("Restored product %(sku)s"), sku=sku)
        flash(_("Product %(sku)s restored: it is back in the product list.", sku=sku))
        return redirect(url_for(".detail", sku=sku))
    return render_template("products/restore.html", product=product)
