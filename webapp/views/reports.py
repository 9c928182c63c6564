"""Reports: POST /api/reports (202 + status URL), the Reports page, downloads."""

from flask import (Blueprint, abort, flash, g, jsonify, redirect, render_template, request,
                   send_file, url_for)

from .. import report_periods, reports
from ..background import jobs
from ..config import files_folder
from ..auth import record_activity
from ..extensions import db
from ..i18n import N_, gettext, say_stored
from ..money_display import format_moment
from ..models import Job

bp = Blueprint("reports", __name__)


def request_report(start, end, fmt, preset=""):
    """Validate and queue a report; an identical unfinished request returns its job.
    A preset (report_periods) other than "custom" sets the dates from the shop's clock."""
    if fmt not in reports.FORMATS:
        raise reports.ReportError(gettext("unknown format %(format)r: use pdf, csv, json or lines",
                                          format=fmt))
    if preset and preset != report_periods.CUSTOM:
        known = report_periods.current_presets()
        if preset not in known:
            raise reports.ReportError(gettext("unknown period %(period)r: use one of %(known)s",
                                              period=preset[:40],
                                              known=", ".join(report_periods.LABELS)))
        _, first, last = known[preset]
    else:
        first, last = reports.parse_range(start, end)
    job, created = jobs.submit(
        "report", report_periods.report_title(first, last, fmt),
        {"from": first.isoformat(), "to": last.isoformat(), "format": fmt},
        dedup_key=f"report:{first}:{last}:{fmt}", user_id=g.user_id)
    if created:
        record_activity(N_("Requested %(job)s"), job=job.title)
    return job


@bp.post("/api/reports")
def api_create():
    """{"from", "to", "format"} or {"preset": "last_month", "format"}: 202 + status URL."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, gettext("The body must be a JSON object with from, to and format."))
    try:
        job = request_report(str(data.get("from", "")), str(data.get("to", "")),
                             str(data.get("format", "")), str(data.get("preset") or ""))
    except reports.ReportError as exc:
        abort(400, str(exc))
    status_url = url_for("tasks.task_status", task_id=job.task_id)
    return jsonify(report_id=job.id, task_id=job.task_id, status_url=status_url,
                   state=job.state, title=say_stored(job.title),
                   created_at=job.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                   # as the Reports page shows it (the shop's locale), for its script
                   created_text=format_moment(job.created_at, "medium"),
                   download_url=url_for(".download", job_id=job.id)), 202, {"Location": status_url}


@bp.route("/reports/", methods=["GET", "POST"])
def index():
    """Without JavaScript the form posts here; with it, reports.js sends the same fields
    to /api/reports and the page never reloads (progress.js fills the rows in place)."""
    error, form = None, {}
    if request.method == "POST":
        form = request.form.to_dict()
        try:
            job = request_report(form.get("from", ""), form.get("to", ""),
                                 form.get("format", ""), form.get("preset", ""))
        except reports.ReportError as exc:
            error = str(exc)
        else:
            flash(gettext("%(report)s requested: it is being made in the background.",
                          report=say_stored(job.title)))
            return redirect(url_for(".index"))
    past = db.session.execute(
        db.select(Job).filter_by(kind="report").order_by(Job.created_at.desc()).limit(50)
    ).scalars().all()
    return render_template("reports.html", reports=past, error=error, form=form,
                           presets=report_periods.current_presets(),
                           params=jobs.params), (400 if error else 200)


@bp.get("/reports/<job_id>/download")
def download(job_id):
    job = db.session.get(Job, job_id)
    if job is None or job.kind != "report":
        abort(404, gettext("There is no such report."))
    if job.state != "success":
        abort(409, gettext("This report is not ready yet."))
    p = jobs.params(job)
    # The file name comes from our own row, never from the request.
    path = files_folder("reports") / f"{job.id}.{p['format']}"
    if not path.is_file():
        abort(410, gettext("This report's file was removed by the daily cleanup; request it "
                          "again."))
    first, last = reports.parse_range(p["from"], p["to"])
    return send_file(path, mimetype=reports.MIME[p["format"]], as_attachment=True,
                     download_name=reports.report_filename(first, last, p["format"]))
