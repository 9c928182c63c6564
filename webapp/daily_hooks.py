"""The session hook of the daily figures (webapp.daily_figures): every flush that adds,
changes or deletes orders, their lines, refunds or a customer's country takes off what
the touched orders and refunds counted before it and adds what they count after it, in
the flush's own transaction; what a Core statement registered (daily_figures.order_left)
is written at the commit; a rollback forgets both."""
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from .daily_figures import (_FLUSH, _O, _PENDING, _R, Delta, _refunds_of, _write,
                            day_start_now, in_ids)


def _touched(session):
    """(existing order ids, existing refund ids, new orders, new refunds, customers
    whose country changes) a flush changes."""
    from .models import Customer, Order, OrderLine, Refund, RefundLine

    orders, refunds, new_orders, new_refunds, customers = set(), set(), [], [], set()
    changed = [o for o in session.dirty if session.is_modified(o, include_collections=False)]
    for obj in (*session.new, *changed, *session.deleted):
        if isinstance(obj, Order):
            (new_orders.append(obj) if obj.id is None else orders.add(obj.id))
        elif isinstance(obj, Refund):
            (new_refunds.append(obj) if obj.id is None else refunds.add(obj.id))
        elif isinstance(obj, OrderLine):
            parent = obj.order_id if obj.order_id is not None else getattr(obj.order, "id", None)
            if parent is not None:
                orders.add(parent)
        elif isinstance(obj, RefundLine):
            parent = (obj.refund_id if obj.refund_id is not None
                      else getattr(obj.refund, "id", None))
            if parent is not None:
                refunds.add(parent)
        elif isinstance(obj, Customer) and obj.id is not None:
            if sa.inspect(obj).attrs.country.history.has_changes():
                customers.add(obj.id)
    return orders, refunds, new_orders, new_refunds, customers


def _before_flush(session, flush_context, instances):
    orders, refunds, new_orders, new_refunds, customers = _touched(session)
    if not (orders or refunds or new_orders or new_refunds or customers):
        return
    conn = session.connection()
    start = day_start_now()
    for clause in in_ids(_O.c.customer_id, customers):  # counted under their country
        orders.update(conn.execute(sa.select(_O.c.id).where(clause)).scalars())
    # their refunds count by the order's method, lines and customer
    refunds |= _refunds_of(conn, orders)
    delta = Delta()
    for clause in in_ids(_O.c.id, orders):
        delta.orders(conn, start, [clause], sign=-1)
    for clause in in_ids(_R.c.id, refunds):
        delta.refunds(conn, start, [clause], sign=-1)
    session.info[_FLUSH] = (delta, orders, refunds, new_orders, new_refunds)


def _after_flush(session, flush_context):
    state = session.info.pop(_FLUSH, None)
    if state is None:
        return
    delta, orders, refunds, new_orders, new_refunds = state
    orders = orders | {o.id for o in new_orders}
    refunds = refunds | {r.id for r in new_refunds}
    conn = session.connection()
    start = day_start_now()
    for clause in in_ids(_O.c.id, orders):
        delta.orders(conn, start, [clause])
    for clause in in_ids(_R.c.id, refunds):
        delta.refunds(conn, start, [clause])
    _write(session, delta)


def _before_commit(session):
    pending = session.info.pop(_PENDING, None)
    if pending is not None:
        _write(session, pending)


def _forget(session, *args):
    session.info.pop(_PENDING, None)
    session.info.pop(_FLUSH, None)


event.listen(Session, "before_flush", _before_flush)
event.listen(Session, "after_flush", _after_flush)
event.listen(Session, "before_commit", _before_commit)
event.listen(Session, "after_soft_rollback", _forget)

