"""Records -> rows: match products and customers, price each sale with tax.price_order,
check it against the file's own figures, and write in chunks (Core bulk statements).

Orders are keyed by SaleRecord.ref: a ref already in Larder is compared (time,
customer, total, tax, payment method) and left alone when equal, so re-importing an
export, or a later one that overlaps it, adds only what is new. A ref met twice in one
file is a Problem (found by id: orders this import inserted have ids above the largest
one before it). Every Problem is recorded in the plan; the engine rolls back if any.
"""
from sqlalchemy import bindparam, delete, func, insert, select, update

from .. import settings
from ..catalog import sku_problem
from ..extensions import db
from ..models import Customer, Order, OrderLine, Product, Refund, RefundLine, ZReport, now
from ..money import (MAX_LINES, MAX_ORDER_CENTS, MAX_PRICE_CENTS, MAX_QUANTITY, MAX_STOCK,
                     cents_for_display)
from ..refunds import REFUNDABLE, share
from ..tax import Line, PricingError, allocate, price_order, round_half_up, tax_included, tax_on
from ..validation import EMAIL_RE
from .formats.common import DEFAULT_CATEGORY
from .records import Problem

CHUNK = 1_000      # sales written together
IN_CHUNK = 900     # values per IN (...): below SQLite's old limit of 999
_P, _C, _O, _L = (Product.__table__, Customer.__table__, Order.__table__,
                  OrderLine.__table__)
_R, _RL = Refund.__table__, RefundLine.__table__


def _money(cents):
    return cents_for_display(cents)


class Writer:
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
        self.pending = {}            # ref -> (record, customer id, lines, priced)
        self.keys_seen = {}          # products/customers layouts: key -> line
        self.stock_changed = []

    def problem(self, line, column, reason):
        self.plan.problem(Problem(line, column, reason))

    def _closed(self, moment, line, column="date"):
        if self.closed:
            day = settings.business_day_of(moment)
            if day in self.closed:
                self.problem(line, column, f"the business day {day.isoformat()} is closed "
                                           "(Z-report done); nothing can be added to it")
                return True
        return False

    # ---- sales ---------------------------------------------------------------------
    def sale(self, rec):
        plan = self.plan
        plan.saw_sale(rec.created_at, len(rec.lines))
        plan.refunds_found += len(rec.refunds)
        if rec.skip:
            plan.skip(rec.line, f"order {rec.source_id}", rec.skip)
            plan.count("orders", "skipped")
            return
        before = plan.problem_count
        if rec.ref in self.pending:
            self._twice(rec)
            return
        self._closed(rec.created_at, rec.line)
        customer_id = self._customer_of(rec.customer)
        if len(rec.lines) > MAX_LINES:
            self.problem(rec.line, "order", f"order {rec.source_id}: {len(rec.lines)} lines; "
                                            f"at most {MAX_LINES}")
            return
        lines = []
        for line in rec.lines:
            product = self._product_of(line, rec.prices_include_tax)
            if product is None:
                continue
            if not 1 <= line.quantity <= MAX_QUANTITY:
                self.problem(line.line, "quantity", f"{line.quantity}: expected 1 to "
                                                    f"{MAX_QUANTITY:,}")
                continue
            unit = product[1] if line.unit_price_cents is None else line.unit_price_cents
            rate = line.tax_rate_bp
            if rate is None:
                rate = self.default_rate if product[2] is None else product[2]
            cost = product[3] if line.unit_cost_cents is None else line.unit_cost_cents
            lines.append((product[0], line.quantity, unit, rate, line.discount_cents, cost))
        method = rec.payment_method
        if rec.source == "larder" and method and method not in self.methods:
            self.problem(rec.line, "payment_method", f"unknown payment method {method!r} (the "
                         f"shop's: {', '.join(self.methods)}; add it in Settings)")
        if plan.problem_count > before:
            return
        try:
            priced = price_order([Line(q, u, r, d) for _, q, u, r, d, _ in lines],
                                 rec.prices_include_tax,
                                 discount_amount_cents=rec.order_discount_cents or None)
        except PricingError as exc:
            self.problem(rec.line, "discount", f"order {rec.source_id}: {exc}")
            return
        if max(priced.total_cents, priced.gross_cents) > MAX_ORDER_CENTS:
            self.problem(rec.line, "total", f"order {rec.source_id}: above "
                                            f"{_money(MAX_ORDER_CENTS)}")
            return
        if not self._as_the_file_says(rec, priced):
            return
        self.pending[rec.ref] = (rec, customer_id, lines, priced)
        if len(self.pending) >= CHUNK:
            self.flush()

    def _twice(self, rec):
        self.problem(rec.line, "order", f"order {rec.source_id} appears twice in this file "
                                        "(an order's rows must follow each other)")

    def _as_the_file_says(self, rec, priced):
        ok = True
        for column, wanted, got in (("total", rec.expected_total_cents, priced.total_cents),
                                    ("tax", rec.expected_tax_cents, priced.tax_cents)):
            if wanted is not None and wanted != got:
                self.problem(rec.line, column, f"order {rec.source_id}: the file says "
                             f"{_money(wanted)}, its lines come to {_money(got)}")
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
                self.problem(c.line, "customer_email", f"unknown customer {email!r}")
                return None
            if not EMAIL_RE.fullmatch(email) or len(email) > 254:
                self.problem(c.line, "email", f"not an e-mail address: {email!r}")
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
            self.problem(line.line, "sku", f"unknown sku {rec.sku!r}")
            return None
        if sku_problem(rec.sku):
            self.problem(line.line, "sku", f"bad sku {rec.sku!r} ({sku_problem(rec.sku)})")
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
        sales, self.pending = list(self.pending.values()), {}
        refs = [sale[0].ref for sale in sales]
        existing = {}
        for i in range(0, len(refs), IN_CHUNK):
            existing.update((r.ref, r) for r in db.session.execute(select(
                _O.c.id, _O.c.ref, _O.c.created_at, _O.c.customer_id, _O.c.total_cents,
                _O.c.tax_cents, _O.c.payment_method).where(_O.c.ref.in_(refs[i:i + IN_CHUNK]))))
        new = []
        for sale in sales:
            rec, customer_id, lines, priced = sale
            old = existing.get(rec.ref)
            if old is None:
                new.append(sale)
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
            rows = [self._order_row(sale) for sale in new]
            ids = db.session.execute(insert(_O).returning(_O.c.id, sort_by_parameter_order=True),
                                     rows).scalars().all()
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
               "tax_cents": priced.tax_cents, "discount_percent_bp": None,
               "discount_amount_cents": rec.order_discount_cents or None,
               "payment_method": rec.payment_method, "currency": rec.currency or self.currency,
               "prices_include_tax": rec.prices_include_tax}
        if with_ref:
            row["ref"] = rec.ref
        return row

    def _insert_lines(self, orders):
        rows = [{"order_id": order_id, "product_id": p, "quantity": q, "unit_price_cents": u,
                 "tax_rate_bp": r, "unit_cost_cents": c, "discount_cents": d,
                 "net_cents": pl.net_cents, "tax_cents": pl.tax_cents}
                for order_id, (_, _, lines, priced) in orders
                for (p, q, u, r, d, c), pl in zip(lines, priced.lines)]
        if rows:
            db.session.execute(insert(_L), rows)

    def _change(self, rec, old, sale):
        """An order already in Larder that the file says differently: rewritten, unless
        its history must stay (refunds point at its lines; a closed day)."""
        refunded = db.session.execute(select(_R.c.id).where(_R.c.order_id == old.id)).first()
        if refunded:
            self.problem(rec.line, "order", f"order {rec.source_id} is already in Larder with "
                         "other figures and has refunds; an import cannot change it")
            return
        if self._closed(old.created_at, rec.line, "order"):
            return
        db.session.execute(update(_O).where(_O.c.id == old.id)
                           .values(**self._order_row(sale, with_ref=False)))
        db.session.execute(delete(_L).where(_L.c.order_id == old.id))
        self._insert_lines([(old.id, sale)])
        self.plan.count("orders", "updated")
        if rec.refunds:
            self._sale_refunds(rec, old.id, rec.payment_method)

    def finish(self):
        self.flush()

    # ---- refunds ---------------------------------------------------------------------
    def _order_lines(self, order_id):
        """[order line rows], {line id: (quantity, net, tax) refunded}, refunded amount."""
        lines = db.session.execute(
            select(_L.c.id, _L.c.quantity, _L.c.net_cents, _L.c.tax_cents, _L.c.tax_rate_bp,
                   _L.c.unit_cost_cents, _P.c.sku).join(_P, _P.c.id == _L.c.product_id)
            .where(_L.c.order_id == order_id).order_by(_L.c.id)).all()
        done = {r.order_line_id: (int(r.q), int(r.net), int(r.tax)) for r in db.session.execute(
            select(_RL.c.order_line_id, func.sum(_RL.c.quantity).label("q"),
                   func.sum(_RL.c.net_cents).label("net"),
                   func.sum(_RL.c.tax_cents).label("tax"))
            .join(_R, _R.c.id == _RL.c.refund_id).where(_R.c.order_id == order_id)
            .group_by(_RL.c.order_line_id))}
        return lines, done

    def _sale_refunds(self, rec, order_id, method):
        """Refunds inside a sale's rows (Shopify's Refunded Amount): what the file says
        was refunded, less what Larder already has for the order, is added."""
        lines, done = self._order_lines(order_id)
        already = sum(net + tax for _, net, tax in done.values())
        wanted = sum(r.amount_cents for r in rec.refunds)
        if wanted <= already:
            self.plan.count("refunds", "unchanged", len(rec.refunds))
            return
        if already:  # a later export refunds more: the difference, by amount
            last = rec.refunds[-1]
            self._write_refund(last, order_id, method, lines, done, [], wanted - already)
            return
        for refund in rec.refunds:
            self._write_refund(refund, order_id, method, lines, done,
                               [(lines[i], q) for i, q in refund.lines], refund.amount_cents)
            lines, done = self._order_lines(order_id)

    def refund(self, rec):
        """A refund row of its own (Square, SumUp, Loyverse)."""
        self.plan.refunds_found += 1
        ref = rec.sale_ref
        if ref in self.pending:
            self.flush()
        order = None
        if ref:
            order = db.session.execute(select(_O.c.id, _O.c.status, _O.c.payment_method)
                                       .where(_O.c.ref == ref)).first()
        else:
            order = self._latest_sale_of(rec)
        if order is None:
            maybe = (" (perhaps its lines are among the bad lines above)"
                     if self.plan.problem_count else "")
            self.problem(rec.line, "refund", (f"refunds sale {ref.partition(':')[2] or ref}, "
                         "which is neither in this file nor in Larder" if ref else
                         "the file does not say which sale this refunds and no earlier sale "
                         "of " + ", ".join(s for s, _ in rec.skus) + " was found") + maybe)
            return
        if order.status not in REFUNDABLE:
            self.problem(rec.line, "refund", f"sale {ref} is {order.status}, not sold")
            return
        same = db.session.execute(select(_R.c.id).where(
            _R.c.order_id == order.id, _R.c.created_at == rec.created_at,
            _R.c.amount_cents == rec.amount_cents)).first()
        if same:
            self.plan.count("refunds", "unchanged")
            return
        lines, done = self._order_lines(order.id)
        picked = self._by_sku(rec, lines, done)
        if picked is not None:
            self._write_refund(rec, order.id, order.payment_method, lines, done, picked,
                               rec.amount_cents)

    def _latest_sale_of(self, rec):
        skus = [sku for sku, _ in rec.skus]
        query = (select(_O.c.id, _O.c.status, _O.c.payment_method)
                 .join(_L, _L.c.order_id == _O.c.id).join(_P, _P.c.id == _L.c.product_id)
                 .where(_P.c.sku.in_(skus), _O.c.created_at <= rec.created_at,
                        _O.c.status.in_(REFUNDABLE))
                 .order_by(_O.c.created_at.desc(), _O.c.id.desc()).limit(1))
        if rec.customer is not None and rec.customer.email:
            cid = self.by_email.get(rec.customer.email.lower())
            if cid is not None:
                query = query.where(_O.c.customer_id == cid)
        order = db.session.execute(query).first()
        if order is not None:
            self.plan.note(rec.line, "a refund the file does not link to its sale: matched "
                                     "to the latest earlier sale of the same item in Larder")
        return order

    def _by_sku(self, rec, lines, done):
        picked = []
        for sku, quantity in rec.skus:
            for line in lines:
                if line.sku != sku or quantity <= 0:
                    continue
                taken = sum(q for l, q in picked if l.id == line.id)
                left = line.quantity - done.get(line.id, (0, 0, 0))[0] - taken
                q = min(left, quantity)
                if q > 0:
                    picked.append((line, q))
                    quantity -= q
            if quantity > 0:
                self.problem(rec.line, "refund", f"refunds {quantity} more of {sku} than the "
                                                 "sale has left to refund")
                return None
        return picked

    def _write_refund(self, rec, order_id, method, lines, done, picked, amount):
        """One Refund: `picked` [(order line row, quantity)] by refunds.share, or (empty)
        `amount` shared over the lines in proportion to what is left of them."""
        if self._closed(rec.created_at, rec.line):
            return
        parts = []
        if picked:
            for line, q in picked:
                dq, dnet, dtax = done.get(line.id, (0, 0, 0))
                net, tax = share(line.net_cents, line.tax_cents, line.quantity - dq, dnet,
                                 dtax, q)
                parts.append((line, q, net, tax))
        else:
            left = [(line.net_cents + line.tax_cents - sum(done.get(line.id, (0, 0, 0))[1:]),
                     line) for line in lines]
            total_left = sum(gross for gross, _ in left)
            if amount > total_left:
                self.problem(rec.line, "refund", f"refunds {_money(amount)}, more than the "
                                                 f"{_money(total_left)} left of the sale")
                return
            for (gross, line), part in zip(left, allocate(amount, [g for g, _ in left])):
                if part:
                    dtax = done.get(line.id, (0, 0, 0))[2]
                    tax = round_half_up((line.tax_cents - dtax) * part, gross)
                    parts.append((line, 0, part - tax, tax))
        net, tax = sum(p[2] for p in parts), sum(p[3] for p in parts)
        if net + tax != amount or (rec.tax_cents is not None and tax != rec.tax_cents):
            self.problem(rec.line, "refund", f"the file refunds {_money(amount)}"
                         + (f" (tax {_money(rec.tax_cents)})" if rec.tax_cents is not None
                            else "") + f"; those items of the sale come to "
                         f"{_money(net + tax)} (tax {_money(tax)})")
            return
        refund_id = db.session.execute(insert(_R).values(
            order_id=order_id, created_at=rec.created_at, reason=rec.reason[:300],
            restocked=False, payment_method=method, amount_cents=amount, net_cents=net,
            tax_cents=tax).returning(_R.c.id)).scalar_one()
        db.session.execute(insert(_RL), [
            {"refund_id": refund_id, "order_line_id": line.id, "quantity": q,
             "tax_rate_bp": line.tax_rate_bp, "net_cents": n, "tax_cents": t,
             "cost_cents": (None if line.unit_cost_cents is None or not q
                            else line.unit_cost_cents * q)} for line, q, n, t in parts])
        self.plan.count("refunds", "new")

    # ---- products and customers files -------------------------------------------------
    def _first(self, key, line, column):
        if key in self.keys_seen:
            self.problem(line, column, f"duplicate of line {self.keys_seen[key]}")
            return False
        self.keys_seen[key] = line
        return True

    def product(self, rec):
        from .catalog_rows import upsert_product

        self.plan.products_found += 1
        if rec.skip:
            self.plan.skip(rec.line, f"product {rec.sku}", rec.skip)
            self.plan.count("products", "skipped")
            return
        if self._first(("product", rec.sku), rec.line, "sku"):
            upsert_product(self, rec)

    def customer(self, rec):
        from .catalog_rows import upsert_customer

        self.plan.customers_found += 1
        if self._first(("customer", rec.email.lower()), rec.line, "email"):
            upsert_customer(self, rec)


__all__ = ["Writer", "MAX_STOCK"]
