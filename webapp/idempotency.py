"""Orders recorded once: `Idempotency-Key` on POST /api/orders, and the order form's
one-time token.

- The key (per user) is saved in the same transaction as the order, under a unique
  constraint: of two requests racing with one key, the second's transaction fails and
  records nothing, then answers with the first order. A check before inserting would
  let both through.
- The first answer's body is stored: the same key answers with that body for 24 hours.
  The same key with other content is refused (422): that is a mistake, not a retry.
- A request refused for bad input records nothing: its key can be used again.
- Keys older than 24 hours are ignored, and deleted by the daily cleanup.
"""
import hashlib
import json
import time
from datetime import timedelta

from flask import abort

from .extensions import db
from .models import IdempotencyKey, now

TTL = timedelta(hours=24)
MAX_KEY = 200
WAIT_FOR_FIRST_S = 10  # a duplicate waits this long for the first request to answer


def check_key(raw):
    """The header's key, or a 400 with the rule."""
    key = raw.strip()
    if not 0 < len(key) <= MAX_KEY or not key.isascii() or not key.isprintable():
        abort(400, f"Idempotency-Key must be 1 to {MAX_KEY} visible ASCII characters.")
    return key


def fingerprint(content):
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def new(user_id, key, content):
    """An unsaved row for ordering.create_order to save with the order."""
    return IdempotencyKey(user_id=user_id, key=key, fingerprint=fingerprint(content),
                          created_at=now())


def find(user_id, key):
    """The live row for this user's key, or None. An expired row (or one whose order was
    removed, e.g. by demo --replace) is deleted here, so the key can be saved again."""
    row = db.session.execute(
        db.select(IdempotencyKey).filter_by(user_id=user_id, key=key)
        .execution_options(populate_existing=True)).scalar()
    if row is not None and (row.created_at < now() - TTL or row.order is None):
        db.session.delete(row)
        db.session.commit()
        return None
    return row


def same_request(row, content):
    return row.fingerprint == fingerprint(content)


def reused_message(row):
    return (f"This Idempotency-Key was already used for order {row.order.ref} with "
            f"different content; use a new key for a new order.")


def store_response(row, body):
    row.response = json.dumps(body)
    db.session.commit()


def first_response(row, complete):
    """The first answer's body. If the first request saved its order but has not stored
    its answer yet, wait for it; if it never does (it crashed in between), `complete(order)`
    makes the answer, and the first one stored wins."""
    deadline = time.monotonic() + WAIT_FOR_FIRST_S
    while not row.response and time.monotonic() < deadline:
        time.sleep(0.05)
        db.session.commit()  # end the read, so the next one sees the other request's write
        db.session.refresh(row)
    if not row.response:
        body = complete(row.order)
        db.session.execute(db.update(IdempotencyKey)
                           .where(IdempotencyKey.id == row.id, IdempotencyKey.response == "")
                           .values(response=json.dumps(body)))
        db.session.commit()
        db.session.refresh(row)
    return json.loads(row.response)


def delete_expired():
    """Keys past 24 hours (the daily cleanup)."""
    count = db.session.execute(
        db.delete(IdempotencyKey).where(IdempotencyKey.created_at < now() - TTL)).rowcount
    db.session.commit()
    return count
