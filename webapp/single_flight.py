"""One computation of a missing page at a time, across threads and processes (issue 13).

When a popular page expires or is invalidated under load, every request that misses it
would compute it: 50 requests, 50 times the dashboard's queries. Here the first request
for a key computes it and the others wait for its result in the cache:
- in one process, on a threading.Event (no polling);
- across processes (several `serve`, sharing Redis or the data dir's cache), through a
  lock entry in the shared cache, taken with `add` (atomic on diskcache, Redis and
  Memcached); a process whose requests did not get it polls the cache for the value.
A waiter gives up after `wait` seconds (a leader that died, a page that is never stored:
an error, a 404) and computes the page itself: slower, never wrong. The lock expires on
its own, so a leader killed mid-way holds nobody up for longer than that.
"""
import contextlib
import threading
import time
import uuid


class SingleFlight:
    def __init__(self, backend, wait=10.0, poll=0.005):
        self.backend = backend  # a Flask-Caching backend (cache.cache): get, add, delete
        self.wait = wait
        self.poll = poll
        self._lock = threading.Lock()
        self._local = {}  # key -> Event set when this process's leader is done

    @contextlib.contextmanager
    def turn(self, key, found):
        """Yields found() once another request has computed it, or None: then this
        request computes (and stores) the value inside the `with` block, others wait."""
        with self._lock:
            done = self._local.get(key)
            leader = done is None
            if leader:
                done = self._local[key] = threading.Event()
        if not leader:  # this process's leader computes or waits for another process
            done.wait(self.wait)
            try:
                value = found()
            except Exception:  # the cache is down: compute
                value = None
            yield value
            return
        lock_key, token = f"flight/{key}", uuid.uuid4().hex
        state = {"owned": False}
        try:
            yield self._lead_or_wait(found, lock_key, token, state)
        finally:
            if state["owned"]:
                self._release(lock_key, token)
            with self._lock:
                self._local.pop(key, None)
            done.set()

    def _lead_or_wait(self, found, lock_key, token, state):
        """None when this request computes (the lock is ours, or waiting was in vain, or
        the cache failed); the value when another process computed it meanwhile."""
        deadline = time.monotonic() + self.wait
        try:
            while True:
                if self.backend.add(lock_key, token, timeout=int(self.wait) + 1):
                    state["owned"] = True
                    return found()  # stored between our miss and the lock: no work
                value = found()
                if value is not None or time.monotonic() >= deadline:
                    return value
                time.sleep(self.poll)
        except Exception:  # the cache is down: no coordination, the page still comes
            return None

    def _release(self, lock_key, token):
        try:
            if self.backend.get(lock_key) == token:  # not a lock taken after ours expired
                self.backend.delete(lock_key)
        except Exception:
            pass  # it expires by itself
