"""Products and customers: their input models (the one set of rules for forms, the API and
the CSV import), and changes, each followed by its cache invalidation.

A product that appears in orders is archived rather than deleted: it leaves the lists and
the order form, stays in history and reports, and can be restored.
"""
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError

from . import caching, daily_figures, low_stock
from .extensions import db
from .i18n import _
from .models import Customer, Order, OrderLine, Product
from .money import cents_to_str
from .validation import (SKU_RE, SKU_RULE, Email, Input, Money, OptionalBarcode,
                         OptionalEmail, OptionalMoney, OptionalShortText, OptionalStock,
                         OptionalTaxRate, ShortText, Sku, Stock, Text, ValidationError,
                         barcode_forms, check, rate_text)

__all__ = ["ValidationError"]  # catalog.ValidationError for views: the one error class


class NotFound(LookupError):
    pass


class Conflict(ValueError):
    pass


class ProductIn(Input):
    """A product as the owner gives it: money as "12.34", tax_rate a percent ("5.5";
    empty: the shop's default), cost and reorder_at empty when unknown / no alert."""

    sku: Sku
    name: Text
    category: ShortText
    price: Money
    stock: Stock
    cost: OptionalMoney = None
    tax_rate: OptionalTaxRate = None
    reorder_at: OptionalStock = None
    barcode: OptionalBarcode = None

    def columns(self):
        """The Product attributes these fields set."""
        return {"sku": self.sku, "name": self.name, "category": self.category,
                "price_cents": self.price, "stock": self.stock, "cost_cents": self.cost,
                "tax_rate_bp": self.tax_rate, "reorder_at": self.reorder_at,
                "barcode": self.barcode}


# input field -> Product attribute (the CSV import writes only the columns a file has)
PRODUCT_COLUMNS = {"sku": "sku", "name": "name", "category": "category",
                   "price": "price_cents", "stock": "stock", "cost": "cost_cents",
                   "tax_rate": "tax_rate_bp", "reorder_at": "reorder_at",
                   "barcode": "barcode"}


class CustomerIn(Input):
    email: Email
    name: Text
    country: ShortText
    city: OptionalShortText = ""


def sku_problem(sku):
    """Why `sku` is not a valid SKU, or None when it is."""
    return None if SKU_RE.fullmatch(sku) else SKU_RULE


def product_input(product):
    """A stored product as input fields (what its edit form shows; PATCH merges into it)."""
    return {"sku": product.sku, "name": product.name, "category": product.category,
            "price": cents_to_str(product.price_cents), "stock": str(product.stock),
            "cost": "" if product.cost_cents is None else cents_to_str(product.cost_cents),
            "tax_rate": rate_text(product.tax_rate_bp),
            "reorder_at": "" if product.reorder_at is None else str(product.reorder_at),
            "barcode": product.barcode or ""}


def get_product(sku):
    product = db.session.execute(db.select(Product).filter_by(sku=sku)).scalar()
    if product is None:
        raise NotFound(f"no product with sku {sku!r}")
    return product


def _sku_taken(sku, but=None):
    """None, or why `sku` cannot be used (by a product other than `but`)."""
    other = db.session.execute(db.select(Product).filter_by(sku=sku)).scalar()
    if other is None or other is but:
        return None
    if other.archived:
        return _("already exists (an archived product: restore it from Archived products)")
    return _("already exists")


def barcode_taken(code, sku=None):
    """None, or why barcode `code` cannot be given to the product `sku` (None: a new
    one): another product has it (written as a UPC-A or as its EAN-13, the same code).
    The one check, for the forms, the API and the imports."""
    if not code:
        return None
    other = db.session.execute(
        db.select(Product.sku, Product.name, Product.archived)
        .where(Product.barcode.in_(barcode_forms(code)),
               *([Product.sku != sku] if sku else [])).limit(1)).first()
    if other is None:
        return None
    if other.archived:
        return _("already used by an archived product %(sku)s (%(name)s): one barcode, one "
                 "product", sku=other.sku, name=other.name)
    return _("already used by the product %(sku)s (%(name)s): one barcode, one product",
             sku=other.sku, name=other.name)


def _commit_unique(product):
    """Commit; two requests giving one SKU or barcode at the same moment: the database's
    unique index refuses the second, said as the checks above say it."""
    sku, barcode = product.sku, product.barcode
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        errors = {}
        if _sku_taken(sku, but=product):
            errors["sku"] = "already exists"
        if barcode and barcode_taken(barcode, sku):
            errors["barcode"] = barcode_taken(barcode, sku)
        if not errors:
            raise
        raise ValidationError(errors) from None


def create_product(data):
    try:
        values = check(ProductIn, data).columns()
    except ValidationError as exc:
        taken = "sku" not in exc.errors and _sku_taken(str(data.get("sku", "")).strip())
        if taken:
            exc.errors["sku"] = taken
        raise
    taken = _sku_taken(values["sku"])
    if taken:
        raise ValidationError({"sku": taken})
    taken = barcode_taken(values["barcode"])
    if taken:
        raise ValidationError({"barcode": taken})
    values["category"] = existing_spelling(Product.category, values["category"])
    product = Product(**values)
    db.session.add(product)
    _commit_unique(product)
    caching.products_changed()
    low_stock.after_stock_change([product.id])
    return product


def update_product(sku, data):
    """Form and PATCH alike: the given fields over the stored ones, checked whole, so a
    partial update obeys exactly the rules of a full one."""
    product = get_product(sku)
    if not isinstance(data, dict):
        raise ValidationError({"fields": "must be an object"})
    given = {k: v for k, v in data.items() if k != "csrf_token"}
    values = _merged(product, given)
    if "category" in given and values["category"] != product.category:
        values["category"] = existing_spelling(Product.category, values["category"],
                                               Product.id != product.id)
    if values["sku"] != sku:
        taken = _sku_taken(values["sku"], but=product)
        if taken:
            raise ValidationError({"sku": taken})
    if values["barcode"] != product.barcode:
        taken = barcode_taken(values["barcode"], sku)
        if taken:
            raise ValidationError({"barcode": taken})
    changed = {k: v for k, v in values.items() if getattr(product, k) != v}
    if changed:
        for key, value in changed.items():
            setattr(product, key, value)
        _commit_unique(product)
        caching.products_changed()
        if {"stock", "reorder_at"} & set(changed):
            low_stock.after_stock_change([product.id])
    return product


# Valid stand-ins for stored values that today's rules refuse (written by an older Larder,
# e.g. a price above the bound): such a value is kept as it is unless the request changes it.
_STAND_INS = {"sku": "X", "name": "x", "category": "x", "price": "0", "stock": "0",
              "cost": "", "tax_rate": "", "reorder_at": "", "barcode": ""}


def _merged(product, given):
    """Product columns: the given fields over the stored ones, checked by ProductIn."""
    current = product_input(product)
    try:
        return check(ProductIn, {**current, **given}).columns()
    except ValidationError as exc:
        if any(field in given or field not in current for field in exc.errors):
            raise ValidationError({k: v for k, v in exc.errors.items()
                                   if k in given or k not in current}) from None
        old = set(exc.errors)
    values = check(ProductIn, {**current, **{f: _STAND_INS[f] for f in old}, **given}).columns()
    values.update({PRODUCT_COLUMNS[f]: getattr(product, PRODUCT_COLUMNS[f]) for f in old})
    return values


def has_orders(product):
    return db.session.execute(
        db.select(OrderLine.id).filter_by(product_id=product.id).limit(1)).scalar() is not None


def delete_product(sku):
    """Deletes a product without orders; one with orders is archived instead (its sales
    stay in history and reports). Returns "deleted" or "archived"."""
    product = get_product(sku)
    if has_orders(product):
        if not product.archived:
            product.archived = True
            db.session.commit()
            caching.products_changed()
        return "archived"
    db.session.delete(product)
    db.session.commit()
    caching.products_changed()
    return "deleted"


def restore_product(sku):
    """An archived product back in the lists and the order form."""
    product = get_product(sku)
    if product.archived:
        product.archived = False
        db.session.commit()
        caching.products_changed()
        low_stock.after_stock_change([product.id])
    return product


def create_customer(data):
    values = _customer_spelling(check(CustomerIn, data).model_dump())
    customer = Customer(**values)
    db.session.add(customer)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ValidationError({"email": "already exists"}) from None
    caching.customers_changed()
    return customer


# ---- one spelling per value, customers' edit and merge ------------------------------------

def existing_spelling(column, value, *where):
    """`value` as it is already stored in `column` when it is there in another case
    ("dairy" when "Dairy" exists -> "Dairy"), else `value` itself: no "Dairy" and "dairy"
    twins in lists, filters and reports. The one place this rule lives (customers'
    country and city, products' category). `where`: rows to look at (not the one being
    edited, so its own case can still be corrected)."""
    if not value:
        return value
    same = db.session.execute(db.select(column).where(column == value, *where).limit(1)).scalar()
    if same is not None:
        return same
    folded = db.session.execute(
        db.select(column).where(func.lower(column) == value.lower(), *where)
        .order_by(column).limit(1)).scalar()
    if folded is not None:
        return folded
    if not value.isascii():  # SQLite's lower() folds ASCII only: compare the few here
        wanted = value.casefold()
        for stored in known_values(column, *where, limit=None):
            if stored.casefold() == wanted:
                return stored
    return value


def known_values(column, *where, limit=500):
    """The distinct non-empty values of `column`, sorted (a form's list of choices)."""
    select = db.select(column).where(column != "", *where).distinct().order_by(column)
    return db.session.execute(select if limit is None else select.limit(limit)).scalars().all()


def _customer_spelling(values):
    values["country"] = existing_spelling(Customer.country, values["country"])
    values["city"] = existing_spelling(Customer.city, values.get("city", ""))
    return values


class CustomerChange(CustomerIn):
    """An edit: CustomerIn's rules, except that a till's customer (known by its till id)
    may stay without e-mail."""

    email: OptionalEmail = None


def customer_input(customer):
    return {"email": customer.email or "", "name": customer.name,
            "country": customer.country, "city": customer.city}


def get_customer(customer_id):
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("There is no such customer.")
    return customer


def update_customer(customer_id, data):
    customer = get_customer(customer_id)
    values = check(CustomerChange, data).model_dump()
    if not values["email"] and not customer.till_id:
        raise ValidationError({"email": "is required"})
    for field in ("country", "city"):  # an unchanged value stays as it is stored
        if values[field] != getattr(customer, field):
            values[field] = existing_spelling(getattr(Customer, field), values[field],
                                              Customer.id != customer.id)
    if values["email"]:
        other = db.session.execute(db.select(Customer.id).where(
            func.lower(Customer.email) == values["email"].lower(), Customer.id != customer.id)
        ).scalar()
        if other is not None:
            raise ValidationError({"email": "another customer has this e-mail: merge them "
                                            "instead"})
    changed = {k: v for k, v in values.items() if getattr(customer, k) != v}
    if changed:
        for key, value in changed.items():
            setattr(customer, key, value)
        db.session.commit()
        caching.customers_changed()
    return customer


def merge_customers(keep_id, drop_id):
    """Two records of one person made one: every order of `drop` moves to `keep` (its
    refunds go with the orders), `keep` takes `drop`'s e-mail or till id where it has
    none, and `drop` is removed; all in one transaction, nothing moved if any step fails.
    Returns (kept customer, how many orders moved)."""
    if keep_id == drop_id:
        raise ValidationError({"other": "choose another customer: one cannot be merged "
                                        "with itself"})
    keep, drop = get_customer(keep_id), get_customer(drop_id)
    email, till_id = drop.email, drop.till_id
    try:
        # Their sales count under keep's country from now on (daily figures).
        with daily_figures.orders_changing(daily_figures.orders_of(drop.id)):
            moved = db.session.execute(
                db.update(Order).where(Order.customer_id == drop.id)
                .values(customer_id=keep.id)).rowcount
        db.session.delete(drop)
        db.session.flush()  # the unique e-mail and till id are free only after this
        if not keep.email and email:
            keep.email = email
        if not keep.till_id and till_id:
            keep.till_id = till_id
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    db.session.expire_all()  # loaded orders still name the removed customer
    caching.orders_changed()
    return keep, moved
