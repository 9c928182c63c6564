"""Saved copies of pages (the cache): where they are kept, how many, how often a page was
served from a copy; clear the copies of one kind of page or all (a page is simply made
again on its next visit). Plain words here; the methods behind them: webapp/caching.py."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from ..auth import record_activity
from ..i18n import N_, _
from ..caching import AREAS, backend_info

bp = Blueprint("cache_admin", __name__, url_prefix="/cache")

# area -> (button, what it does, the message after): the areas of webapp.caching.AREAS.
CLEAR = {
    "products": (N_("Clear the saved copies of product pages"),
                 N_("The product list and each product's page are made again on their next "
                    "visit."),
                 N_("The saved copies of product pages are cleared.")),
    "customers": (N_("Clear the saved copies of customer pages"),
                  N_("The customer list is made again on its next visit."),
                  N_("The saved copies of customer pages are cleared.")),
    "stats": (N_("Recount the dashboard figures"),
              N_("The dashboard's totals and charts are counted again from the orders."),
              N_("The dashboard figures will be counted again on the next visit.")),
    "all": (N_("Clear every saved copy"),
            N_("Every page is made again on its next visit: the first visits are slower."),
            N_("Every saved copy is cleared.")),
}
assert set(CLEAR) == set(AREAS)


def storage_words(backend):
    """Where the copies are kept, said for a shop owner (not the class name)."""
    name = backend.rsplit(".", 1)[-1].lower()
    if "redis" in name:
        return _("on the Redis server set up for Larder")
    if "memcache" in name:
        return _("on the Memcached server set up for Larder")
    if "null" in name:
        return _("nowhere: saving copies of pages is switched off")
    if "simple" in name:
        return _("in Larder's memory (lost when Larder stops)")
    return _("in Larder's data folder on this computer")


@bp.get("/")
def index():
    info = backend_info()
    return render_template("cache.html", info=info, storage=storage_words(info["backend"]),
                           clear=CLEAR)


@bp.post("/clear")
def clear():
    area = request.form.get("area", "")
    if area not in AREAS:
        abort(400, _("There is nothing called %(area)r to clear.", area=area))
    AREAS[area][1]()
    record_activity(CLEAR[area][0])
    flash(_(CLEAR[area][2]))
    return redirect(url_for(".index"))
