"""The order desk (the New order page, docs/orders.md "The order desk"): its form read
into OrderIn's shape, a draft priced by the server's own rules (ordering.price_draft,
webapp.tax), and the JSON endpoints its script uses: a draft's price, product search
(name, SKU or barcode) and customer search (name or email).

The page works as a plain form too: the script only saves round trips. Both ways use
`desk_state` below, so what the page shows before recording is what gets recorded.
"""
import re

from flask import Blueprint, jsonify, request

from .. import ordering, settings
from ..catalog import ValidationError
from ..extensions import db
from ..i18n import N_, format_count, gettext, ngettext
from ..models import Customer, Product
from ..money import MAX_LINES, cents_to_str
from ..money_display import format_money
from ..validation import BARCODE_LENGTHS, barcode_forms, rate_text
from .paging import search_pattern

bp = Blueprint("desk", __name__, url_prefix="/api")

LINE_FIELD = re.compile(r"(sku|qty|disc)(\d{1,4})")
FOUND = 10  # search answers at most this many


# ---- the form ----------------------------------------------------------------------

def form_lines(form):
    """[(index, sku, qty, disc)] from sku<i>/qty<i>/disc<i> fields, any count, in index
    order; empty lines left out (one past MAX_LINES is kept: OrderIn refuses it)."""
    indices = sorted({int(m[2]) for key in form if (m := LINE_FIELD.fullmatch(key))})
    lines = []
    for i in indices:
        sku, qty, disc = (form.get(f"{name}{i}", "").strip() for name in ("sku", "qty", "disc"))
        if sku or qty or disc:
            lines.append((i, sku, qty or "1", disc))  # quantity 1 unless typed
        if len(lines) > MAX_LINES:
            break
    return lines


def form_order(form):
    """The form as OrderIn's (the API's) shape: one set of rules for both."""
    return {"customer_email": form.get("customer_email", "").strip(),
            "payment_method": form.get("payment_method", "").strip(),
            "discount": form.get("discount", "").strip(),
            "into_open_day": form.get("into_open_day") == "1",
            "lines": [{"sku": sku, "quantity": qty, "discount": disc}
                      for _, sku, qty, disc in form_lines(form)]}


def find_customer(text):
    """The desk's customer field without JavaScript: an email, or a name that one
    customer with an email has. Returns (email, problem)."""
    text = text.strip()
    if not text or "@" in text:
        return text, None
    found = db.session.execute(
        db.select(Customer.email).where(Customer.email.is_not(None),
                                        db.func.lower(Customer.name) == text.lower())
        .limit(2)).scalars().all()
    if len(found) == 1:
        return found[0], None
    if found:
        return text, gettext("Several customers are called %(name)s: type the email instead.",
                             name=text)
    return text, gettext("No customer called %(name)s: type their email, or add them below.",
                         name=text)


# A rule's words for a program, as a person says them; looked up in the shop's language
# (German "unbekannte Artikelnummer 'X'" starts with German "unbekannte Artikelnummer").
PLAIN = {N_("unknown sku"): N_("No product has this SKU"),
         N_("is required"): N_("Required")}


def plain(message):
    """A rule's reason as a sentence for the page."""
    for start, words in PLAIN.items():
        start = gettext(start)
        if message.startswith(start):
            message = gettext(words) + message[len(start):]
    return message[:1].upper() + message[1:]


def field_errors(errors, lines):
    """The API's field names (lines[1].quantity) as the form's (qty4, next to it)."""
    names = {"sku": "sku", "quantity": "qty", "discount": "disc"}
    out = {}
    for key, message in errors.items():
        m = re.fullmatch(r"lines\[(\d+)\]\.(sku|quantity|discount)", key)
        if m and int(m[1]) < len(lines):
            key = f"{names[m[2]]}{lines[int(m[1])][0]}"
        out[key] = plain(message)
    return out


def desk_state(data):
    """The draft order as the page (and the JSON endpoint) shows it:
    {"lines": [...], "totals": {...} or None, "errors": {API field: reason},
     "stock": {sku: note}}. Raises nothing for bad input: errors are in the result."""
    try:
        draft = ordering.price_draft(data)
    except ValidationError as exc:
        return {"lines": [], "totals": None, "errors": exc.errors, "stock": {}}
    notes = ordering.stock_notes(draft)
    priced = draft.priced.lines if draft.priced else [None] * len(draft.lines)
    lines = []
    for (product, line, t), pl in zip(draft.lines, priced):
        lines.append({
            "sku": product.sku, "name": product.name, "quantity": line.quantity,
            "unit_price": cents_to_str(t.unit_price_cents),
            "discount": cents_to_str(t.discount_cents), "tax_rate": rate_text(t.tax_rate_bp),
            "net": cents_to_str(pl.net_cents) if pl else None,
            "tax": cents_to_str(pl.tax_cents) if pl else None,
            "amount": cents_to_str(pl.total_cents) if pl else None,
            "stock": product.stock, "stock_note": notes.get(product.sku),
            "text": {"unit_price": format_money(t.unit_price_cents),
                     "tax": format_money(pl.tax_cents) if pl else "",
                     "amount": format_money(pl.total_cents) if pl else ""}})
    totals = None
    if draft.priced and not draft.errors:
        p = draft.priced
        figures = {"gross": p.gross_cents, "discount": p.discount_cents, "tax": p.tax_cents,
                   "total": p.total_cents}
        items = sum(line.quantity for _, line, _ in draft.lines)
        totals = {**{k: cents_to_str(v) for k, v in figures.items()},
                  "items": items, "prices_include_tax": settings.get("prices_include_tax"),
                  "text": {k: format_money(v) for k, v in figures.items()}}
        totals["text"]["summary"] = ngettext(
            "Total %(total)s, %(count)s item", "Total %(total)s, %(count)s items", items,
            total=totals["text"]["total"], count=format_count(items))
    return {"lines": lines, "totals": totals, "errors": draft.errors, "stock": notes,
            "customer": ({"name": draft.customer.name, "email": draft.customer.email}
                         if draft.customer else None)}


# ---- JSON endpoints (the page's script; any API client may use them) -----------------

WHERE = {"customer_email": N_("Customer"), "payment_method": N_("Payment"),
         "discount": N_("Order discount"), "lines": N_("Items"), "fields": N_("Fields")}
LINE_PART = {"sku": N_("Line %(number)s product"), "quantity": N_("Line %(number)s quantity"),
             "discount": N_("Line %(number)s discount")}


def where(key):
    """An API field name as people say it: lines[1].quantity -> "Line 2 quantity"."""
    m = re.fullmatch(r"lines\[(\d+)\]\.(sku|quantity|discount)", key)
    if m:
        return gettext(LINE_PART[m[2]], number=int(m[1]) + 1)
    if key in WHERE:
        return gettext(WHERE[key])
    return key.replace("_", " ").capitalize()


@bp.post("/orders/price")
def price():
    """Price a draft order (POST /api/orders' body) without recording it. 200 with its
    lines and totals, or 400 {"error", "fields"} naming what is wrong, in plain words."""
    from .api import json_body

    state = desk_state(json_body())
    if state["errors"]:
        fields = {k: plain(v) for k, v in state["errors"].items()}
        problems = " ".join(gettext("%(where)s: %(reason)s.", where=where(k),
                                    reason=v[:1].lower() + v[1:])
                            for k, v in fields.items())
        return jsonify(error=gettext("This order cannot be priced. %(problems)s",
                                     problems=problems),
            fields=fields, lines=state["lines"],
            stock=state["stock"]), 400
    return jsonify(state)


def _q():
    return request.args.get("q", "").strip()[:100]


def exact_product(code):
    """The product to sell that a scanned or typed code names, or None: its SKU exactly,
    else its barcode (a UPC-A scanned as its EAN-13 too), else its SKU typed in another
    case. The one lookup of the desk, with or without its script."""
    live = Product.archived.is_(False)
    found = db.session.execute(db.select(Product).where(live, Product.sku == code)).scalar()
    if found is None and code.isdigit() and len(code) in BARCODE_LENGTHS:
        found = db.session.execute(db.select(Product).where(
            live, Product.barcode.in_(barcode_forms(code))).limit(1)).scalar()
    if found is None:
        same = db.session.execute(db.select(Product).where(
            live, db.func.lower(Product.sku) == code.lower()).limit(2)).scalars().all()
        found = same[0] if len(same) == 1 else None
    return found


@bp.get("/products")
def find_products():
    """Products to sell matching q: the one its SKU or barcode names (a scan) first and
    marked `exact` (by its SKU), then names or SKUs containing q. Archived products are
    not offered."""
    q = _q()
    if not q:
        return jsonify(products=[], exact=None)
    live = Product.archived.is_(False)
    exact = exact_product(q)
    pattern = search_pattern(q)
    rows = db.session.execute(
        db.select(Product).where(live, Product.name.ilike(pattern, escape="\\")
                                 | Product.sku.ilike(pattern, escape="\\"))
        .order_by(Product.name).limit(FOUND)).scalars().all()
    if exact is not None:
        rows = [exact] + [p for p in rows if p is not exact][:FOUND - 1]
    return jsonify(exact=exact.sku if exact else None, products=[
        {"sku": p.sku, "name": p.name, "price": cents_to_str(p.price_cents),
         "price_text": format_money(p.price_cents), "stock": p.stock,
         "barcode": p.barcode} for p in rows])


@bp.get("/customers")
def find_customers():
    """Customers with an email whose name or email contains q (an order names its
    customer by email)."""
    q = _q()
    if not q:
        return jsonify(customers=[])
    pattern = search_pattern(q)
    rows = db.session.execute(
        db.select(Customer).where(Customer.email.is_not(None),
                                  Customer.name.ilike(pattern, escape="\\")
                                  | Customer.email.ilike(pattern, escape="\\"))
        .order_by(Customer.name).limit(FOUND)).scalars().all()
    return jsonify(customers=[{"name": c.name, "email": c.email, "city": c.city}
                              for c in rows])
