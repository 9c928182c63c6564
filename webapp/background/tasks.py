"""Celery tasks. Each runs a job body inside the Flask app context (celery_app.FlaskTask)
and keeps the job's durable row in step: running, progress, success or failure.

Beat starts `larder.cleanup` and `larder.sync_inbox` with no job id: their row is made
when they start. Every body is safe to run twice (see webapp.jobs).
"""
import logging
import uuid
from pathlib import Path

from celery import shared_task
from flask import current_app

from . import jobs
from .extensions import db
from .models import Job, now

log = logging.getLogger(__name__)
BY_KIND = {}
TITLES = {"cleanup": "Daily cleanup", "sync": "Hourly inbox sync"}


def data_path(*parts):
    return Path(current_app.config["DATA_DIR"], *parts)


def job_task(name, kind):
    def decorator(body):
        @shared_task(name=name, bind=True)
        def task(self, job_id=None):
            if job_id is None:  # from beat (or a plain .delay()): the row is made now
                job = Job(id=uuid.uuid4().hex, task_id=self.request.id or "", kind=kind,
                          title=TITLES.get(kind, kind), state="running", started_at=now(),
                          attempts=1, worker=self.request.hostname or "")
                db.session.add(job)
                db.session.commit()
            else:
                job = jobs.claim(job_id, self.request.hostname)
                if job is None:
                    return {"skipped": "already finished"}

            def progress(percent, message=""):
                jobs.set_progress(job, percent, message)
                self.update_state(state="PROGRESS",
                                  meta={"progress": int(percent), "message": message})

            try:
                result = body(job, jobs.params(job), progress)
            except Exception as exc:
                db.session.rollback()
                jobs.finish(job, error=exc)
                log.exception("job %s (%s) failed", job.id, name)
                raise
            jobs.finish(job, result=result)
            return result

        BY_KIND[kind] = task
        return task

    return decorator


@shared_task(name="larder.ping")
def ping():
    """A trivial task: worker health checks and the round-trip benchmark."""
    return "pong"


@job_task("larder.report", "report")
def report_task(job, params, progress):
    from . import reports

    start, end = reports.parse_range(params["from"], params["to"])
    path = data_path("reports", f"{job.id}.{params['format']}")
    totals = reports.build_report(start, end, params["format"], path, progress=progress)
    return {"file": path.name, "totals": totals}


@job_task("larder.process_order", "order")
def process_order_task(job, params, progress):
    from . import ordering
    from .invoice_pdf import write_invoice

    order = ordering.process_order(params["order_id"])
    if order is None:
        raise ValueError(f"order {params['order_id']} does not exist")
    if order.status == "processed":
        progress(50, "writing the invoice")
        write_invoice(order, data_path("invoices", f"{order.ref}.pdf"))
        jobs.submit("email", f"Order confirmation {order.ref}",
                    {"template": "order_confirmation", "order_id": order.id},
                    dedup_key=f"email:order:{order.id}")
    return {"order_id": order.id, "ref": order.ref, "status": order.status,
            "reason": order.status_reason}


@job_task("larder.send_email", "email")
def send_email_task(job, params, progress):
    from . import emails

    return emails.send_templated(params)


@job_task("larder.sync_inbox", "sync")
def sync_inbox_task(job, params, progress):
    from .inbox_sync import sync_inbox

    return sync_inbox()


@job_task("larder.cleanup", "cleanup")
def cleanup_task(job, params, progress):
    from .cleanup import cleanup

    return cleanup()
