"""Task status polling (GET /api/tasks/<task_id>) and the Tasks page."""
from celery.result import AsyncResult
from flask import Blueprint, abort, current_app, jsonify, render_template

from .. import jobs
from ..extensions import db
from ..models import Job

bp = Blueprint("tasks", __name__)

# Celery's state when the job row knows better (the result expired or was never stored).
JOB_STATES = {"queued": "PENDING", "running": "STARTED", "success": "SUCCESS",
              "failure": "FAILURE"}


def task_status(job):
    """Celery's view of the task (AsyncResult), completed by the job's durable row."""
    result = AsyncResult(job.task_id, app=current_app.extensions["celery"])
    state = result.state
    info = result.info if isinstance(result.info, dict) else {}
    if state == "PENDING" or job.finished:
        state = JOB_STATES[job.state]
    body = {"task_id": job.task_id, "job_id": job.id, "kind": job.kind, "title": job.title,
            "state": state, "progress": 100 if job.state == "success"
            else int(info.get("progress", job.progress)),
            "message": info.get("message", job.message)}
    if job.state == "success":
        body["result"] = jobs.result(job)
    elif job.state == "failure":
        body["error"] = job.error
    return body


@bp.get("/api/tasks/<task_id>", endpoint="task_status")
def task_status_view(task_id):
    job = jobs.get_by_task_id(task_id)
    if job is None:
        abort(404, "There is no such task.")
    return jsonify(task_status(job))


@bp.get("/tasks/")
def index():
    recent = db.session.execute(
        db.select(Job).order_by(Job.created_at.desc()).limit(100)).scalars().all()
    return render_template("tasks.html", jobs=recent)
