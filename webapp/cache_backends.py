"""The default "filesystem cache": a Flask-Caching backend on diskcache.

Why not the stock FileSystemCache: it loses concurrent updates between the web server and
the worker (get-then-set), its file-count bookkeeping drifts, and past its threshold every
set scans the whole folder (see docs/caching.md and bench/cache_backends.py). diskcache
keeps entries in SQLite with atomic increments and a size limit with cheap culling.

A damaged cache (cache.db not a database, or corrupt) must not stop Larder: it holds
nothing that cannot be rebuilt, so the folder is moved aside (`cache.damaged-<time>`) and
a new one made, with a warning in the log.
"""
import logging
import os
import sqlite3
import time

import diskcache
from flask_caching.backends.base import BaseCache
from flask_caching.backends.memcache import MemcachedCache as _StockMemcachedCache


class DiskCache(BaseCache):
    def __init__(self, directory, default_timeout=300, key_prefix="", size_limit=2**28,
                 ignore_delete_many_errors=False):
        super().__init__(default_timeout=default_timeout,
                         ignore_delete_many_errors=ignore_delete_many_errors)
        self.key_prefix = key_prefix
        self._cache = open_cache(
            directory,
            size_limit=size_limit,
            eviction_policy="least-recently-stored",  # no write on every read
            timeout=60,  # SQLite busy timeout: a worker and a server share the file
        )

    @classmethod
    def factory(cls, app, config, args, kwargs):
        kwargs.update(
            directory=config["CACHE_DIR"],
            default_timeout=config["CACHE_DEFAULT_TIMEOUT"],
            key_prefix=config.get("CACHE_KEY_PREFIX") or "",
            size_limit=config.get("LARDER_CACHE_SIZE_LIMIT", 2**28),
        )
        return cls(*args, **kwargs)

    def _expire(self, timeout):
        timeout = self._normalize_timeout(timeout)
        return None if timeout == 0 else timeout  # Flask-Caching: 0 means forever

    def _key(self, key):
        return self.key_prefix + key

    def get(self, key):
        return self._cache.get(self._key(key))

    def set(self, key, value, timeout=None):
        return self._cache.set(self._key(key), value, expire=self._expire(timeout))

    def add(self, key, value, timeout=None):
        return self._cache.add(self._key(key), value, expire=self._expire(timeout))

    def delete(self, key):
        return self._cache.delete(self._key(key))

    def has(self, key):
        return self._key(key) in self._cache

    def get_many(self, *keys):
        return [self.get(k) for k in keys]

    def set_many(self, mapping, timeout=None):
        expire = self._expire(timeout)
        with self._cache.transact():
            for key, value in mapping.items():
                self._cache.set(self._key(key), value, expire=expire)
        return list(mapping)

    def delete_many(self, *keys):
        return [k for k in keys if self.delete(k)]

    def clear(self):
        self._cache.clear()
        return True

    def inc(self, key, delta=1):
        # Atomic across threads and processes (one SQLite transaction).
        return self._cache.incr(self._key(key), delta, default=0)

    def dec(self, key, delta=1):
        return self._cache.decr(self._key(key), delta, default=0)

    # Used by the cache page: what this backend can tell about itself.
    def stats(self):
        self._cache.expire()
        return {"entries": len(self._cache), "size_bytes": self._cache.volume()}

    def expire_old(self):
        """Drop expired entries now (the daily cleanup calls this)."""
        return self._cache.expire()


def _damaged(exc):
    # Not "locked", "unable to open" or "full" (OperationalError): only a file that is
    # not a database or is corrupt.
    return getattr(exc, "sqlite_errorname", None) in ("SQLITE_NOTADB", "SQLITE_CORRUPT") or (
        type(exc) is sqlite3.DatabaseError)


class _RepairLock:
    """An exclusive lock beside the cache folder while it is checked and repaired: the
    server and the worker start together, and only one may move the folder aside."""

    def __init__(self, directory):
        self.path = os.path.normpath(directory) + ".lock"

    def __enter__(self):
        self.fh = open(self.path, "a+")
        if os.name == "nt":
            import msvcrt

            self.fh.seek(0)
            msvcrt.locking(self.fh.fileno(), msvcrt.LK_LOCK, 1)
        else:
            import fcntl

            fcntl.flock(self.fh.fileno(), fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        self.fh.close()


def open_cache(directory, **settings):
    """diskcache.Cache(directory), after moving a damaged cache folder aside."""
    try:
        return diskcache.Cache(directory, **settings)
    except sqlite3.DatabaseError as exc:
        if not _damaged(exc):
            raise
    with _RepairLock(directory):
        try:  # another process may have repaired it while this one waited
            return diskcache.Cache(directory, **settings)
        except sqlite3.DatabaseError as exc:
            if not _damaged(exc):
                raise
            reason = exc
        stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        aside = f"{os.path.normpath(directory)}.damaged-{stamp}"
        os.rename(directory, aside)
        os.mkdir(directory, 0o700)  # the cache unpickles what it reads: the owner's alone
        logging.getLogger(__name__).warning(
            "the cache in %s was damaged (%s): moved to %s and started afresh (it only held "
            "copies; %s can be deleted)", directory, reason, aside, aside)
        return diskcache.Cache(directory, **settings)


class MemcachedCache(_StockMemcachedCache):
    """The stock Memcached backend with an atomic inc (memcached's own incr).

    cachelib's inc is get-then-set: two processes bumping a version at once can both
    write the same number, and the second change would not invalidate anything.
    """

    def inc(self, key, delta=1):
        if delta < 0:
            return self.dec(key, -delta)
        full_key = self._normalize_key(key)
        with self._client_context() as client:
            for _ in range(3):
                try:
                    value = client.incr(full_key, delta)
                except Exception as exc:  # pylibmc raises NotFound, python-memcached None
                    if type(exc).__name__ != "NotFound":
                        raise
                    value = None
                if value is not None:
                    return int(value)
                # Missing: create it, unless another process just did (then incr again).
                if client.add(full_key, delta, self._normalize_timeout(None)):
                    return delta
        return None
