"""How Larder caches: hit/miss accounting, cache keys, and invalidation by area.

Which invalidation method each area uses, and why (also in docs/caching.md):
- products list (every page, filter and search, cached with its query string): a
  *versioned key*. The variants cannot be listed, so the area's version number is folded
  into every key and a change bumps it; old variants are never read again and expire.
- product detail: a *versioned key* built from the product's `updated_at`, so an edit
  yields a new key on its own; the list's version bump covers stock changes as well.
- `/api/stats` and each user's dashboard: *versioned keys* too: the "stats" version (and,
  for a dashboard, its user's own version, bumped by their activity). A page computed
  while a change was being made is stored under the old version, never read again.
- stats queries behind them (`webapp.stats`): memoized under a name that holds the
  "stats" version (`stats_name`), so the one bump refreshes them too.
- "clear everything" on the cache page and after a bulk import or demo load: *clear*.
- a shop setting saved on the Settings page (currency, language...): every area's version
  bumped, stats invalidated; settings from larder.toml or the environment are folded
  into page keys.
- what a page shows depends on the role (staff see no costs, no buttons they cannot
  use): the role is folded into every shared page key (`role_stamp`), so a page made
  for the owner is never served to staff. The dashboard is per user already.
- every cached response carries an ETag (the key, which holds the versions, and the body
  as sent) and answers a matching If-None-Match with 304 (`conditional`).
The key functions take their inputs as arguments too, so that webapp.fast_path computes
the very same keys (PAGE_KEYS) without a Flask request.
"""
import hashlib
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


def _on_hit(sender, cache_key=None, **kwargs):
    counters.count(True)
    g.x_cache, g.cache_key = "HIT", cache_key


def _on_miss(sender, cache_key=None, **kwargs):
    counters.count(False)
    g.x_cache, g.cache_key = "MISS", cache_key


signals.cache_view_hit.connect(_on_hit)
signals.cache_view_miss.connect(_on_miss)


def init_app(app):
    # Registered first, so it runs last: the body is the one sent (menu, messages and
    # banner filled, costs stripped), which is what the ETag must name.
    @app.after_request
    def add_x_cache(response):
        state = g.get("x_cache")
        if state:
            response.headers["X-Cache"] = state
            if response.status_code == 200 and not response.direct_passthrough:
                conditional(response, g.get("cache_key") or "", request.if_none_match)
        return response


# ---- conditional requests -------------------------------------------------------------

CACHE_CONTROL = "private, no-cache"  # one user's copy; the browser asks again each time


def etag_for(key, body):
    """Derived from the cache key (which holds the area versions) and the body as sent
    (the menu, messages and worker banner filled in): an edit changes the key, a message
    or the banner changes the body."""
    return hashlib.sha1(key.encode() + b"\0" + body).hexdigest()[:32]


def conditional(response, key, if_none_match):
    """ETag and Cache-Control on a cached response; 304 when the client has it already."""
    tag = etag_for(key, response.get_data())
    response.set_etag(tag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    if if_none_match.contains_weak(tag):
        response.status_code = 304  # werkzeug drops the body and its headers
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


def shared_between_processes():
    """Does this backend hold what every process of the shop sees? Not SimpleCache (this
    process's dict) nor NullCache (keeps nothing): what is kept in a process behind a
    version (the settings, webapp.settings) then goes back to the database each time."""
    from flask_caching.backends import NullCache, SimpleCache

    return not isinstance(cache.cache, (SimpleCache, NullCache))


def bump_version(area):
    area_version(area)  # make sure it exists so inc continues from the clock
    return cache.cache.inc(_version_key(area))


def query_key(area, path=None, args=None, role=None):
    """Key for a list page: area version + path + the sorted, encoded query arguments
    (encoded, so that ?category=a%26page%3D2 and ?category=a&page=2 get different keys).
    Sorted by name only: a repeated name keeps its values' order, as the view reads the
    first (?category=b&category=a is the page of b, not a cached page of a).
    Without arguments: this request's path, arguments and role."""
    path = request.path if path is None else path
    args = request.args if args is None else args
    query = urlencode(sorted(args.items(multi=True), key=lambda item: item[0]))
    return (f"view/{area}/v{area_version(area)}{settings_stamp()}{role_stamp(role)}"
            f"{path}?{query}")


def product_detail_key(sku=None, role=None):
    from .models import Product

    sku = request.view_args["sku"] if sku is None else sku
    updated = db.session.execute(
        db.select(Product.updated_at).where(Product.sku == sku)
    ).scalar()
    stamp = updated.isoformat() if updated else "missing"
    return (f"view/product/{sku}/{stamp}/v{area_version('products')}{settings_stamp()}"
            f"{role_stamp(role)}")


def dashboard_key(user_id=None, day=None):
    """Per user and business day (settings.day_starts_at): once a day has ended, its page
    (whose "today" would be yesterday) is never shown again. The stats version and the
    user's own version (their activity list) are folded in."""
    from .settings import today_business_day

    user_id = g.user_id if user_id is None else user_id
    return (f"view/dashboard/user/{user_id}/v{area_version('stats')}"
            f".{area_version(f'user/{user_id}')}"
            f"/{day or today_business_day().isoformat()}{settings_stamp()}")


def settings_stamp():
    """Shop settings set in larder.toml or the environment (currency, locale...) change
    how pages look but only at a restart, when no version is bumped: they are folded into
    page keys ("" when there are none, so keys stay as they were)."""
    return current_app.config.get("LARDER_SHOP_STAMP", "")


def role_stamp(role=None):
    """The signed-in role, part of every shared page's key (webapp.permissions)."""
    return f"/as-{g.get('role') if role is None else role}"


def stats_api_key():
    return f"api/stats/v{area_version('stats')}{settings_stamp()}"


# What webapp.fast_path needs to find a page without a Flask request: for each cached
# endpoint, its key from (path, query args, URL arguments, role, user id). The views
# compute the same keys through the wrappers above (tests/test_fast_path.py runs both).
PAGE_KEYS = {
    "products.index": lambda path, args, view_args, role, user_id: query_key(
        "products", path, args, role),
    "customers.index": lambda path, args, view_args, role, user_id: query_key(
        "customers", path, args, role),
    "products.detail": lambda path, args, view_args, role, user_id: product_detail_key(
        view_args["sku"], role),
    "dashboard.index": lambda path, args, view_args, role, user_id: dashboard_key(user_id),
    "api.stats_view": lambda path, args, view_args, role, user_id: stats_api_key(),
}


# ---- invalidation -------------------------------------------------------------------

def stats_name(fname):
    """make_name of the memoized stats queries: their keys hold the "stats" version, read
    before the query runs (a result computed while a change is made is stored under the
    old version, never read again)."""
    return f"{fname}/v{area_version('stats')}"


def invalidate_stats():
    """Totals changed (an order, a product's price or name): refresh stats everywhere
    (the stats API, every user's dashboard and the stats queries hold the "stats"
    version: one write, where a delete_memoized per query took twelve commands)."""
    bump_version("stats")


def sale_recorded():
    """A new sale (pending): only the figures change. Its stock is taken when it is
    processed (which bumps the product pages then), and the customer list shows no
    orders."""
    invalidate_stats()


def invalidate_user_dashboard(user_id):
    bump_version(f"user/{user_id}")


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
    """A shop setting changed on the Settings page: every page is remade in its currency,
    format and language (the customer list shows no money, but its words are in the
    shop's language), and the stats, which count business days, are recomputed."""
    bump_version("products")
    bump_version("customers")
    invalidate_stats()


def clear_all():
    return cache.clear()


AREAS = {
    "products": ("Product list and detail pages (versioned keys)", products_changed),
    "customers": ("Customer list pages (versioned keys)", customers_changed),
    "stats": ("Stats API, dashboards and stats queries (versioned keys)",
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
