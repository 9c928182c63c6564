"""The Import page: upload a file (or drop it), see a preview made in the background,
import it for real with a progress bar, cancel; and the first-run "load demo data"
button. The jobs themselves: webapp/import_jobs.py."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from .. import demo_data, import_jobs
from ..auth import current_user, record_activity
from ..background import jobs
from ..errors import size_text
from ..extensions import db
from ..i18n import N_, format_count, gettext, stored
from ..imports import formats
from ..models import Job
from .tasks import task_status

bp = Blueprint("data_import", __name__, url_prefix="/import")
MAX_SHEET = 100


def _form_page(errors=None, status=200):
    """errors: {field: reason}, each shown next to its field."""
    recent = db.session.execute(
        db.select(Job).where(Job.kind == "import").order_by(Job.created_at.desc())
        .limit(10)).scalars().all()
    return render_template("import.html", errors=errors or {}, formats=formats.FORMATS,
                           limit=size_text(import_jobs.max_upload_bytes()),
                           recent=recent), status


def _start(params, preview):
    title = N_("Preview of %(file)s") if preview else N_("Import of %(file)s")
    user = current_user()
    job, _ = jobs.submit("import", stored(title, file=params["file"]),
                         {**params, "dry_run": preview},
                         dedup_key="" if preview else f"import:{params['upload']}",
                         user_id=user.id if user else None)
    return redirect(url_for("data_import.show", job_id=job.id), code=303)


@bp.route("/", methods=["GET", "POST"])
def index():
    if request.method == "GET":
        return _form_page()
    # `kind` is the old form's field (Larder's own layouts): a forced format now.
    chosen = request.form.get("format", "") or request.form.get("kind", "")
    sheet = request.form.get("sheet", "").strip()
    errors = {}
    if chosen and chosen not in formats.BY_NAME:
        errors["format"] = gettext("%(kind)r is not one Larder knows; choose one in the list",
                                   kind=chosen)
    if len(sheet) > MAX_SHEET:
        errors["sheet"] = gettext("at most %(max)s characters", max=MAX_SHEET)
    upload = request.files.get("file")
    if not errors:
        try:
            stored = import_jobs.store_upload(upload)
        except import_jobs.UploadError as exc:
            errors["file"] = str(exc)
    if errors:
        return _form_page(errors, 400)
    return _start({"upload": stored, "file": import_jobs.display_name(upload.filename),
                   "format": chosen, "sheet": sheet}, preview=True)


def _import_job(job_id):
    job = jobs.get_by_task_id(job_id)
    if job is None or job.kind != "import":
        abort(404, gettext("There is no such import."))
    return job


@bp.get("/<job_id>")
def show(job_id):
    job = _import_job(job_id)
    params = jobs.params(job)
    return render_template("import_job.html", job=job, params=params,
                           status=task_status(job), result=jobs.result(job) or {},
                           cancelling=import_jobs.cancel_requested(job.id))


@bp.post("/<job_id>/confirm")
def confirm(job_id):
    job = _import_job(job_id)
    params = jobs.params(job)
    result = jobs.result(job) or {}
    if job.state != "success" or not params.get("dry_run"):
        abort(409, gettext("Only a preview that went through can be imported: upload the file "
                          "again."))
    record_activity(N_("Started importing %(file)s (%(summary)s)"), file=params["file"],
                    summary=result.get("summary", ""))
    flash(gettext("Importing %(file)s: nothing is saved until the whole file is in.",
                  file=params["file"]))
    keep = {k: params[k] for k in ("upload", "file", "format", "sheet")}
    return _start(keep, preview=False)


@bp.post("/<job_id>/cancel")
def cancel(job_id):
    job = _import_job(job_id)
    if not job.finished:
        import_jobs.request_cancel(job.id)
        flash(gettext("Cancelling: nothing of this file will be imported."))
    return redirect(url_for("data_import.show", job_id=job.id), code=303)


@bp.post("/demo")
def demo():
    try:
        counts = demo_data.load_demo(orders=int(request.form.get("orders", 20000)))
    except (ValueError, demo_data.DemoError) as exc:
        abort(400, str(exc))
    record_activity(N_("Loaded demo data (%(orders)s orders)"), orders=counts["orders"])
    flash(gettext("Demo data loaded: %(num)s orders.", num=format_count(counts["orders"])))
    return redirect(url_for("dashboard.index"))
