"""Low-stock alerts: a product whose stock falls to its `reorder_at` or below puts one
email in the outbox per crossing (not one per order), re-armed when its stock goes back
above it. With the `low_stock_digest` setting, no email per crossing: one daily email
lists every low product (the beat job `larder.low_stock_digest`).

Once per crossing, even with two orders crossing at the same moment in two processes:
the alert is claimed by a conditional UPDATE (`... SET low_stock_alerted = true WHERE
NOT low_stock_alerted AND stock <= reorder_at`); only the process whose UPDATE changed
the row sends the email.
"""
from datetime import datetime

from sqlalchemy import and_, false, or_, true, update

from . import settings
from .extensions import db
from .i18n import N_, _, format_count, ngettext, stored
from .models import Product

CHUNK = 900  # ids per IN (...), below SQLite's historical limit of 999


def _low():
    return and_(Product.reorder_at.is_not(None), Product.stock <= Product.reorder_at,
                Product.archived == false())


def _set_flag(where, value):
    # updated_at kept as it was: the flag is not an edit by the owner.
    statement = (update(Product).where(*where)
                 .values(low_stock_alerted=value, updated_at=Product.updated_at)
                 .execution_options(synchronize_session=False))
    return db.session.execute(statement).rowcount


def after_stock_change(product_ids):
    """Call after committing a change to these products' stock or reorder level (orders
    processed, refunds restocked, edits, imports). Returns the ids alerted now."""
    ids = sorted(set(product_ids))
    alerted = []
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i:i + CHUNK]
        # Back above the level (or no level any more): the next crossing alerts again.
        _set_flag((Product.id.in_(chunk), Product.low_stock_alerted == true(),
                   or_(Product.reorder_at.is_(None), Product.stock > Product.reorder_at)), False)
        db.session.commit()
        if settings.get("low_stock_digest"):
            continue
        candidates = db.session.execute(
            db.select(Product.id).where(Product.id.in_(chunk),
                                        Product.low_stock_alerted == false(), _low())
        ).scalars().all()
        db.session.commit()  # end the read, so each claim below sees the latest rows
        for product_id in candidates:
            claimed = _set_flag((Product.id == product_id,
                                 Product.low_stock_alerted == false(), _low()), True)
            db.session.commit()
            if claimed:
                _queue_alert(product_id)
                alerted.append(product_id)
    return alerted


def _queue_alert(product_id):
    from .background import jobs

    stamp = datetime.now().strftime("%Y%m%dT%H%M%S%f")  # one email file per crossing
    sku = db.session.get(Product, product_id).sku
    jobs.submit("email", stored(N_("Low stock: %(sku)s"), sku=sku),
                {"template": "low_stock", "product_id": product_id, "at": stamp},
                dedup_key=f"email:low_stock:{product_id}:{stamp}")


def low_products():
    """Products at or below their reorder level (not archived), lowest first."""
    return db.session.execute(
        db.select(Product).where(_low()).order_by(Product.stock, Product.name, Product.id)
    ).scalars().all()


def _line(product):
    return "  " + _("%(name)s (%(sku)s): %(stock)s in stock, reorder at %(reorder)s",
                    name=product.name, sku=product.sku, stock=format_count(product.stock),
                    reorder=format_count(product.reorder_at))


def alert_email(params):
    """The email of one crossing (the email job): (message, outbox file name)."""
    from .emails import _message, _sender

    product = db.session.get(Product, params["product_id"])
    if product is None:
        raise ValueError("the product no longer exists")
    msg = _message(_sender(), _("Low stock: %(name)s (%(sku)s)", name=product.name,
                                sku=product.sku),
                   _("%(name)s is running low:", name=product.name)
                   + f"\n\n{_line(product)}\n\n" + _("Time to reorder.") + "\n")
    return msg, f"low-stock-{product.id}-{params['at']}.eml"


def send_digest(day=None):
    """The daily digest (beat job), only with the `low_stock_digest` setting: one email
    listing every low product, one file per day (a second run rewrites it)."""
    from .emails import _message, _sender, deliver

    if not settings.get("low_stock_digest"):
        return {"skipped": "low-stock alerts are sent one by one (setting)"}
    products = low_products()
    if not products:
        return {"low": 0}
    day = day or settings.today_business_day()
    lines = "\n".join(_line(p) for p in products)
    subject = ngettext("Low stock: %(num)s product (%(day)s)",
                       "Low stock: %(num)s products (%(day)s)", len(products),
                       day=day.isoformat())
    msg = _message(_sender(), subject,
                   _("These products are at or below their reorder level:") + f"\n\n{lines}\n")
    result = deliver(msg, f"low-stock-digest-{day:%Y-%m-%d}.eml")
    return {"low": len(products), **result}
