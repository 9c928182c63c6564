"""CSV export in exactly Larder's own import layouts (imports/formats/larder.py LAYOUTS,
the one definition of their columns): export then `larder import FILE` round-trips with
nothing changed. Text cells are made safe for spreadsheets (`t`, webapp.csv_cells); money
columns name the shop's currency (`price (EUR)`, larder.MONEY) over plain numbers."""
import csv
import io

from sqlalchemy import select

from . import settings
from .csv_cells import money_header, text_cell as t
from .imports.formats.larder import KINDS, LAYOUTS as COLUMNS, MONEY
from .extensions import db
from .models import Customer, Order, OrderLine, Product
from .money import cents_to_str
from .validation import rate_text

_P, _C, _O = Product.__table__, Customer.__table__, Order.__table__


def export_csv(kind):
    """All rows of `kind` as CSV text in exactly the import format."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    currency = settings.get("currency")
    writer.writerow([money_header(name, currency) if name in MONEY else name
                     for name in COLUMNS[kind][0] + COLUMNS[kind][1]])
    if kind == "products":
        query = select(_P.c.sku, _P.c.name, _P.c.category, _P.c.price_cents, _P.c.stock,
                       _P.c.cost_cents, _P.c.tax_rate_bp, _P.c.reorder_at,
                       _P.c.barcode).order_by(_P.c.sku)
        writer.writerows((t(r.sku), t(r.name), t(r.category), cents_to_str(r.price_cents),
                          r.stock, _maybe(cents_to_str, r.cost_cents),
                          rate_text(r.tax_rate_bp), _maybe(str, r.reorder_at),
                          r.barcode or "")
                         for r in db.session.execute(query))
    elif kind == "customers":
        query = select(_C.c.email, _C.c.name, _C.c.country, _C.c.city,
                       _C.c.created_at).where(_C.c.email.is_not(None)).order_by(_C.c.email)
        # A till's customer without e-mail (imported) has no row in this layout; their
        # orders export with an empty customer_email.
        writer.writerows((t(r.email), t(r.name), t(r.country), t(r.city), _iso(r.created_at))
                         for r in db.session.execute(query))
    else:
        line_t = OrderLine.__table__
        # Outer join: a walk-in sale has no customer (an empty customer_email).
        query = (select(_O.c.ref, _O.c.created_at, _C.c.email, _P.c.sku, line_t.c.quantity,
                        line_t.c.unit_price_cents, _O.c.payment_method, line_t.c.tax_rate_bp,
                        line_t.c.discount_cents, _O.c.discount_percent_bp,
                        _O.c.discount_amount_cents)
                 .select_from(line_t.join(_O, line_t.c.order_id == _O.c.id)
                              .outerjoin(_C, _O.c.customer_id == _C.c.id)
                              .join(_P, line_t.c.product_id == _P.c.id))
                 .order_by(_O.c.created_at, _O.c.id, line_t.c.id))
        writer.writerows((t(r.ref), _iso(r.created_at), t(r.email or ""), t(r.sku), r.quantity,
                          cents_to_str(r.unit_price_cents), t(r.payment_method),
                          rate_text(r.tax_rate_bp), cents_to_str(r.discount_cents)
                          if r.discount_cents else "",
                          _order_discount(r.discount_percent_bp, r.discount_amount_cents))
                         for r in db.session.execute(query))
    return out.getvalue()


def _order_discount(percent_bp, amount_cents):
    """The order discount as entered, as the API's `discount` takes it: "10%", "5.00"."""
    if percent_bp is not None:
        return rate_text(percent_bp) + "%"
    return _maybe(cents_to_str, amount_cents)


def _maybe(convert, value):
    return "" if value is None else convert(value)


def _iso(when):
    return when.replace(microsecond=0).isoformat() if when else ""
