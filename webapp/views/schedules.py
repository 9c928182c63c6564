"""Scheduled jobs (what the background worker does by itself at set times), shown in
plain words, each with a "Run now" button."""
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, url_for

from ..auth import record_activity
from ..background import jobs
from ..extensions import db
from ..i18n import N_, gettext, stored
from ..models import Job

bp = Blueprint("schedules", __name__, url_prefix="/schedules")

# What each scheduled job does, for the shop (the names are the configuration's).
WORDS = {
    "daily-cleanup": N_("Tidy up: remove old report files, emails, uploads and finished jobs"),
    "hourly-sync": N_("Bring in the CSV files put in the inbox folder"),
    "daily-backup": N_("Back up the shop's data"),
    "daily-low-stock": N_("Email the products low in stock (when switched on in Settings)"),
    "daily-close": N_("Close yesterday's business day (when switched on in Settings)"),
}


def words(name):
    return gettext(WORDS[name]) if name in WORDS else name.replace("-", " ").capitalize()


def entries():
    items = []
    for name, entry in current_app.config["CELERY"]["beat_schedule"].items():
        kind = jobs.kind_of_task(entry["task"])
        if kind is None:  # housekeeping with no job of its own (the minute's sweep)
            continue
        last = db.session.execute(
            db.select(Job).filter_by(kind=kind).order_by(Job.created_at.desc()).limit(1)
        ).scalar()
        items.append({"name": name, "task": entry["task"], "kind": kind, "what": words(name),
                      "schedule": describe(entry["schedule"]), "last": last})
    return items


def describe(schedule):
    if isinstance(schedule, (int, float)):  # an interval (larder.toml can set one)
        seconds = f"{schedule:g}"
        return gettext("every %(n)s seconds", n=seconds)
    minute, hour = schedule._orig_minute, schedule._orig_hour
    if hour == "*":
        return gettext("every hour at minute %(minute)s", minute=minute)
    clock = f"{int(hour):02d}:{int(minute):02d}"
    return gettext("every day at %(time)s", time=clock)


@bp.get("/")
def index():
    return render_template("schedules.html", entries=entries())


@bp.post("/<name>/run")
def run_now(name):
    schedule = current_app.config["CELERY"]["beat_schedule"]
    kind = jobs.kind_of_task(schedule[name]["task"]) if name in schedule else None
    if kind is None:
        abort(404, gettext("There is no such schedule."))
    english = WORDS.get(name) or words(name)  # stored in English, shown translated
    job, _ = jobs.submit(kind, stored(N_("%(job)s (run now)"), job=english), {},
                         dedup_key=f"schedule:{name}", user_id=g.user_id)
    record_activity(N_("Ran now: %(job)s"), job=english)
    flash(gettext("Started now: %(job)s. Its progress is shown below.", job=words(name)))
    return redirect(url_for("tasks.index"))
