"""CSV import of products, customers and orders (one file per kind; export: csv_export).

All or nothing: every row is checked first and every bad row reported as
"line N: column: reason" (N as an editor numbers lines, the header being line 1). Only a
clean file is written, in one transaction, with bulk statements. Rows are upserted by
natural key (sku, email, order_ref) and rows whose values are equal are not touched.
"""
import csv
import io
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, insert, select, update

from . import caching, low_stock
from .extensions import db
from .models import Customer, Order, OrderLine, Product, now
from .catalog import PRODUCT_COLUMNS, CustomerIn, ProductIn, sku_problem
from .csv_cells import read_text_cell
from . import validation
from .validation import EMAIL_RE, ValidationError
from .money import (MAX_LINES, MAX_ORDER_CENTS, MAX_QUANTITY, NumberError,
                    cents_for_display, parse_money, parse_whole)

KINDS = ("products", "customers", "orders")
MAX_ERRORS = 200
CHUNK = 900  # bound parameters per IN (...): below SQLite's historical limit of 999

# kind -> (required columns, optional columns); the tuples also fix the export order.
COLUMNS = {
    "products": (("sku", "name", "category", "price", "stock"), ("cost", "tax_rate", "reorder_at")),
    "customers": (("email", "name", "country"), ("city", "created_at")),
    "orders": (("order_ref", "created_at", "customer_email", "sku", "quantity"),
               ("unit_price", "payment_method", "tax_rate", "line_discount", "order_discount")),
}

_P, _C, _O = Product.__table__, Customer.__table__, Order.__table__


class ImportFailed(Exception):
    """The file was rejected; nothing was written. `errors`: "line N: column: reason"."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


@dataclass
class ImportResult:
    """For orders, created/updated/unchanged count orders and rows counts CSV lines."""

    kind: str
    created: int
    updated: int
    unchanged: int
    rows: int


class _Errors:
    def __init__(self):
        self.items = []
        self.more = 0

    def add(self, line, column, reason):
        if len(self.items) < MAX_ERRORS:
            self.items.append(f"line {line}: {column}: {reason}")
        else:  # keep counting, stop storing: a wrong file can have a million bad rows
            self.more += 1

    def __bool__(self):
        return bool(self.items)

    def raise_if_any(self):
        if self.items:
            extra = [f"... and {self.more} more errors"] if self.more else []
            raise ImportFailed(self.items + extra)


class _Bad(Exception):
    pass


# ---- cell checks: return the clean value or raise _Bad(reason) ------------------------

def _text(limit, required=True):
    def check(value):
        value = read_text_cell(value)  # what export's "'=..." stood for
        if not value and required:
            raise _Bad("missing value")
        if len(value) > limit:
            raise _Bad(f"longer than {limit} characters")
        return value

    return check


def _money(value):
    if not value:
        raise _Bad("missing value")
    try:
        return parse_money(value)
    except NumberError as exc:
        raise _Bad(f"bad price {value!r} ({exc})") from None


def _whole(low, high):
    # The bounds of forms and the API (webapp.money), so imported rows obey them too.
    def check(value):
        if not value:
            raise _Bad("missing value")
        try:
            return parse_whole(value, low, high)
        except NumberError as exc:
            raise _Bad(str(exc)) from None

    return check


_quantity = _whole(1, MAX_QUANTITY)


def _sku(value):
    value = _text(_P.c.sku.type.length)(value)
    if sku_problem(value):
        raise _Bad(f"bad sku {value!r} ({sku_problem(value)})")
    return value


def _when(value):
    """ISO 8601 date or datetime -> naive local time without microseconds."""
    if not value:
        raise _Bad("missing value")
    try:
        when = datetime.fromisoformat(value)
        if when.tzinfo is not None:
            when = when.astimezone().replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise _Bad(f"bad date {value!r}") from None
    return when.replace(microsecond=0)


def _optional(check):
    return lambda value: check(value) if value else None


def _good_rows(rows, errors):
    for line, values in rows:
        if isinstance(values, str):
            errors.add(line, "row", values)
        else:
            yield line, values


def _check_row(errors, line, columns, checks, values):
    """Run each column's check; None in the result marks a bad cell or an absent column."""
    out, ok = [], True
    for column, check, value in zip(columns, checks, values):
        if value is None:  # an optional column the file does not have
            out.append(None)
            continue
        try:
            out.append(check(value))
        except _Bad as exc:
            errors.add(line, column, str(exc))
            out.append(None)
            ok = False
    return out, ok


# ---- reading -------------------------------------------------------------------------

def _read(kind, data, errors):
    """Decode and split the file: [(line, [values in COLUMNS order, None if absent])];
    a row with the wrong number of fields has the reason in place of its values."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            errors.add(data.count(b"\n", 0, exc.start) + 1, "file", "not UTF-8 text")
            return []
    elif data.startswith("\ufeff"):
        data = data[1:]
    required, optional = COLUMNS[kind]
    reader = csv.reader(io.StringIO(data, newline=""), strict=True)
    index, width, rows, start = None, 0, [], 1
    try:
        for record in reader:
            # line_num counts physical lines read so far, so a record that holds quoted
            # newlines starts one line after where the previous record ended.
            line, start = start, reader.line_num + 1
            if not any(field.strip() for field in record):
                continue  # blank lines and spreadsheet ",,,," rows
            if index is None:
                index, width = _header(record, line, required, optional, errors)
                if errors:
                    return []
                continue
            if len(record) != width:  # reported in line order with the other row errors
                rows.append((line, f"expected {width} fields, found {len(record)}"))
                continue
            rows.append((line, [record[i].strip() if i is not None else None for i in index]))
    except csv.Error as exc:
        errors.add(start, "file", f"bad CSV quoting ({exc})")
        return []
    if index is None:
        errors.add(1, "header", "the file is empty")
    return rows


def _header(record, line, required, optional, errors):
    names = [name.strip().lower() for name in record]
    known = required + optional
    for position, name in enumerate(names):
        if not name:
            errors.add(line, "header", f"empty column name (column {position + 1})")
        elif name not in known:
            errors.add(line, "header", f"unknown column {name!r}")
        elif names.index(name) != position:
            errors.add(line, "header", f"duplicate column {name!r}")
    for name in required:
        if name not in names:
            errors.add(line, "header", f"missing column {name!r}")
    return [names.index(name) if name in names else None for name in known], len(names)


# ---- per kind: check rows against the database, return a writer ---------------------

class _Plan:
    def __init__(self):
        self.created = self.updated = self.unchanged = 0
        self.write = lambda: None


# Products and customers: upsert by their key (the first column). Each row is checked by
# the input model of the forms and the API (catalog.ProductIn / CustomerIn): one set of
# rules, the same reasons. Only the columns the file has are written.
_TEXT_COLUMNS = {"sku", "name", "category", "email", "country", "city"}
_CUSTOMER_COLUMNS = {"email": "email", "name": "name", "country": "country", "city": "city"}
_UPSERTS = {  # kind -> (table, input model, input field -> column)
    "products": (_P, ProductIn, PRODUCT_COLUMNS),
    "customers": (_C, CustomerIn, _CUSTOMER_COLUMNS),
}
_created_at = _optional(_when)


def _same(old, new):
    if isinstance(old, datetime):  # the file cannot say microseconds; ignore them
        old = old.replace(microsecond=0)
    return old == new


def _checked_row(kind, line, given, errors):
    """The row's input model (None if a cell is bad: each reason reported, in column
    order) and, for customers, created_at (None: absent or empty: the stored one stays)."""
    created_text = given.pop("created_at", None)
    model = created = None
    try:
        model = validation.check(_UPSERTS[kind][1], given)
    except ValidationError as exc:
        for field, reason in exc.errors.items():
            errors.add(line, field, reason)
    try:
        created = _created_at(created_text or "")
    except _Bad as exc:
        errors.add(line, "created_at", str(exc))
        model = None
    return model, created


def _plan_upsert(kind, rows, errors):
    table, _, fields = _UPSERTS[kind]
    columns = COLUMNS[kind][0] + COLUMNS[kind][1]
    key_field = columns[0]
    existing = {r[1].lower() if kind == "customers" else r[1]: r for r in db.session.execute(
        select(table.c.id, table.c[key_field], *(table.c[c] for c in fields.values()
                                                 if c != key_field),
               *([table.c.created_at] if kind == "customers" else [])))}
    seen, new, changed, plan = {}, [], [], _Plan()
    for line, values in _good_rows(rows, errors):
        given = {c: read_text_cell(v) if c in _TEXT_COLUMNS else v
                 for c, v in zip(columns, values) if v is not None}
        model, created = _checked_row(kind, line, given, errors)
        key = given[key_field].strip()
        key = key.lower() if kind == "customers" else key
        if model is not None or _good_key(kind, key):
            if key in seen:
                errors.add(line, key_field, f"duplicate of line {seen[key]}")
                continue
            seen[key] = line
        if model is None:
            continue
        row = {fields[f]: getattr(model, f) for f in given if f != key_field}
        if created is not None:
            row["created_at"] = created
        old = existing.get(key)
        if old is None:
            fresh = {"updated_at": now()} if kind == "products" else {"city": "",
                                                                       "created_at": now()}
            new.append({key_field: key, **fresh, **row})
        elif all(_same(old._mapping[f], v) for f, v in row.items()):
            plan.unchanged += 1
        else:
            if kind == "products":
                row["updated_at"] = now()
            changed.append({"_id": old.id, **row})

    def write():
        if new:
            db.session.execute(insert(table), new)
        # executemany takes its SET list from the first row: group rows by their keys
        for keys in {tuple(row) for row in changed}:
            batch = [row for row in changed if tuple(row) == keys]
            db.session.execute(update(table).where(table.c.id == bindparam("_id")), batch)

    plan.created, plan.updated, plan.write = len(new), len(changed), write
    plan.new_keys, plan.changed_ids = [row[key_field] for row in new], [r["_id"] for r in changed]
    return plan


def _good_key(kind, key):
    """A key that is valid on its own (its row may have other bad cells): duplicates of
    it are reported too."""
    return EMAIL_RE.fullmatch(key) if kind == "customers" else not sku_problem(key)


def _rule(parse):
    """A parser of webapp.validation / ordering (ValueError: the reason) as a cell check,
    so the CSV says what the forms and the API say."""
    def check(value):
        try:
            return parse(value)
        except ValueError as exc:
            raise _Bad(str(exc)) from None
    return check


def _plan_orders(rows, errors):
    """Orders: one row per line. An empty customer_email is a walk-in sale. A line's tax
    rate is its `tax_rate` cell (empty: the product's now), its unit cost the product's
    now; `line_discount` (prices' terms) and `order_discount` ("5.00" or "10%", as
    ordering.OrderIn) as the API takes them; net and tax from tax.price_order with the
    order's own prices_include_tax (the shop's now for a new order). A column the file
    lacks keeps a recorded order's values (_keep_absent). No row may fall in a closed
    business day."""
    from . import settings, tax
    from .models import ZReport
    from .ordering import parse_discount

    required, optional = COLUMNS["orders"]
    methods = settings.get("payment_methods")

    def method_check(value):
        if value not in methods:
            raise _Bad(f"unknown payment method {value!r} (the shop's: {', '.join(methods)}; "
                       f"add it in Settings)")
        return value

    checks = (_text(_O.c.ref.type.length), _when,
              _optional(_text(_C.c.email.type.length)), _sku, _quantity, _optional(_money),
              _optional(method_check), _optional(_rule(validation.parse_rate)),
              _optional(_rule(validation._money)), _rule(lambda v: parse_discount(v) or ""))
    products = {r.sku: r for r in db.session.execute(
        select(_P.c.id, _P.c.sku, _P.c.price_cents, _P.c.tax_rate_bp, _P.c.cost_cents))}
    customers = {r.email.lower(): r.id for r in db.session.execute(select(_C.c.id, _C.c.email))}
    closed = set(db.session.execute(select(ZReport.business_day)).scalars())
    default_rate = settings.get("default_tax_rate_bp")
    orders = {}  # ref -> {"line", "created_at", "customer_id", "lines", "ok", ...}
    absent = set()  # columns the file does not have
    for line, values in _good_rows(rows, errors):
        absent = {c for c, v in zip(required + optional, values) if v is None}
        (ref, created, email, sku, quantity, price, method, rate, line_discount,
         discount), ok = _check_row(errors, line, required + optional, checks, values)
        customer_id = product = None
        if email is not None:
            customer_id = customers.get(email.lower())
            if customer_id is None:
                errors.add(line, "customer_email", f"unknown customer {email.lower()!r}")
                ok = False
        elif values[2] == "":
            customer_id = ""  # a walk-in sale (None stays "not known from this row")
        if sku is not None:
            product = products.get(sku)
            if product is None:
                errors.add(line, "sku", f"unknown sku {sku!r}")
                ok = False
        if created is not None and settings.business_day_of(created) in closed:
            errors.add(line, "created_at", f"the business day "
                       f"{settings.business_day_of(created).isoformat()} is closed "
                       f"(Z-report done); nothing can be added to it")
            ok = False
        if ok and line_discount:  # the words of ordering.create_order
            unit = product.price_cents if price is None else price
            if line_discount > quantity * unit:
                errors.add(line, "line_discount",
                           f"more than the line ({cents_for_display(quantity * unit)})")
                ok = False
        if ref is None:
            continue
        if values[9] is None:
            discount = ""  # no order_discount column: no order discount
        order = orders.setdefault(ref, {"line": line, "created_at": None, "customer_id": None,
                                        "payment_method": None, "discount": None, "lines": [],
                                        "costs": [], "ok": True})
        # Every line of an order must say the same created_at, customer, payment method
        # and order discount as the first.
        for key, value, column in (("created_at", created, "created_at"),
                                   ("customer_id", customer_id, "customer_email"),
                                   ("payment_method", method or "", "payment_method"),
                                   ("discount", discount, "order_discount")):
            if value is None:
                continue
            if order[key] is None:
                order[key], order[key + "_line"] = value, line
            elif order[key] != value:
                errors.add(line, column, f"differs from line {order[key + '_line']} of "
                                         f"order {ref!r}")
                ok = False
        order["ok"] = order["ok"] and ok
        if ok:
            unit = product.price_cents if price is None else price
            if rate is None:
                rate = default_rate if product.tax_rate_bp is None else product.tax_rate_bp
            order["lines"].append((product.id, quantity, unit, rate, line_discount or 0))
            order["costs"].append(product.cost_cents)
    existing = {r.ref: r for r in db.session.execute(
        select(_O.c.id, _O.c.ref, _O.c.customer_id, _O.c.created_at, _O.c.payment_method,
               _O.c.discount_percent_bp, _O.c.discount_amount_cents, _O.c.currency,
               _O.c.prices_include_tax))}
    history = _old_lines([existing[ref].id for ref in orders if ref in existing])
    include_tax = settings.get("prices_include_tax")
    for ref, order in orders.items():
        if len(order["lines"]) > MAX_LINES:
            errors.add(order["line"], "order_ref", f"order {ref!r}: more than {MAX_LINES} lines")
            continue
        if not order["ok"]:
            continue
        # A recorded order keeps the terms of its sale: its prices stay with or without tax.
        was = existing.get(ref)
        order["prices_include_tax"] = include_tax if was is None else was.prices_include_tax
        if was is not None:
            _keep_absent(order, was, history[0].get(was.id, []), absent)
        kind, value = order["discount"] or (None, None)
        order["percent"] = value if kind == "percent" else None
        order["amount"] = value if kind == "amount" else None
        try:
            order["priced"] = tax.price_order(
                [tax.Line(*line[1:]) for line in order["lines"]], order["prices_include_tax"],
                discount_percent_bp=order["percent"], discount_amount_cents=order["amount"])
        except tax.PricingError as exc:
            errors.add(order["discount_line"], "order_discount", str(exc))
            continue
        if max(order["priced"].total_cents, order["priced"].gross_cents) > MAX_ORDER_CENTS:
            errors.add(order["line"], "order_ref", f"order {ref!r}: total above "
                                                   f"{cents_for_display(MAX_ORDER_CENTS)}")
    if errors:
        return None
    return _order_writes(orders, existing, history, errors, closed)


def _old_lines(old_ids):
    """For recorded orders: {id: [(product, quantity, unit price, rate, discount)]},
    {id: {product: unit cost}} and the ids of those that have refunds."""
    from .models import Refund

    old_lines, old_costs, refunded = {}, {}, set()
    line_t = OrderLine.__table__
    for i in range(0, len(old_ids), CHUNK):
        query = (select(line_t.c.order_id, line_t.c.product_id, line_t.c.quantity,
                        line_t.c.unit_price_cents, line_t.c.tax_rate_bp,
                        line_t.c.discount_cents, line_t.c.unit_cost_cents)
                 .where(line_t.c.order_id.in_(old_ids[i:i + CHUNK]))
                 .order_by(line_t.c.order_id, line_t.c.id))
        for r in db.session.execute(query):
            old_lines.setdefault(r.order_id, []).append(tuple(r)[1:6])
            old_costs.setdefault(r.order_id, {}).setdefault(r.product_id, r.unit_cost_cents)
        refunded.update(db.session.execute(select(Refund.order_id).where(
            Refund.order_id.in_(old_ids[i:i + CHUNK]))).scalars())
    return old_lines, old_costs, refunded


def _keep_absent(order, old, old_lines, absent):
    """A column the file does not have keeps a recorded order's stored values (as for
    products): its payment method, its order discount, and the unit price, tax rate and
    discount of each line the file gives as it was (same place, product, quantity, and
    unit price when the file has that column)."""
    if "payment_method" in absent:
        order["payment_method"] = old.payment_method
    if "order_discount" in absent:
        order["discount"] = (("percent", old.discount_percent_bp)
                             if old.discount_percent_bp is not None else
                             ("amount", old.discount_amount_cents)
                             if old.discount_amount_cents is not None else "")
    keep = [i for c, i in (("unit_price", 2), ("tax_rate", 3), ("line_discount", 4))
            if c in absent]
    same = 2 if 2 in keep else 3  # product, quantity (and unit price when the file says)
    lines = order["lines"]
    for n, (line, was) in enumerate(zip(lines, old_lines)):
        if keep and line[:same] == was[:same]:
            lines[n] = tuple(was[i] if i in keep else v for i, v in enumerate(line))


# An order's own fields that say what the sale was (with its lines: product, quantity,
# unit price, tax rate, line discount); its figures follow from them.
_SALE = ("customer_id", "created_at", "payment_method", "discount_percent_bp",
         "discount_amount_cents")


def _order_writes(orders, existing, history, errors, closed):
    from . import settings

    old_lines, old_costs, refunded = history
    line_t = OrderLine.__table__
    currency = settings.get("currency")
    new, changed, changed_refs, plan = [], [], [], _Plan()
    for ref, order in orders.items():
        priced = order["priced"]
        old = existing.get(ref)
        row = {"customer_id": order["customer_id"] or None, "created_at": order["created_at"],
               "total_cents": priced.total_cents, "gross_cents": priced.gross_cents,
               "discount_cents": priced.discount_cents, "tax_cents": priced.tax_cents,
               "payment_method": order["payment_method"] or "",
               "discount_percent_bp": order["percent"],
               "discount_amount_cents": order["amount"],
               "currency": currency if old is None else old.currency,
               "prices_include_tax": order["prices_include_tax"]}
        # What the sale was (who, when, how paid, lines, discounts, rates): the same means
        # unchanged, and its stored figures stay as they are.
        if old is None:
            new.append({"ref": ref, "status": "imported", "status_reason": "", **row})
        elif (old_lines.get(old.id, []) == order["lines"]
              and all(_same(getattr(old, key), row[key]) for key in _SALE)):
            plan.unchanged += 1
        elif old.id in refunded:  # its refunds point at its lines: history stays
            errors.add(order["line"], "order_ref", f"order {ref!r} has refunds; it cannot "
                                                   f"be changed by an import")
        elif settings.business_day_of(old.created_at) in closed:
            errors.add(order["line"], "order_ref", f"order {ref!r} is in a closed business "
                                                   f"day; it cannot be changed")
        else:
            changed.append({"_id": old.id, **row})
            changed_refs.append(ref)
            # A product the order already had keeps its cost at the sale.
            costs = old_costs.get(old.id, {})
            order["costs"] = [costs.get(line[0], cost)
                              for line, cost in zip(order["lines"], order["costs"])]

    def write():
        if changed:
            db.session.execute(update(_O).where(_O.c.id == bindparam("_id")), changed)
            ids = [row["_id"] for row in changed]
            for i in range(0, len(ids), CHUNK):
                db.session.execute(delete(line_t).where(line_t.c.order_id.in_(ids[i:i + CHUNK])))
        ids = {ref: row["_id"] for ref, row in zip(changed_refs, changed)}
        if new:
            db.session.execute(insert(_O), new)
            # New ids come back from the database, not guessed: a concurrent writer could
            # take them. One query is cheaper than a RETURNING per batch.
            every = {r.ref: r.id for r in db.session.execute(select(_O.c.ref, _O.c.id))}
            ids.update((row["ref"], every[row["ref"]]) for row in new)
        lines = [{"order_id": order_id, "product_id": p, "quantity": q, "unit_price_cents": u,
                  "tax_rate_bp": rate, "unit_cost_cents": cost, "discount_cents": discount,
                  "net_cents": priced.net_cents, "tax_cents": priced.tax_cents}
                 for ref, order_id in ids.items()
                 for (p, q, u, rate, discount), cost, priced in zip(
                     orders[ref]["lines"], orders[ref]["costs"], orders[ref]["priced"].lines)]
        if lines:
            db.session.execute(insert(line_t), lines)

    plan.created, plan.updated, plan.write = len(new), len(changed), write
    return plan


def _stock_changed(skus, ids):
    """Low-stock alerts for the products written: new ones by sku, changed ones by id."""
    ids = list(ids)
    for i in range(0, len(skus), CHUNK):
        ids += db.session.execute(select(_P.c.id).where(_P.c.sku.in_(skus[i:i + CHUNK]))
                                  ).scalars().all()
    low_stock.after_stock_change(ids)


def import_csv(kind, data):
    """Import one CSV file (bytes) of `kind`; raises ImportFailed and writes nothing if
    any row is bad. Runs inside an app context."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    errors = _Errors()
    rows = _read(kind, data, errors)
    errors.raise_if_any()
    try:
        plan = (_plan_orders(rows, errors) if kind == "orders"
                else _plan_upsert(kind, rows, errors))
        errors.raise_if_any()
        plan.write()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    if plan.created or plan.updated:
        caching.clear_all()  # a bulk change: clear whole rather than per area
    if kind == "products" and (plan.created or plan.updated):
        _stock_changed(plan.new_keys, plan.changed_ids)
    return ImportResult(kind, plan.created, plan.updated, plan.unchanged, len(rows))

