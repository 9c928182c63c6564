"""User-visible background jobs: a durable row per job, sent to Celery with .delay().

States: queued -> running -> success | failure. The row, not the broker message, is the
record: the local broker forgets a message once fetched, so a worker that starts queues
again every job left queued or running (`requeue_unfinished`), and every job body is
safe to run twice.
"""
import json
import logging
import uuid


from .extensions import db
from .models import Job, now

log = logging.getLogger(__name__)
UNFINISHED = ("queued", "running")


def _task(kind):
    from . import tasks

    return tasks.BY_KIND[kind]


def submit(kind, title, params, dedup_key="", user_id=None):
    """Create and queue a job; an unfinished job with the same dedup_key is returned
    instead. Returns (job, created)."""
    if dedup_key:
        existing = db.session.execute(
            db.select(Job).where(Job.dedup_key == dedup_key, Job.state.in_(UNFINISHED))
        ).scalar()
        if existing is not None:
            return existing, False
    job = Job(id=uuid.uuid4().hex, kind=kind, title=title, params=json.dumps(params),
              dedup_key=dedup_key, user_id=user_id, state="queued")
    db.session.add(job)
    db.session.commit()
    send(job)
    return job, True


def send(job):
    """Queue the job's task; the task id is stored so /api/tasks/<id> can find it.

    Queued again (after a crash), it keeps its task id, so status URLs stay valid."""
    if job.task_id:
        return _task(job.kind).apply_async(args=[job.id], task_id=job.task_id)
    result = _task(job.kind).delay(job.id)
    job.task_id = result.id
    db.session.commit()
    return result


def get_by_task_id(task_id):
    return db.session.execute(db.select(Job).filter_by(task_id=task_id)).scalar()


def claim(job_id, worker=""):
    """Mark a job running; None when it is finished already (a duplicate delivery)."""
    job = db.session.get(Job, job_id)
    if job is None or job.finished:
        return None
    job.state = "running"
    job.worker = worker or ""
    job.started_at = now()
    job.attempts += 1
    job.error = ""
    db.session.commit()
    return job


def set_progress(job, percent, message=""):
    percent = max(0, min(100, int(percent)))
    if percent != job.progress or message != job.message:
        job.progress = percent
        job.message = message[:300]
        db.session.commit()


def finish(job, result=None, error=None):
    job.finished_at = now()
    if error is None:
        job.state, job.progress = "success", 100
        job.result = json.dumps(result if result is not None else {})
    else:
        job.state, job.error = "failure", str(error)[:2000]
    db.session.commit()


def requeue_unfinished(purge_local_queue=None, worker=None):
    """At worker start (local broker): queue again every job left queued or running.

    The queue is purged first, so a job whose message survived is not sent twice.
    With `worker`, only the jobs that node was running (it died; the others live on).
    """
    if purge_local_queue is not None:
        purge_local_queue()
    select = db.select(Job).where(Job.state.in_(UNFINISHED)).order_by(Job.created_at)
    if worker is not None:
        select = select.where(Job.state == "running", Job.worker == worker)
    jobs = db.session.execute(select).scalars().all()
    for job in jobs:
        job.state = "queued"
        send(job)
    if jobs:
        log.info("queued again %d unfinished job(s)", len(jobs))
    return len(jobs)


def params(job):
    return json.loads(job.params or "{}")


def result(job):
    return json.loads(job.result) if job.result else None
