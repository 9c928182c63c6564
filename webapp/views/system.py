"""The System page: the shop's background work in plain words, in one place.

It gathers what used to be four developer pages (they stay, each linked from here, and
say the same things in the same words; who may open it: webapp.permissions): background jobs (/tasks/), emails written
(/outbox/), scheduled jobs (/schedules/) and the saved copies of pages (/cache/).
"""
from flask import Blueprint, current_app, render_template

from .. import emails
from ..background import status as worker_status
from ..caching import backend_info
from ..extensions import db
from ..i18n import N_, _
from ..models import Job
from .cache_admin import CLEAR, storage_words
from .schedules import entries

bp = Blueprint("system", __name__, url_prefix="/system")

WORKER_WORDS = {
    "ok": N_("Running: reports, emails, imports and scheduled jobs are done in the "
             "background."),
    "starting": N_("Starting: background work begins in a few seconds."),
    "down": N_("Stopped: reports, order processing and emails wait until it runs again."),
}


@bp.get("/")
def index():
    recent = db.session.execute(
        db.select(Job).order_by(Job.created_at.desc()).limit(8)).scalars().all()
    state = worker_status.worker_state(current_app)
    return render_template("system.html", worker=_(WORKER_WORDS.get(state, WORKER_WORDS["down"])),
                           worker_ok=state == "ok", jobs=recent, emails=emails.listing(5),
                           schedules=entries(), info=backend_info(),
                           storage=storage_words(backend_info()["backend"]), clear=CLEAR)
