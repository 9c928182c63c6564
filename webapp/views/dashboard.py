"""The dashboard: cached per user (callable key_prefix), so no one sees another's page."""
from flask import Blueprint, g, render_template

from .. import stats
from ..caching import dashboard_key, only_ok
from ..extensions import cache, db
from ..models import Activity

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@cache.cached(key_prefix=lambda: dashboard_key(), response_filter=only_ok)
def index():
    activity = db.session.execute(
        db.select(Activity).filter_by(user_id=g.user_id)
        .order_by(Activity.created_at.desc(), Activity.id.desc()).limit(10)
    ).scalars().all()
    return render_template("dashboard.html", s=stats.dashboard(), activity=activity,
                           totals=stats.summary(), cached_page=True)
