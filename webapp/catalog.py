"""Products and customers: validation and changes, each followed by its cache invalidation."""
import re

from sqlalchemy.exc import IntegrityError

from . import caching
from .extensions import db
from .models import Customer, OrderLine, Product
from .money import MAX_STOCK, NumberError, parse_money, parse_whole
from .validation import ValidationError  # noqa: F401  (catalog.ValidationError for views)

# The one SKU rule (forms, API, CSV import, orders, demo): it is part of URLs such as
# /api/products/<sku>, so only characters that need no escaping there.
SKU_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SKU_RULE = "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class NotFound(LookupError):
    pass


class Conflict(ValueError):
    pass


def sku_problem(sku):
    """Why `sku` is not a valid SKU, or None when it is."""
    return None if SKU_RE.fullmatch(sku) else SKU_RULE


def _text(data, field, errors, max_len, required=True):
    value = data.get(field)
    value = "" if value is None else str(value).strip()
    if required and not value:
        errors[field] = "is required"
    elif len(value) > max_len:
        errors[field] = f"at most {max_len} characters"
    return value


def clean_product(data, partial=False):
    """Validated product fields from a form or JSON; partial=True for PATCH."""
    errors, values = {}, {}
    fields = ("sku", "name", "category", "price", "stock")
    unknown = set(data) - set(fields) - {"csrf_token"}
    if unknown:
        errors["fields"] = "unknown: " + ", ".join(sorted(unknown))
    for field in fields:
        if partial and field not in data:
            continue
        if field == "sku":
            values["sku"] = _text(data, "sku", errors, 64)
            if "sku" not in errors and sku_problem(values["sku"]):
                errors["sku"] = sku_problem(values["sku"])
        elif field in ("name", "category"):
            values[field] = _text(data, field, errors, 200 if field == "name" else 100)
        elif field == "price":
            try:
                values["price_cents"] = parse_money(data.get("price", ""))
            except NumberError as exc:
                errors["price"] = str(exc)
        elif field == "stock":
            try:
                values["stock"] = parse_whole(data.get("stock", ""), 0, MAX_STOCK)
            except NumberError:
                errors["stock"] = f"a whole number from 0 to {MAX_STOCK:,}"
    if errors:
        raise ValidationError(errors)
    return values


def get_product(sku):
    product = db.session.execute(db.select(Product).filter_by(sku=sku)).scalar()
    if product is None:
        raise NotFound(f"no product with sku {sku!r}")
    return product


def _sku_taken(sku):
    return db.session.execute(db.select(Product.id).filter_by(sku=sku)).scalar() is not None


def create_product(data):
    try:
        values = clean_product(data)
    except ValidationError as exc:
        sku = str(data.get("sku", "")).strip()
        if "sku" not in exc.errors and _sku_taken(sku):
            exc.errors["sku"] = "already exists"
        raise
    if _sku_taken(values["sku"]):
        raise ValidationError({"sku": "already exists"})
    product = Product(**values)
    db.session.add(product)
    db.session.commit()
    caching.products_changed()
    return product


def update_product(sku, data, partial=True):
    product = get_product(sku)
    values = clean_product(data, partial=partial)
    if values.get("sku", sku) != sku:
        if _sku_taken(values["sku"]):
            raise ValidationError({"sku": "already exists"})
    changed = False
    for key, value in values.items():
        if getattr(product, key) != value:
            setattr(product, key, value)
            changed = True
    if changed:
        db.session.commit()
        caching.products_changed()
    return product


def delete_product(sku):
    product = get_product(sku)
    if db.session.execute(db.select(OrderLine.id).filter_by(product_id=product.id).limit(1)).scalar():
        raise Conflict("this product appears in orders; set its stock to 0 instead")
    db.session.delete(product)
    db.session.commit()
    caching.products_changed()


def clean_customer(data):
    errors = {}
    values = {
        "email": _text(data, "email", errors, 254).lower(),
        "name": _text(data, "name", errors, 200),
        "country": _text(data, "country", errors, 100),
        "city": _text(data, "city", errors, 100, required=False),
    }
    if "email" not in errors and not EMAIL_RE.match(values["email"]):
        errors["email"] = "not an email address"
    if errors:
        raise ValidationError(errors)
    return values


def create_customer(data):
    values = clean_customer(data)
    customer = Customer(**values)
    db.session.add(customer)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ValidationError({"email": "already exists"}) from None
    caching.customers_changed()
    return customer
