"""Task status polling (GET /api/tasks/<task_id>) and the Tasks page."""
from celery.result import AsyncResult
from flask import Blueprint, abort, current_app, g, jsonify, render_template

from ..background import jobs
from ..extensions import db
from ..i18n import _, say_stored
from ..models import Job
from ..permissions import sees_other_days

bp = Blueprint("tasks", __name__)

JOB_STATES = {"queued": "PENDING", "running": "STARTED", "success": "SUCCESS",
              "failure": "FAILURE"}


def task_status(job):
    """A finished job is told by its row alone (an order short of stock is a FAILURE
    even though its task returned); live progress comes from Celery's AsyncResult."""
    state, progress, message = JOB_STATES[job.state], job.progress, job.message
    if not job.finished:
        result = AsyncResult(jobs.task_id(job), app=current_app.extensions["celery"])
        info = result.info if isinstance(result.info, dict) else {}
        if result.state in ("STARTED", "PROGRESS"):
            state = result.state
        progress = int(info.get("progress", progress))
        message = info.get("message", message)
    body = {"task_id": jobs.task_id(job), "job_id": job.id, "kind": job.kind,
            "title": say_stored(job.title), "state": state,
            "progress": 100 if job.state == "success" else progress, "message": message}
    if job.state == "success":
        body["result"] = jobs.result(job)
    elif job.state == "failure":
        body["error"] = say_stored(job.error)  # in the shop's language, like every error
        if job.result:
            body["result"] = jobs.result(job)
    return body


@bp.get("/api/tasks/<task_id>", endpoint="task_status")
def task_status_view(task_id):
    job = jobs.get_by_task_id(task_id)
    if job is None:
        abort(404, _("There is no such task."))
    if not sees_other_days() and job.user_id != g.user_id:
        # Staff follow their own sales; others' jobs (reports, imports) hold figures.
        abort(403, _("Your account cannot follow other people's jobs."))
    return jsonify(task_status(job))


@bp.get("/tasks/")
def index():
    recent = db.session.execute(
        db.select(Job).order_by(Job.created_at.desc()).limit(100)).scalars().all()
    return render_template("tasks.html", jobs=recent)
