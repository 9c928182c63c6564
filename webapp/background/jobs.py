"""User-visible background jobs: one durable row per job, the one place its state lives.

States: queued -> running -> success | failure. A job has one id: the row's id is the
Celery task id (rows made before that rule keep their own `task_id`, still honoured).
The row, not the broker message, is the record: a worker that starts queues again every
job left queued or running (`requeue_unfinished`), and every job body is safe to run
twice.

This module owns the task registry (`REGISTRY`, kind -> Celery task): `tasks.py`
registers its tasks here, and this module never imports `tasks.py`.
"""
import json
import logging
import uuid

from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Job, now

log = logging.getLogger(__name__)
UNFINISHED = ("queued", "running")
REGISTRY = {}  # kind -> Celery task, filled by webapp.background.tasks


class JobFailed(Exception):
    """A job body's expected failure (e.g. an order short of stock): the job ends as a
    failure with this message, and `result` is kept; no traceback is logged."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result


def register(kind, task):
    REGISTRY[kind] = task
    return task


def kind_of_task(task_name):
    return {task.name: kind for kind, task in REGISTRY.items()}.get(task_name)


def submit(kind, title, params, dedup_key="", user_id=None):
    """Create and queue a job; an unfinished job with the same dedup_key is returned
    instead. Returns (job, created). The check alone cannot see a job another process is
    making at the same moment: the unique `active_key` decides, and the loser returns the
    winner's job."""
    for _ in range(3):  # the winner may finish between our failed insert and our look
        if dedup_key:
            existing = db.session.execute(
                db.select(Job).where(Job.active_key == dedup_key)).scalar()
            if existing is not None:
                return existing, False
        job = new(kind, title, params, dedup_key, user_id)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            if not dedup_key:
                raise
            continue
        hand_over(job)
        return job, True
    raise RuntimeError(f"could not queue the job {dedup_key!r}")


def new(kind, title, params, dedup_key="", user_id=None):
    """A queued job's row, added to the session, not committed: the caller commits it with
    the change it belongs to (an order and its processing job in one transaction: the row
    is the outbox), then calls hand_over."""
    job_id = uuid.uuid4().hex
    job = Job(id=job_id, task_id=job_id, kind=kind, title=title, params=json.dumps(params),
              dedup_key=dedup_key, active_key=dedup_key or None, user_id=user_id,
              state="queued")
    db.session.add(job)
    return job


def hand_over(job):
    """Send a committed job's message. A broker that cannot take it now (Redis down, the
    queue folder not writable) is logged, not raised: the job is recorded, and the sweep
    (webapp.background.outbox) sends it once the broker is back. True when sent."""
    try:
        send(job)
    except Exception as exc:  # noqa: BLE001  (any transport's failure: the row stays)
        log.warning("job %s (%s) is recorded but could not be queued now (%s: %s); the "
                    "sweep will queue it", job.id, job.title, type(exc).__name__, exc)
        return False
    return True


def task_id(job):
    return job.task_id or job.id


def send(job):
    """Queue the job's task under the job's id; queued again (after a crash) it keeps
    that id, so status URLs stay valid."""
    return REGISTRY[job.kind].apply_async(args=[job.id], task_id=task_id(job))


def get_by_task_id(tid):
    """The job of a task id: the job's own id, or an older row's separate task id."""
    job = db.session.get(Job, tid)
    if job is None:
        job = db.session.execute(db.select(Job).filter_by(task_id=tid)).scalar()
    return job


def start_scheduled(kind, title, tid, worker=""):
    """A task sent without a job (by beat): its row is made as it starts, with the
    task's id as the job's id."""
    job = db.session.get(Job, tid) if tid else None
    if job is not None:
        return claim(job.id, worker)
    tid = tid or uuid.uuid4().hex
    job = Job(id=tid, task_id=tid, kind=kind, title=title, state="running",
              started_at=now(), attempts=1, worker=worker or "")
    db.session.add(job)
    db.session.commit()
    return job


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


def retry_later(job, message):
    """Back to queued (its task is sent again, same id): a failure of the moment."""
    job.state, job.message = "queued", message[:300]
    db.session.commit()


def set_progress(job, percent, message=""):
    percent = max(0, min(100, int(percent)))
    if percent != job.progress or message != job.message:
        job.progress = percent
        job.message = message[:300]
        db.session.commit()


def finish(job, result=None, error=None):
    """Success (progress 100) or failure (the error is what is shown). The last step's
    text is cleared either way: it described work in progress."""
    job.finished_at = now()
    job.active_key = None  # the same request may now make a new job
    job.message = ""
    if result is not None or error is None:
        job.result = json.dumps(result if result is not None else {})
    if error is None:
        job.state, job.progress = "success", 100
    else:
        job.state, job.error = "failure", str(error)[:2000]
    db.session.commit()


def requeue_unfinished(purge_local_queue=None):
    """At worker start (local broker): queue again every job left queued or running.

    The queue is purged first, so a job whose message survived is not sent twice. (A
    node that dies alone needs none of this: its fetched messages are put back, see
    broker.restore_node_messages.)
    """
    if purge_local_queue is not None:
        purge_local_queue()
    select = db.select(Job).where(Job.state.in_(UNFINISHED)).order_by(Job.created_at)
    jobs = db.session.execute(select).scalars().all()
    for job in jobs:
        job.state = "queued"
        db.session.commit()
        send(job)
    if jobs:
        log.info("queued again %d unfinished job(s)", len(jobs))
    return len(jobs)


def params(job):
    return json.loads(job.params or "{}")


def result(job):
    return json.loads(job.result) if job.result else None
