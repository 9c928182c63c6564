"""The cache page: backend, entries, size, hits and misses; clear one area or all."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from ..auth import record_activity
from ..caching import AREAS, backend_info

bp = Blueprint("cache_admin", __name__, url_prefix="/cache")


@bp.get("/")
def index():
    return render_template("cache.html", info=backend_info(), areas=AREAS)


@bp.post("/clear")
def clear():
    area = request.form.get("area", "")
    if area not in AREAS:
        abort(400, f"Unknown cache area {area!r}.")
    AREAS[area][1]()
    record_activity(f"Cleared cache: {area}")
    flash(f"Cleared: {AREAS[area][0]}.")
    return redirect(url_for(".index"))
