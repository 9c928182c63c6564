"""Refunds from a file: a till's refund rows (RefundRecord on their own: Square, SumUp,
Loyverse) and the refunds inside a sale's rows (Shopify's Refunded Amount), written as
Refund/RefundLine rows dated when they happened. Part of the engine's Writer.

A refund by item takes refunds.share of the line (the formula of a refund made in
Larder); a refund by amount is shared over the lines in proportion to what is left of
them. The file's own amount (and tax, when given) must come out, else the line is
refused. A refund already in Larder (same sale, time and amount) is left alone."""
from sqlalchemy import func, insert, select

from ..extensions import db
from ..i18n import N_
from ..models import Order, OrderLine, Product, Refund, RefundLine
from ..money import cents_for_display
from ..refunds import REFUNDABLE, share
from ..tax import allocate, round_half_up
from .records import Reason

_P, _O, _L = Product.__table__, Order.__table__, OrderLine.__table__
_R, _RL = Refund.__table__, RefundLine.__table__


def _money(cents):
    return cents_for_display(cents)


class RefundWriter:
    """Mixed into writer.Writer (uses its plan, problem(), _closed(), pending, flush(),
    by_email)."""
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
        self.need_indexes()  # reads the order's lines by order id
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
        self.need_indexes()  # finds sales by date, customer and product
        order = None
        if ref:
            order = db.session.execute(select(_O.c.id, _O.c.status, _O.c.payment_method)
                                       .where(_O.c.ref == ref)).first()
        else:
            order = self._latest_sale_of(rec)
        if order is None:
            reason = (Reason(N_("refunds sale %(sale)s, which is neither in this file nor in "
                                "Larder"), sale=ref.partition(":")[2] or ref) if ref else
                      Reason(N_("the file does not say which sale this refunds and no earlier "
                                "sale of %(skus)s was found"),
                             skus=", ".join(s for s, _ in rec.skus)))
            self.problem(rec.line, "refund", Reason(
                N_("%(reason)s (perhaps its lines are among the bad lines above)"),
                reason=reason) if self.plan.problem_count else reason)
            return
        if order.status not in REFUNDABLE:
            self.problem(rec.line, "refund", Reason(N_("sale %(sale)s is %(status)s, not sold"),
                                                    sale=ref, status=Reason(order.status)))
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
            self.plan.note(rec.line, N_("a refund the file does not link to its sale: matched "
                                        "to the latest earlier sale of the same item in "
                                        "Larder"))
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
                self.problem(rec.line, "refund", Reason(
                    N_("refunds %(quantity)s more of %(sku)s than the sale has left to refund"),
                    quantity=quantity, sku=sku))
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
                self.problem(rec.line, "refund", Reason(
                    N_("refunds %(amount)s, more than the %(left)s left of the sale"),
                    amount=_money(amount), left=_money(total_left)))
                return
            for (gross, line), part in zip(left, allocate(amount, [g for g, _ in left])):
                if part:
                    dtax = done.get(line.id, (0, 0, 0))[2]
                    tax = round_half_up((line.tax_cents - dtax) * part, gross)
                    parts.append((line, 0, part - tax, tax))
        net, tax = sum(p[2] for p in parts), sum(p[3] for p in parts)
        if net + tax != amount or (rec.tax_cents is not None and tax != rec.tax_cents):
            shown = {"amount": _money(amount), "total": _money(net + tax), "tax": _money(tax)}
            self.problem(rec.line, "refund", Reason(
                N_("the file refunds %(amount)s (tax %(file_tax)s); those items of the sale "
                   "come to %(total)s (tax %(tax)s)"), file_tax=_money(rec.tax_cents), **shown)
                if rec.tax_cents is not None else Reason(
                N_("the file refunds %(amount)s; those items of the sale come to %(total)s "
                   "(tax %(tax)s)"), **shown))
            return
        refund_id = db.session.execute(insert(_R).values(
            order_id=order_id, created_at=rec.created_at, reason=rec.reason[:300],
            restocked=False, payment_method=method, amount_cents=amount, net_cents=net,
            tax_cents=tax).returning(_R.c.id)).scalar_one()
        self.new_refunds.append(refund_id)  # for the daily figures (Writer.finish)
        db.session.execute(insert(_RL), [
            {"refund_id": refund_id, "order_line_id": line.id, "quantity": q,
             "tax_rate_bp": line.tax_rate_bp, "net_cents": n, "tax_cents": t,
             "cost_cents": (None if line.unit_cost_cents is None or not q
                            else line.unit_cost_cents * q)} for line, q, n, t in parts])
        self.plan.count("refunds", "new")
