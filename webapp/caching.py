"""How Larder caches: hit/miss accounting, cache keys, and invalidation by area.

Which invalidation method each area uses, and why (also in docs/caching.md):
- products list (every page, filter and search, cached with its query string): a
  *versioned key*. The variants cannot be listed, so the area's version number is folded
  into every key and a change bumps it; old variants are never read again and expire.
- product detail: a *versioned key* built from the product's `updated_at`, so an edit
  yields a new key on its own; the list's version bump covers stock changes as well.
- `/api/stats` and each user's dashboard: *delete a key*: the keys are known.
- stats queries behind them (`webapp.stats`): *delete_memoized*.
- "clear everything" on the cache page and after a bulk import or demo load: *clear*.
- a shop setting saved on the Settings page: every version bumped, stats invalidated;
  settings from larder.toml or the environment are folded into page keys.
- what a page shows depends on the role (staff see no costs, no buttons they cannot
  use): the role is folded into every shared page key (`role_stamp`), so a page made
  for the owner is never served to staff. The dashboard is per user already.
"""
import threading
import time
from urllib.parse import urlencode

from flask import current_app, g, request
from flask_caching import signals

from .extensions import cache, db


class _Counters:
    """Hits and misses of cached views since this process started."""

    def __init__(self):
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def count(self, hit):
        with self._lock:
            if hit:
                self.hits += 1
            else:
                self.misses += 1


counters = _Counters()


def _on_hit(sender, **kwargs):
    counters.count(True)
    g.x_cache = "HIT"


def _on_miss(sender, **kwargs):
    counters.count(False)
    g.x_cache = "MISS"


signals.cache_view_hit.connect(_on_hit)
signals.cache_view_miss.connect(_on_miss)


def init_app(app):
    @app.after_request
    def add_x_cache(response):
        state = g.get("x_cache")
        if state:
            response.headers["X-Cache"] = state
        return response


def only_ok(response):
    """response_filter for @cache.cached: never keep errors or redirects."""
    return getattr(response, "status_code", 200) == 200


# ---- versioned ("smart") keys ---------------------------------------------------------

def _version_key(area):
    return f"version/{area}"


def area_version(area):
    version = cache.get(_version_key(area))
    if version is None:
        # Start from the clock, not 1: if the version entry is ever evicted, a fresh one
        # must not collide with numbers already folded into cached keys.
        version = time.time_ns()
        if cache.add(_version_key(area), version, timeout=0):
            return version
        current = cache.get(_version_key(area))
        if current is not None:  # another process created it first: use theirs
            return current
        # add refused a key that get cannot read: an expired entry the backend still
        # holds (the stock FileSystemCache keeps the file). Replace it.
        cache.set(_version_key(area), version, timeout=0)
    return version


def bump_version(area):
    area_version(area)  # make sure it exists so inc continues from the clock
    return cache.cache.inc(_version_key(area))


def query_key(area):
    """Key for a list page: area version + path + the sorted, encoded query arguments
    (encoded, so that ?category=a%26page%3D2 and ?category=a&page=2 get different keys).
    Sorted by name only: a repeated name keeps its values' order, as the view reads the
    first (?category=b&category=a is the page of b, not a cached page of a)."""
    args = urlencode(sorted(request.args.items(multi=True), key=lambda item: item[0]))
    return (f"view/{area}/v{area_version(area)}{settings_stamp()}{role_stamp()}"
            f"{request.path}?{args}")


def product_detail_key():
    from .models import Product

    sku = request.view_args["sku"]
    updated = db.session.execute(
        db.select(Product.updated_at).where(Product.sku == sku)
    ).scalar()
    stamp = updated.isoformat() if updated else "missing"
    return (f"view/product/{sku}/{stamp}/v{area_version('products')}{settings_stamp()}"
            f"{role_stamp()}")


def dashboard_key(user_id=None, day=None):
    """Per user and business day (settings.day_starts_at): once a day has ended, its page
    (whose "today" would be yesterday) is never shown again."""
    from .settings import today_business_day

    user_id = g.user_id if user_id is None else user_id
    return (f"view/dashboard/user/{user_id}/{day or today_business_day().isoformat()}"
            f"{settings_stamp()}")


def settings_stamp():
    """Shop settings set in larder.toml or the environment (currency, locale...) change
    how pages look but only at a restart, when no version is bumped: they are folded into
    page keys ("" when there are none, so keys stay as they were)."""
    return current_app.config.get("LARDER_SHOP_STAMP", "")


def role_stamp():
    """The signed-in role, part of every shared page's key (webapp.permissions)."""
    return f"/as-{g.get('role')}"


def stats_api_key():
    return "api/stats"


# ---- invalidation -------------------------------------------------------------------

def invalidate_stats():
    """Totals changed (an order, a product's price or name): refresh stats everywhere."""
    from . import stats
    from .models import User

    for fn in stats.MEMOIZED:
        cache.delete_memoized(fn)
    cache.delete(stats_api_key())
    user_ids = db.session.execute(db.select(User.id)).scalars().all()
    cache.delete_many(*[dashboard_key(uid) for uid in user_ids])


def invalidate_user_dashboard(user_id):
    cache.delete(dashboard_key(user_id))


def products_changed():
    bump_version("products")
    invalidate_stats()


def orders_changed():
    # The product list shows stock, which order processing changes.
    bump_version("products")
    bump_version("customers")
    invalidate_stats()


def customers_changed():
    bump_version("customers")
    invalidate_stats()


def settings_changed():
    """A shop setting changed on the Settings page: the pages that show money (product
    list and detail, dashboards) are remade in its currency and format, and the stats,
    which count business days, are recomputed. The customer list is remade too: its
    words follow the locale (webapp/i18n.py)."""
    bump_version("products")
    bump_version("customers")
    invalidate_stats()


def clear_all():
    return cache.clear()


AREAS = {
    "products": ("Product list and detail pages (versioned keys)", products_changed),
    "customers": ("Customer list pages (versioned keys)", customers_changed),
    "stats": ("Stats API, dashboards and stats queries (delete key, delete_memoized)",
              invalidate_stats),
    "all": ("Everything (clear)", clear_all),
}


def backend_info():
    backend = cache.cache
    info = {
        "backend": f"{type(backend).__module__}.{type(backend).__name__}",
        "hits": counters.hits,
        "misses": counters.misses,
        "entries": None,
        "size_bytes": None,
    }
    if hasattr(backend, "stats"):
        info.update(backend.stats())
    elif hasattr(backend, "_cache") and isinstance(backend._cache, dict):  # SimpleCache
        info["entries"] = len(backend._cache)
    return info
