"""Products and customers files (Larder's layouts, Shopify's products export): each row is
checked by the forms' and API's own input models (catalog.ProductIn / CustomerIn: one set
of rules, the same reasons), then created, updated or left alone by its key (SKU, e-mail).
Only the fields the file gives are written."""
from sqlalchemy import insert, select, update

from .. import daily_figures
from ..catalog import CustomerIn, ProductIn, barcode_taken
from ..extensions import db
from ..models import Customer, Product, now
from ..money import cents_to_str
from ..validation import ValidationError, check, rate_text
from .records import Problem

_P, _C = Product.__table__, Customer.__table__


def _checked(writer, model, data, line):
    try:
        return check(model, data)
    except ValidationError as exc:
        for field, reason in exc.errors.items():
            writer.plan.problem(Problem(line, field, reason))
        return None


def upsert_product(writer, rec):
    old = db.session.execute(select(_P).where(_P.c.sku == rec.sku)).first()
    price = rec.price_cents if rec.price_cents is not None else (old.price_cents if old else None)
    data = {"sku": rec.sku, "name": rec.name, "category": rec.category,
            "price": "" if price is None else cents_to_str(price),
            "stock": str(rec.stock if rec.stock is not None else (old.stock if old else 0)),
            "cost": None if rec.cost_cents is None else cents_to_str(rec.cost_cents),
            "tax_rate": None if rec.tax_rate_bp is None else rate_text(rec.tax_rate_bp),
            "reorder_at": None if rec.reorder_at is None else str(rec.reorder_at),
            "barcode": rec.barcode}
    model = _checked(writer, ProductIn, data, rec.line)
    if model is None:
        return
    # One product per barcode, as the form and the API say it; rows written earlier in
    # this import count (the same transaction), so a file giving one code twice is caught.
    taken = barcode_taken(model.barcode, rec.sku)
    if taken:
        writer.plan.problem(Problem(rec.line, "barcode", taken))
        return
    given = {"name": model.name, "category": model.category, "price_cents": model.price}
    for attr, value in (("stock", rec.stock), ("cost_cents", rec.cost_cents),
                        ("tax_rate_bp", rec.tax_rate_bp), ("reorder_at", rec.reorder_at),
                        ("barcode", model.barcode), ("archived", rec.archived)):
        if value is not None or attr in rec.cleared:
            given[attr] = value
    if old is None:
        given.setdefault("stock", 0)
        pid = db.session.execute(insert(_P).values(sku=rec.sku, updated_at=now(), **given)
                                 .returning(_P.c.id)).scalar_one()
        writer.products[rec.sku] = [pid, given["price_cents"], given.get("tax_rate_bp"),
                                    given.get("cost_cents")]
        writer.plan.count("products", "new")
        if given["stock"] or rec.reorder_at is not None:
            writer.stock_changed.append(pid)
        return
    changed = {k: v for k, v in given.items() if getattr(old, k) != v}
    if not changed:
        writer.plan.count("products", "unchanged")
        return
    db.session.execute(update(_P).where(_P.c.id == old.id).values(updated_at=now(), **changed))
    entry = writer.products.setdefault(rec.sku, [old.id, None, None, None])
    entry[1:] = [given["price_cents"], given.get("tax_rate_bp", old.tax_rate_bp),
                 given.get("cost_cents", old.cost_cents)]
    writer.plan.count("products", "updated")
    if "stock" in changed or "reorder_at" in changed:
        writer.stock_changed.append(old.id)


def upsert_customer(writer, rec):
    email = rec.email.lower()
    model = _checked(writer, CustomerIn, {"email": email, "name": rec.name,
                                          "country": rec.country, "city": rec.city},
                     rec.line)
    if model is None:
        return
    given = {"name": model.name, "country": model.country}
    if rec.city is not None:  # None: the file has no city column; the stored one stays
        given["city"] = model.city
    if rec.created_at is not None:
        given["created_at"] = rec.created_at
    old = db.session.execute(select(_C).where(db.func.lower(_C.c.email) == email)).first()
    if old is None:
        given.setdefault("created_at", now())
        given.setdefault("city", "")
        cid = db.session.execute(insert(_C).values(email=email, **given)
                                 .returning(_C.c.id)).scalar_one()
        writer.by_email[email] = cid
        writer.plan.count("customers", "new")
        return
    changed = {k: v for k, v in given.items()
               if (getattr(old, k).replace(microsecond=0) if k == "created_at"
                   else getattr(old, k)) != v}
    if not changed:
        writer.plan.count("customers", "unchanged")
        return
    # A new country moves the customer's sales in the daily figures' countries.
    with daily_figures.orders_changing(
            daily_figures.orders_of(old.id) if "country" in changed else []):
        db.session.execute(update(_C).where(_C.c.id == old.id).values(**changed))
    writer.plan.count("customers", "updated")
