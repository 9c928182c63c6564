"""The sweep (`larder.sweep`, every minute from beat): no job and no order is left behind
when its message to the broker was lost.

A job's row is committed before its message is sent (an order's job with the order
itself: ordering.record_order), so the row is the outbox. Sending can fail after the
commit (Redis down for a moment, the queue folder not writable, the process killed in
between): the row stays `queued` with no message. The sweep
- sends again each job queued for longer than a grace period whose task id is in no
  message of the broker, waiting or taken by a worker (resend_lost). The same task id
  is sent, so its status URL stays valid; should a message be sent twice all the same,
  the job's body is safe to run twice (an order is claimed by a conditional UPDATE,
  ordering.process_order, so its stock is taken once);
- makes a job again for each pending order that has no unfinished one (an order
  recorded before the outbox, or whose job ended in an unexpected error); after
  MAX_TRIES jobs the order is marked failed with the error (ordering.give_up), so that
  no order stays pending for ever (requeue_orphans).
docs/tasks.md, "Lost messages".
"""
import json
import logging
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..extensions import cache, db
from ..i18n import N_, stored
from ..models import Job, Order, now
from . import jobs

log = logging.getLogger(__name__)
GRACE_SECONDS = 30  # a job younger than this may still be on its way to the broker
MAX_TRIES = 3  # jobs made for one order before it is marked failed
CHUNK = 500
# Every pending order is looked at once an hour (at a million orders that reads the
# whole date index: 0.2 s); the sweeps between look at the last day's orders only.
FULL_LOOK_SECONDS = 3600
RECENT = timedelta(days=1)


def sweep(grace_seconds=GRACE_SECONDS):
    sent = resend_lost(grace_seconds)
    remade, given_up = requeue_orphans()
    if sent or remade or given_up:
        log.warning("sweep: %d job(s) sent again, %d order(s) queued again, %d order(s) "
                    "marked failed", sent, remade, given_up)
    return {"sent_again": sent, "orders_queued": remade, "orders_failed": given_up}


def resend_lost(grace_seconds=GRACE_SECONDS):
    cutoff = now() - timedelta(seconds=grace_seconds)
    stale = db.session.execute(
        db.select(Job).where(Job.state == "queued", Job.created_at <= cutoff)
        .order_by(Job.created_at)).scalars().all()
    db.session.commit()
    if not stale:
        return 0  # the usual case: no look at the broker at all
    try:
        waiting = broker_task_ids(current_app.extensions["celery"])
    except Exception as exc:  # noqa: BLE001  (the broker is down: the next sweep)
        log.warning("sweep: cannot look at the broker (%s: %s)", type(exc).__name__, exc)
        return 0
    sent = 0
    for job in stale:
        if jobs.task_id(job) in waiting:
            continue
        sent += jobs.hand_over(job)  # False: logged, and the next sweep tries again
    return sent


def broker_task_ids(celery):
    """The task ids of every message in the broker: waiting in a queue, or taken by a
    worker and not acknowledged (running, or held for a retry's countdown). Raises
    when the broker cannot be read; None for a broker it cannot look into."""
    conf = celery.conf
    queues = {conf.task_default_queue} | {route["queue"] for route in
                                          (conf.task_routes or {}).values()}
    if conf.broker_url == "filesystem://":
        from .broker_files import message_files

        return {_task_id(_read(path)) for path in message_files(conf)}
    if conf.broker_url.startswith(("redis://", "rediss://", "unix://")):
        with celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1)  # down: say so now, not after retries
            channel = conn.default_channel  # kombu's Redis layout: a list per queue
            client = channel.client        # and priority, taken ones in a hash
            raw = [m for queue in queues for step in channel.priority_steps
                   for m in client.lrange(channel._q_for_pri(queue, step), 0, -1)]
            ids = {_task_id(m) for m in raw}
            ids |= {_task_id(json.loads(m)[0]) for m in client.hvals(channel.unacked_key)}
            return ids
    return None


def _time_for_every_order():
    """True once per FULL_LOOK_SECONDS for all processes (the time is kept in the shared
    cache; a cache that was cleared says yes)."""
    key = "outbox/every-order-looked-at"
    last = cache.get(key)
    if last is not None and time.time() - last < FULL_LOOK_SECONDS:
        return False
    cache.set(key, time.time(), timeout=0)
    return True


def _read(path):
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:  # taken and finished while we looked
        return None


def _task_id(message):
    try:
        payload = json.loads(message) if isinstance(message, (bytes, str)) else message
        return payload["headers"]["id"]
    except (TypeError, ValueError, KeyError):
        return None


def requeue_orphans():
    """(orders queued again, orders given up) for pending orders with no unfinished
    job. Three looks, each in its own transaction (SQLite reads a snapshot until the
    commit): the pending orders, their active jobs, then each orphan again, so an order
    whose job finished meanwhile (no longer pending) is left alone."""
    select = db.select(Order.id).where(Order.status == "pending")
    if not _time_for_every_order():  # the last day's: a range of the orders' date index
        select = select.where(Order.created_at >= now() - RECENT)
    pending = db.session.execute(select).scalars().all()
    db.session.commit()
    active = set()
    for i in range(0, len(pending), CHUNK):
        keys = [f"order:{order_id}" for order_id in pending[i:i + CHUNK]]
        active |= set(db.session.execute(
            db.select(Job.active_key).where(Job.active_key.in_(keys))).scalars())
    db.session.commit()
    remade = given_up = 0
    for order_id in pending:
        if f"order:{order_id}" in active:
            continue
        order = db.session.get(Order, order_id, populate_existing=True)
        if order is None or order.status != "pending":
            db.session.commit()
            continue
        tries = db.session.execute(
            db.select(Job).where(Job.dedup_key == f"order:{order_id}")
            .order_by(Job.created_at.desc())).scalars().all()
        if len(tries) >= MAX_TRIES:
            from .. import ordering

            error = (tries[0].error or "").strip().splitlines()
            reason = stored(N_("could not be processed: %(error)s"),
                            error=error[-1] if error else "unknown error")
            given_up += ordering.give_up(order_id, reason)
            log.error("order %s: %s (after %d tries): marked failed", order.ref, reason,
                      len(tries))
            continue
        job = jobs.new("order", f"Process order {order.ref}", {"order_id": order_id},
                       dedup_key=f"order:{order_id}")
        try:
            db.session.commit()
        except IntegrityError:  # a job was made for it at this moment: that one runs
            db.session.rollback()
            continue
        jobs.hand_over(job)
        remade += 1
    return remade, given_up
