"""Customers: a cached list (versioned keys per query string) and a form to add one."""
from flask import Blueprint, g, redirect, render_template, request, url_for

from .. import catalog
from ..background import jobs
from ..auth import record_activity
from ..caching import only_ok, query_key
from ..extensions import cache, db
from ..models import Customer
from .paging import page_arg, search

bp = Blueprint("customers", __name__, url_prefix="/customers")


@bp.get("/")
@cache.cached(make_cache_key=lambda *a, **k: query_key("customers"), response_filter=only_ok)
def index():
    q = request.args.get("q", "").strip()
    select = db.select(Customer).order_by(Customer.name, Customer.id)
    select = search(select, q, Customer.name, Customer.email)
    page = db.paginate(select, page=page_arg(), per_page=50, error_out=False)
    return render_template("customers/list.html", page=page, q=q, cached_page=True)


def welcome_later(customer):
    """A new customer (form or API) gets the welcome email, in the background."""
    jobs.submit("email", f"Welcome {customer.email}",
                {"template": "welcome", "customer_id": customer.id},
                dedup_key=f"email:welcome:{customer.id}", user_id=g.user_id)


@bp.route("/new", methods=["GET", "POST"])
def create():
    errors, form = {}, {}
    if request.method == "POST":
        form = request.form.to_dict()
        try:
            customer = catalog.create_customer(form)
        except catalog.ValidationError as exc:
            errors = exc.errors
        else:
            record_activity(f"Added customer {customer.email}")
            welcome_later(customer)
            return redirect(url_for(".index", q=customer.email))
    return render_template("customers/form.html", form=form, errors=errors), (
        400 if errors else 200)
