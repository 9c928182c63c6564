"""Records -> rows: match products and customers, price each sale with tax.price_order,
check it against the file's own figures, and write in chunks (Core bulk statements).

Orders are keyed by SaleRecord.ref: a ref already in Larder is compared (time,
customer, total, tax, payment method) and left alone when equal, so re-importing an
export, or a later one that overlaps it, adds only what is new. A ref met twice in one
file is a Problem (found by id: orders this import inserted have ids above the largest
one before it). Every Problem is recorded in the plan; the engine rolls back if any.
"""
from typing import NamedTuple

from sqlalchemy import delete, func, insert, select, update

from .. import daily_figures, settings
from ..catalog import sku_problem
from ..extensions import db
from ..models import Customer, Order, OrderLine, Product, Refund, ZReport, now
from ..money import MAX_LINES, MAX_ORDER_CENTS, MAX_PRICE_CENTS, MAX_QUANTITY
from ..tax import Line, PricingError, one_rate_figures, price_order, tax_included, tax_on
from ..validation import EMAIL_RE
from .bulk import DeferredIndexes
from .formats.common import DEFAULT_CATEGORY
from .larder_sales import settle
from ..i18n import N_
from .records import Problem, Reason
from .refund_rows import RefundWriter, _money

CHUNK = 1_000      # sales written together
IN_CHUNK = 900     # values per IN (...): below SQLite's old limit of 999
_P, _C, _O, _L = (Product.__table__, Customer.__table__, Order.__table__,
                  OrderLine.__table__)
_R = Refund.__table__


ORDER_COLUMNS = ("ref", "customer_id", "created_at", "status", "status_reason",
                 "total_cents", "gross_cents", "discount_cents", "tax_cents",
                 "discount_percent_bp", "discount_amount_cents", "payment_method", "currency",
                 "prices_include_tax")
LINE_COLUMNS = ("order_id", "product_id", "quantity", "unit_price_cents", "tax_rate_bp",
                "unit_cost_cents", "discount_cents", "net_cents", "tax_cents")


class _Priced(NamedTuple):
    """tax.price_order's figures for a one-rate order without order discount, from
    tax.one_rate_figures (the same numbers); `lines`: (net, tax) per line."""
    gross_cents: int
    discount_cents: int
    total_cents: int
    tax_cents: int
    lines: list


def _bulk_insert(table, columns, rows):
    """INSERT of many rows as tuples, straight to the driver's executemany: SQLAlchemy's
    per-row parameter handling costs more than SQLite's insert itself (bench/import_big.py).
    Values must already be in the driver's terms (see Writer._datetime_param)."""
    conn = db.session.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(columns)}) "
                         f"VALUES ({', '.join([mark] * len(columns))})", rows)


class Writer(RefundWriter):
    def __init__(self, plan, context):
        self.plan, self.context = plan, context
        self.default_rate = context.default_tax_rate_bp
        self.currency = settings.get("currency")
        self.methods = settings.get("payment_methods")
        # sku -> [id, price, rate (None: default), cost]; a catalogue is small.
        self.products = {r.sku: [r.id, r.price_cents, r.tax_rate_bp, r.cost_cents]
                         for r in db.session.execute(select(
                             _P.c.id, _P.c.sku, _P.c.price_cents, _P.c.tax_rate_bp,
                             _P.c.cost_cents))}
        self.by_email, self.by_till = {}, {}
        for r in db.session.execute(select(_C.c.id, _C.c.email, _C.c.till_id)):
            if r.email:
                self.by_email[r.email.lower()] = r.id
            if r.till_id:
                self.by_till[r.till_id] = r.id
        self.closed = set(db.session.execute(select(ZReport.business_day)).scalars())
        self.last_order_id = db.session.execute(select(func.max(_O.c.id))).scalar() or 0
        self._cache = None
        conn = db.session.connection()
        self.sqlite = conn.dialect.name == "sqlite"
        self.next_order_id = None    # SQLite, once this import holds the write lock
        self.indexes = DeferredIndexes(conn, plan) if self.sqlite else None
        if self.sqlite:
            # A 64 MB page cache while this connection writes: a million-line import's
            # index inserts fault pages out of the default 2 MB one (~16 % of its CPU,
            # bench/import_big.py). Put back by done().
            self._cache = conn.exec_driver_sql("PRAGMA cache_size").scalar()
            conn.exec_driver_sql("PRAGMA cache_size = -65536")
        self.pending = {}            # ref -> (record, customer id, lines, priced)
        self.keys_seen = {}          # products/customers layouts: key -> line
        self.stock_changed = []
        # What the daily figures must count at the end (webapp.daily_figures).
        self.new_orders, self.new_refunds = [], []

    def problem(self, line, column, reason):
        self.plan.problem(Problem(line, column, reason))

    def _closed(self, moment, line, column="date"):
        if self.closed:
            day = settings.business_day_of(moment)
            if day in self.closed:
                self.problem(line, column, Reason(N_(
                    "the business day %(day)s is closed (Z-report done); nothing can be added "
                    "to it"), day=day.isoformat()))
                return True
        return False

    # ---- sales ---------------------------------------------------------------------
    def sale(self, rec):
        plan = self.plan
        plan.saw_sale(rec.created_at, len(rec.lines))
        plan.refunds_found += len(rec.refunds)
        if rec.skip:
            plan.skip(rec.line, Reason(N_("order %(order)s"), order=rec.source_id), rec.skip)
            plan.count("orders", "skipped")
            return
        before = plan.problem_count
        ref = rec.ref
        if ref in self.pending:
            self._twice(rec)
            return
        if self.closed:
            self._closed(rec.created_at, rec.line)
        if rec.source == "larder" and not settle(self, rec):
            return
        customer_id = None if rec.customer is None else self._customer_of(rec.customer)
        if len(rec.lines) > MAX_LINES:
            self.problem(rec.line, "order", Reason(
                N_("order %(order)s: %(count)s lines; at most %(limit)s"),
                order=rec.source_id, count=len(rec.lines), limit=MAX_LINES))
            return
        lines, products = [], self.products
        for line in rec.lines:
            product = products.get(line.product.sku)
            if product is None:
                product = self._product_of(line, rec.prices_include_tax)
                if product is None:
                    continue
            if not 1 <= line.quantity <= MAX_QUANTITY:
                self.problem(line.line, "quantity", Reason(
                    N_("%(quantity)s: expected 1 to %(limit)s"), quantity=line.quantity,
                    limit=f"{MAX_QUANTITY:,}"))
                continue
            unit = product[1] if line.unit_price_cents is None else line.unit_price_cents
            rate = line.tax_rate_bp
            if rate is None:
                rate = self.default_rate if product[2] is None else product[2]
            cost = product[3] if line.unit_cost_cents is None else line.unit_cost_cents
            lines.append((product[0], line.quantity, unit, rate, line.discount_cents, cost))
        method = rec.payment_method
        if rec.source == "larder" and method and method not in self.methods:
            self.problem(rec.line, "payment_method", Reason(
                N_("unknown payment method %(method)r (the shop's: %(known)s; add it in "
                   "Settings)"), method=method, known=", ".join(self.methods)))
        if plan.problem_count > before:
            return
        priced = self._price(lines, rec)
        if priced is None:
            return
        if max(priced.total_cents, priced.gross_cents) > MAX_ORDER_CENTS:
            self.problem(rec.line, "total", Reason(N_("order %(order)s: above %(amount)s"),
                                                   order=rec.source_id,
                                                   amount=_money(MAX_ORDER_CENTS)))
            return
        if (rec.expected_total_cents is not None or rec.expected_tax_cents is not None) \
                and not self._as_the_file_says(rec, priced):
            return
        self.pending[ref] = (rec, customer_id, lines, priced)
        if len(self.pending) >= CHUNK:
            self.flush()

    def _price(self, lines, rec):
        """tax.price_order's figures; most orders (one rate, no order discount, no
        negative amount) straight from tax.one_rate_figures, without per-line objects."""
        if lines and not rec.order_discount_cents and not rec.order_discount_percent_bp:
            rate = lines[0][3]
            amounts = [q * u - d for _, q, u, _, d, _ in lines]
            if min(amounts) >= 0 and all(line[3] == rate and line[4] >= 0 for line in lines):
                include = rec.prices_include_tax
                gross, total, tax, shares = one_rate_figures(
                    amounts, sum([q * u for _, q, u, _, _, _ in lines]), rate, include)
                return _Priced(gross, gross - total, total, tax, [
                    (a - t if include else a, t) for a, t in zip(amounts, shares)])
        try:
            return price_order([Line(q, u, r, d) for _, q, u, r, d, _ in lines],
                               rec.prices_include_tax,
                               discount_amount_cents=rec.order_discount_cents or None,
                               discount_percent_bp=rec.order_discount_percent_bp)
        except PricingError as exc:
            self.problem(rec.line, "discount", Reason(N_("order %(order)s: %(reason)s"),
                                                      order=rec.source_id,
                                                      reason=Reason(str(exc))))
            return None

    def _twice(self, rec):
        self.problem(rec.line, "order", Reason(
            N_("order %(order)s appears twice in this file (an order's rows must follow each "
               "other)"), order=rec.source_id))

    def _as_the_file_says(self, rec, priced):
        ok = True
        for column, wanted, got in (("total", rec.expected_total_cents, priced.total_cents),
                                    ("tax", rec.expected_tax_cents, priced.tax_cents)):
            if wanted is not None and wanted != got:
                self.problem(rec.line, column, Reason(
                    N_("order %(order)s: the file says %(wanted)s, its lines come to "
                       "%(got)s"), order=rec.source_id, wanted=_money(wanted),
                    got=_money(got)))
                ok = False
        return ok

    def _customer_of(self, c):
        """The customer's id; None for a walk-in sale (or a Problem recorded)."""
        if c is None:
            return None
        email = c.email.lower()
        if email:
            if email in self.by_email:
                return self.by_email[email]
            if c.known_only:
                self.problem(c.line, "customer_email",
                             Reason(N_("unknown customer %(email)r"), email=email))
                return None
            if not EMAIL_RE.fullmatch(email) or len(email) > 254:
                self.problem(c.line, "email",
                             Reason(N_("not an e-mail address: %(email)r"), email=email))
                return None
        if c.till_id and c.till_id in self.by_till:
            return self.by_till[c.till_id]
        row = {"email": email or None, "till_id": c.till_id or None,
               "name": (c.name or email or c.till_id)[:200], "country": c.country[:100],
               "city": c.city[:100], "created_at": c.created_at or now()}
        cid = db.session.execute(insert(_C).values(**row).returning(_C.c.id)).scalar_one()
        if email:
            self.by_email[email] = cid
        if c.till_id:
            self.by_till[c.till_id] = cid
        self.plan.count("customers", "new")
        return cid

    def _product_of(self, line, included):
        rec = line.product
        known = self.products.get(rec.sku)
        if known is not None:
            return known
        if rec.known_only:
            self.problem(line.line, "sku", Reason(N_("unknown sku %(sku)r"), sku=rec.sku))
            return None
        if sku_problem(rec.sku):
            self.problem(line.line, "sku", Reason(N_("bad sku %(sku)r (%(rule)s)"), sku=rec.sku,
                                                  rule=str(sku_problem(rec.sku))))
            return None
        rate = line.tax_rate_bp or 0
        unit = line.unit_price_cents or 0
        # The product's price in the shop's terms (with or without tax, as Settings say).
        if included and not self.context.prices_include_tax:
            unit -= tax_included(unit, rate)
        elif not included and self.context.prices_include_tax:
            unit += tax_on(unit, rate)
        row = {"sku": rec.sku, "name": (rec.name or rec.sku)[:200],
               "category": (rec.category or DEFAULT_CATEGORY)[:100],
               "price_cents": min(unit, MAX_PRICE_CENTS), "stock": 0, "updated_at": now(),
               "cost_cents": line.unit_cost_cents,
               "tax_rate_bp": None if rate == self.default_rate else rate}
        pid = db.session.execute(insert(_P).values(**row).returning(_P.c.id)).scalar_one()
        self.products[rec.sku] = entry = [pid, row["price_cents"], row["tax_rate_bp"],
                                          row["cost_cents"]]
        self.plan.count("products", "new")
        return entry

    def flush(self):
        if not self.pending:
            return
        sales, self.pending = list(self.pending.items()), {}
        refs = [ref for ref, _ in sales]
        existing = {}
        for i in range(0, len(refs), IN_CHUNK):
            existing.update((r.ref, r) for r in db.session.execute(select(
                _O.c.id, _O.c.ref, _O.c.created_at, _O.c.customer_id, _O.c.total_cents,
                _O.c.tax_cents, _O.c.payment_method).where(_O.c.ref.in_(refs[i:i + IN_CHUNK]))))
        new, new_refs = [], []
        for ref, sale in sales:
            rec, customer_id, lines, priced = sale
            old = existing.get(ref) if existing else None
            if old is None:
                new.append(sale)
                new_refs.append(ref)
            elif old.id > self.last_order_id:
                self._twice(rec)
            elif (old.created_at.replace(microsecond=0), old.customer_id, old.total_cents,
                  old.tax_cents, old.payment_method) == (
                      rec.created_at.replace(microsecond=0), customer_id, priced.total_cents,
                      priced.tax_cents, rec.payment_method):
                self.plan.count("orders", "unchanged")
                if rec.refunds:
                    self._sale_refunds(rec, old.id, old.payment_method)
            else:
                self._change(rec, old, sale)
        if new:
            when = self._datetime_param()
            currency = self.currency
            rows = [(ref, cid, when(rec.created_at), "imported", "", p.total_cents,
                     p.gross_cents, p.discount_cents, p.tax_cents,
                     rec.order_discount_percent_bp,
                     rec.order_discount_cents or None, rec.payment_method,
                     rec.currency or currency, rec.prices_include_tax)
                    for ref, (rec, cid, _, p) in zip(new_refs, new)]
            if self.next_order_id is not None:
                # SQLite, after this import's first chunk: it holds the write lock, so
                # nobody else adds orders; ids follow on as SQLite would give them.
                first = self.next_order_id
                ids = list(range(first, first + len(new)))
                _bulk_insert(_O, ("id",) + ORDER_COLUMNS,
                             [(i, *row) for i, row in zip(ids, rows)])
            else:
                _bulk_insert(_O, ORDER_COLUMNS, rows)
                # Ids read back by ref: one query per IN_CHUNK (RETURNING over
                # executemany goes row by row on SQLite, several times slower).
                refs = new_refs
                by_ref = {}
                for i in range(0, len(refs), IN_CHUNK):
                    by_ref.update(db.session.execute(select(_O.c.ref, _O.c.id).where(
                        _O.c.ref.in_(refs[i:i + IN_CHUNK]))).all())
                ids = [by_ref[ref] for ref in refs]
            if self.sqlite:
                self.next_order_id = max(ids) + 1
            self.new_orders.extend(ids)
            if self.indexes:  # the orders are in: the transaction is open
                self.indexes.maybe_drop()
            self._insert_lines(zip(ids, new))
            self.plan.count("orders", "new", len(new))
            for order_id, sale in zip(ids, new):
                if sale[0].refunds:
                    self._sale_refunds(sale[0], order_id, sale[0].payment_method)

    def _order_row(self, sale, with_ref=True):
        rec, customer_id, _, priced = sale
        row = {"customer_id": customer_id, "created_at": rec.created_at,
               "status": "imported", "status_reason": "", "total_cents": priced.total_cents,
               "gross_cents": priced.gross_cents, "discount_cents": priced.discount_cents,
               "tax_cents": priced.tax_cents,
               "discount_percent_bp": rec.order_discount_percent_bp,
               "discount_amount_cents": rec.order_discount_cents or None,
               "payment_method": rec.payment_method, "currency": rec.currency or self.currency,
               "prices_include_tax": rec.prices_include_tax}
        if with_ref:
            row["ref"] = rec.ref
        return row

    def _insert_lines(self, orders):
        rows = [(order_id, p, q, u, r, c, d, pl[0], pl[1])
                for order_id, (_, _, lines, priced) in orders
                for (p, q, u, r, d, c), pl in zip(lines, priced.lines)]
        if rows:
            _bulk_insert(_L, LINE_COLUMNS, rows)

    def _datetime_param(self):
        """The database's own form of a datetime (SQLite: SQLAlchemy's text form), for
        _bulk_insert, which bypasses SQLAlchemy's per-row parameter processing."""
        if not hasattr(self, "_when"):
            # The dialect's own type (SQLite: "2025-06-03 00:00:00.000000", the text every
            # other write stores): the generic type has no processor, and the driver's
            # default adapter drops ".000000", so a sale at exactly a day's start compared
            # as text fell before it, into the day before.
            dialect = db.session.connection().dialect
            self._when = (_O.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
                          or (lambda value: value))
        return self._when

    def _change(self, rec, old, sale):
        """An order already in Larder that the file says differently: rewritten, unless
        its history must stay (refunds point at its lines; a closed day)."""
        self.need_indexes()
        refunded = db.session.execute(select(_R.c.id).where(_R.c.order_id == old.id)).first()
        if refunded:
            self.problem(rec.line, "order", Reason(
                N_("order %(order)s is already in Larder with other figures and has refunds; "
                   "an import cannot change it"), order=rec.source_id))
            return
        if self._closed(old.created_at, rec.line, "order"):
            return
        daily_figures.withdraw([old.id])  # counted again by finish()
        self.new_orders.append(old.id)
        db.session.execute(update(_O).where(_O.c.id == old.id)
                           .values(**self._order_row(sale, with_ref=False)))
        db.session.execute(delete(_L).where(_L.c.order_id == old.id))
        self._insert_lines([(old.id, sale)])
        self.plan.count("orders", "updated")
        if rec.refunds:
            self._sale_refunds(rec, old.id, rec.payment_method)

    def finish(self):
        self.flush()
        if not self.plan.problem_count:  # else rolled back: the indexes come back anyway
            self.need_indexes()
            # The big page cache is for the inserts; SQLite's sorter may take as much
            # again for the figures' GROUP BY over every new line (a million-line
            # import peaked ~130 MB higher): the usual cache from here on.
            self.done()
            daily_figures.add(self.new_orders, self.new_refunds)
            self.new_orders, self.new_refunds = [], []

    def need_indexes(self):
        """Before a query that reads orders other than by ref (refunds, a changed
        order), and at the end: the indexes dropped for a big import, built again."""
        if self.indexes:
            self.indexes.restore()

    def done(self):
        """Before the commit or rollback: the connection's page cache as it was."""
        if self._cache is not None:
            db.session.connection().exec_driver_sql(f"PRAGMA cache_size = {int(self._cache)}")
            self._cache = None

    # ---- products and customers files -------------------------------------------------
    def _first(self, key, line, column):
        if key in self.keys_seen:
            self.problem(line, column, Reason(N_("duplicate of line %(line)s"),
                                              line=self.keys_seen[key]))
            return False
        self.keys_seen[key] = line
        return True

    def product(self, rec):
        from .catalog_rows import upsert_product

        self.plan.products_found += 1
        if rec.skip:
            self.plan.skip(rec.line, Reason(N_("product %(sku)s"), sku=rec.sku), rec.skip)
            self.plan.count("products", "skipped")
            return
        if self._first(("product", rec.sku), rec.line, "sku"):
            upsert_product(self, rec)

    def customer(self, rec):
        from .catalog_rows import upsert_customer

        self.plan.customers_found += 1
        if self._first(("customer", rec.email.lower()), rec.line, "email"):
            upsert_customer(self, rec)

