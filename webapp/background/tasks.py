"""Celery tasks. Each runs a job body inside the Flask app context (celery_app.FlaskTask)
and keeps the job's durable row in step (webapp.background.jobs): running, progress,
success or failure. This module imports jobs, never the reverse.

Beat starts `larder.cleanup` and `larder.sync_inbox` with no job id: their row is made
when they start, under the task's id. Every body is safe to run twice. Beat's
`larder.sweep` (every minute) has no row: it queues what was recorded but not queued.
"""
import logging
import random

from celery import shared_task

from . import jobs
from ..config import files_folder
from ..errors import is_transient_db_error
from ..extensions import db
from ..i18n import N_, stored

log = logging.getLogger(__name__)
# Stored in English, shown in the shop's language (webapp.i18n.say_stored).
TITLES = {"cleanup": N_("Daily cleanup"), "sync": N_("Hourly inbox sync"),
          "backup": N_("Daily backup"), "low_stock": N_("Daily low-stock email"),
          "dayclose": N_("Close yesterday (Z-report)")}
# A job that meets a deadlock or a serialization conflict (PostgreSQL, several processes
# at once) is run again, not failed: its transaction was rolled back whole.
MAX_RETRIES = 8


def retry_delay(retries):
    """Seconds before the next try: 0.1, 0.2, 0.4 ... 5 s, with jitter (so the jobs that
    met each other do not meet again)."""
    return min(0.1 * 2 ** retries, 5.0) * random.uniform(0.5, 1.5)


def job_task(name, kind, progress_in_row=True):
    """progress_in_row=False: progress goes to Celery's result store only (the status
    endpoint reads it there), for a body that holds a database transaction open the
    whole time (an import: committing the row would commit its work half done)."""
    def decorator(body):
        @shared_task(name=name, bind=True, max_retries=MAX_RETRIES)
        def task(self, job_id=None):
            if job_id is None:  # from beat (or a plain .delay()): the row is made now
                job = jobs.start_scheduled(kind, TITLES.get(kind, kind), self.request.id,
                                           self.request.hostname)
            else:
                job = jobs.claim(job_id, self.request.hostname)
            if job is None:
                return {"skipped": "already finished"}

            def progress(percent, message=""):
                if progress_in_row:
                    jobs.set_progress(job, percent, message)
                self.update_state(state="PROGRESS",
                                  meta={"progress": int(percent), "message": message})

            try:
                result = body(job, jobs.params(job), progress)
            except jobs.JobFailed as exc:
                # An expected end (e.g. not enough stock): a failed job, not a crash.
                db.session.rollback()
                jobs.finish(job, result=exc.result, error=exc)
                log.info("job %s (%s) failed: %s", job.id, name, exc)
                return exc.result
            except Exception as exc:
                db.session.rollback()
                if is_transient_db_error(exc) and self.request.retries < MAX_RETRIES:
                    jobs.retry_later(job, "the database was busy: trying again")
                    log.warning("job %s (%s): %s; trying again", job.id, name,
                                str(exc).splitlines()[0])
                    raise self.retry(countdown=retry_delay(self.request.retries))
                jobs.finish(job, error=exc)
                log.exception("job %s (%s) failed", job.id, name)
                raise
            jobs.finish(job, result=result)
            return result

        return jobs.register(kind, task)

    return decorator


@shared_task(name="larder.sweep", ignore_result=True)
def sweep_task(grace_seconds=None):
    """Every minute (beat): send again the jobs whose message was lost, and queue each
    pending order that has no job (webapp.background.outbox). No job row of its own (it
    would fill the jobs list) and no result."""
    from . import outbox

    return outbox.sweep(outbox.GRACE_SECONDS if grace_seconds is None else grace_seconds)


@shared_task(name="larder.ping")
def ping():
    """A trivial task: worker health checks and the round-trip benchmark."""
    return "pong"


@job_task("larder.report", "report")
def report_task(job, params, progress):
    from .. import reports

    start, end = reports.parse_range(params["from"], params["to"])
    path = files_folder("reports") / f"{job.id}.{params['format']}"
    totals = reports.build_report(start, end, params["format"], path, progress=progress)
    return {"file": path.name, "totals": totals}


@job_task("larder.process_order", "order")
def process_order_task(job, params, progress):
    from .. import ordering
    from ..invoice_pdf import write_invoice

    if ordering.process_order(params["order_id"]) is None:
        raise ValueError(f"order {params['order_id']} does not exist")
    order = ordering.load_for_invoice(params["order_id"])  # lines and products at once
    if order.status == "processed":
        # No progress step (a commit and a result write per order): an order takes a
        # fraction of a second, and the worker's rate is the shop's at busy times.
        write_invoice(order, files_folder("invoices") / f"{order.ref}.pdf")
        # A walk-in sale, or a customer known only by a till's id, has no one to write to.
        if order.customer is not None and order.customer.email:
            jobs.submit("email", stored(N_("Order confirmation %(ref)s"), ref=order.ref),
                        {"template": "order_confirmation", "order_id": order.id},
                        dedup_key=f"email:order:{order.id}")
    result = {"order_id": order.id, "ref": order.ref, "status": order.status,
              "reason": order.status_reason}
    if order.status == "failed":
        raise jobs.JobFailed(stored(N_("Order %(ref)s was not processed: %(reason)s"),
                                    ref=order.ref, reason=order.status_reason), result)
    return result


@job_task("larder.send_email", "email")
def send_email_task(job, params, progress):
    from .. import emails

    return emails.send_templated(params)


@job_task("larder.sync_inbox", "sync")
def sync_inbox_task(job, params, progress):
    from ..inbox_sync import sync_inbox

    return sync_inbox()


@job_task("larder.import", "import", progress_in_row=False)
def import_task(job, params, progress):
    from ..import_jobs import run

    return run(job, params, progress)


@job_task("larder.cleanup", "cleanup")
def cleanup_task(job, params, progress):
    from ..cleanup import cleanup

    return cleanup()


@job_task("larder.backup", "backup")
def backup_task(job, params, progress):
    from ..backups import daily_backup

    return daily_backup()


@job_task("larder.low_stock_digest", "low_stock")
def low_stock_digest_task(job, params, progress):
    from ..low_stock import send_digest

    return send_digest()


@job_task("larder.close_day", "dayclose")
def close_day_task(job, params, progress):
    from ..day_close import auto_close

    return auto_close()  # does nothing unless the owner turned auto_close_day on
