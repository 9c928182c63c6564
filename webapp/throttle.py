"""Sign-in throttling, per account and per client address, shared by every process.

After LIMIT failed sign-ins an account (or a client address) must wait 30 seconds before
the next try, and each further failure doubles the wait, up to an hour. Counts live in the
shared cache (atomic `inc` on every Larder backend), so several `serve` processes count
together; they are forgotten a day after the first failure. A correct password clears the
account's count, and takes back the attempt from the client's count.

Only the password form is throttled: the owner signs in with the launch token (32 random
bytes: guessing is hopeless), so nobody can lock the owner out by failing on purpose.
"""
import math
import time

from .extensions import cache
from .i18n import ngettext

LIMIT = 5
FIRST_DELAY_S = 30
MAX_DELAY_S = 3600
WINDOW_S = 24 * 3600


def keys(username, client):
    return [f"signin/user/{username.strip().lower()}", f"signin/client/{client or '-'}"]


def delay_after(failures):
    if failures < LIMIT:
        return 0
    return min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** min(failures - LIMIT, 12))


def _remaining(key, now):
    failures = cache.get(key + "/n") or 0
    last = cache.get(key + "/t") or 0
    return failures, max(0, last + delay_after(failures) - now)


def attempt(names):
    """Count one sign-in attempt against each key; returns the seconds to wait (0: check
    the password now). Counted before the password is checked, so a burst of parallel
    tries cannot all slip in under the limit: past it, only the try that found the count
    where the previous wait ended gets through; the others are refused and counted."""
    now = time.time()
    seen = {}
    for key in names:
        failures, wait = _remaining(key, now)
        if wait > 0:
            return math.ceil(wait)  # refused without counting: waiting is not failing
        seen[key] = failures
    wait = 0
    for key in names:
        cache.add(key + "/n", 0, timeout=WINDOW_S)
        count = cache.cache.inc(key + "/n") or 0
        cache.set(key + "/t", now, timeout=WINDOW_S)
        if count > LIMIT and count != seen[key] + 1:
            wait = max(wait, delay_after(count - 1))
    return wait


def succeeded(names):
    """The password was right: the account starts afresh, the client's try is taken back."""
    user_key, client_key = names
    cache.delete(user_key + "/n")
    cache.cache.dec(client_key + "/n")


def in_words(seconds):
    """'30 seconds', '2 minutes', '1 hour': how long to wait, for the sign-in page."""
    seconds = max(1, int(seconds))
    if seconds < 90:
        return ngettext("%(num)s second", "%(num)s seconds", seconds)
    minutes = math.ceil(seconds / 60)
    if minutes < 90:
        return ngettext("%(num)s minute", "%(num)s minutes", minutes)
    return ngettext("%(num)s hour", "%(num)s hours", 1)
