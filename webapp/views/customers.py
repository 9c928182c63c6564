"""Customers: a cached list (versioned keys per query string), a page per customer (not
cached: it is one customer's few orders), a form to add or edit one, and merging two."""
from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from .. import catalog, stats
from ..background import jobs
from ..auth import record_activity
from ..caching import only_ok, query_key
from ..i18n import N_, _, ngettext, stored
from ..extensions import cache, db
from ..models import Customer, Order
from .paging import page_arg, search

bp = Blueprint("customers", __name__, url_prefix="/customers")


def search_text():
    """?q= as searched: control characters dropped (PostgreSQL refuses a NUL in text)."""
    return "".join(ch for ch in request.args.get("q", "")[:100] if ch.isprintable()).strip()


@bp.get("/")
@cache.cached(make_cache_key=lambda *a, **k: query_key("customers"), response_filter=only_ok)
def index():
    q = search_text()
    select = db.select(Customer).order_by(Customer.name, Customer.id)
    select = search(select, q, Customer.name, Customer.email)
    page = db.paginate(select, page=page_arg(), per_page=50, error_out=False)
    return render_template("customers/list.html", page=page, q=q, cached_page=True)


def welcome_later(customer):
    """A new customer (form or API) gets the welcome email, in the background."""
    jobs.submit("email", stored(N_("Welcome %(email)s"), email=customer.email),
                {"template": "welcome", "customer_id": customer.id},
                dedup_key=f"email:welcome:{customer.id}", user_id=g.user_id)


def _form_page(form, errors, customer=None):
    choices = {"countries": catalog.known_values(Customer.country),
               "cities": catalog.known_values(Customer.city)}
    return render_template("customers/form.html", form=form, errors=errors,
                           customer=customer, **choices), (400 if errors else 200)


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
            record_activity(N_("Added customer %(email)s"), email=customer.email)
            welcome_later(customer)
            flash(_("Customer %(name)s added.", name=customer.name))
            return redirect(url_for(".detail", customer_id=customer.id))
    return _form_page(form, errors)


@bp.get("/<int:customer_id>")
def detail(customer_id):
    customer = catalog.get_customer(customer_id)
    recent = db.session.execute(
        db.select(Order).where(Order.customer_id == customer.id)
        .order_by(Order.created_at.desc(), Order.id.desc()).limit(20)).scalars().all()
    return render_template("customers/detail.html", customer=customer, recent=recent,
                           figures=stats.customer_figures(customer.id))


@bp.route("/<int:customer_id>/edit", methods=["GET", "POST"])
def edit(customer_id):
    customer = catalog.get_customer(customer_id)
    errors, form = {}, catalog.customer_input(customer)
    if request.method == "POST":
        form = request.form.to_dict()
        try:
            catalog.update_customer(customer.id, form)
        except catalog.ValidationError as exc:
            db.session.rollback()
            errors = exc.errors
        else:
            record_activity(N_("Edited customer %(name)s"), name=customer.name)
            flash(_("Customer %(name)s saved.", name=customer.name))
            return redirect(url_for(".detail", customer_id=customer.id))
    return _form_page(form, errors, customer)


@bp.route("/<int:customer_id>/merge", methods=["GET", "POST"])
def merge(customer_id):
    """Find the duplicate (GET ?q=), then merge it into this customer (POST other=id)."""
    customer = catalog.get_customer(customer_id)
    error = None
    if request.method == "POST":
        other = request.form.get("other", "")
        if not (other.isascii() and other.isdigit() and len(other) <= 10):
            error = "Choose the customer to merge into this one."
        else:
            try:
                dropped = catalog.get_customer(int(other))
                name = dropped.name
                kept, moved = catalog.merge_customers(customer.id, dropped.id)
            except catalog.ValidationError as exc:
                db.session.rollback()
                error = "; ".join(exc.errors.values())
            else:
                record_activity(N_("Merged customer %(name)s into %(kept)s"), name=name,
                                kept=kept.name)
                flash(ngettext("%(name)s was merged into %(kept)s: %(num)s order moved.",
                               "%(name)s was merged into %(kept)s: %(num)s orders moved.",
                               moved, name=name, kept=kept.name))
                return redirect(url_for(".detail", customer_id=kept.id))
    q = search_text()
    candidates = []
    if q:
        select = search(db.select(Customer).where(Customer.id != customer.id)
                        .order_by(Customer.name, Customer.id), q, Customer.name, Customer.email,
                        Customer.till_id)
        candidates = db.session.execute(select.limit(20)).scalars().all()
    counts = dict(db.session.execute(
        db.select(Order.customer_id, db.func.count(Order.id))
        .where(Order.customer_id.in_([c.id for c in candidates]))
        .group_by(Order.customer_id)).all()) if candidates else {}
    return render_template("customers/merge.html", customer=customer, q=q, error=error,
                           candidates=candidates, counts=counts), (400 if error else 200)
