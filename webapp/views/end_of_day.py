"""The end of the day: the "End of day" page (X-report, "Close the day", past Z-reports),
POST /api/zreports and the downloads GET /api/zreports/<number>.<fmt>.

Closing a day is the owner's and managers' (webapp.permissions); every signed-in user may
see the X-report. Closed days' reports: managers see every day's, staff today's only (no
figures over other days). A download is always the stored file, byte for byte
(webapp.day_close)."""
from io import BytesIO

from flask import (Blueprint, abort, flash, g, jsonify, redirect, render_template, request,
                   send_file, url_for)

from .. import day_close
from ..auth import record_activity
from ..i18n import N_, _
from ..permissions import can, sees_other_days
from ..settings import today_business_day
from ..validation import ValidationError

bp = Blueprint("end_of_day", __name__)


def _urls(row):
    return {fmt: url_for("end_of_day.download", number=row.number, fmt=fmt)
            for fmt in day_close.FORMATS}


def _close(day, user_id):
    row, created = day_close.close_day(day, user_id=user_id)
    if created:
        record_activity(N_("Closed the day %(day)s (Z-report %(number)s)"), day=row.business_day,
                        number=row.number)
    return row, created


def _page(errors=None):
    today = today_business_day()
    reports = day_close.recent()
    if not sees_other_days():
        reports = [row for row in reports if row.business_day == today]
    return render_template(
        "end_of_day.html", x=day_close.x_report(), reports=reports,
        may_close=can("end_of_day.close"), urls=_urls, today=today, errors=errors or {})


@bp.get("/end-of-day")
def index():
    return _page()


@bp.post("/end-of-day/close")
def close():
    try:
        day = day_close.parse_day(request.form.get("date"))
        if request.form.get("confirm") != "yes":
            raise ValidationError({"confirm": "tick the box to confirm: a closed day cannot "
                                              "change"})
        row, created = _close(day, g.user_id)
    except ValidationError as exc:
        return _page(exc.errors), 400
    words = {"day": row.business_day, "number": row.number}
    flash(_("The day %(day)s is closed: Z-report %(number)s.", **words) if created
          else _("The day %(day)s was closed before: Z-report %(number)s.", **words))
    return redirect(url_for(".index"))


@bp.post("/api/zreports")
def api_close():
    """{"date": "YYYY-MM-DD"} -> 201 and the new report, or 200 and the day's first one."""
    from .api import json_body, validation_error

    data = json_body()
    try:
        if set(data) - {"date"}:
            raise ValidationError({sorted(set(data) - {"date"})[0]: "unknown field"})
        row, created = _close(day_close.parse_day(data.get("date")), g.user_id)
    except ValidationError as exc:
        return validation_error(exc)
    body = {**day_close.describe(row), "urls": _urls(row)}
    return jsonify(body), 201 if created else 200, {"Location": _urls(row)["json"]}


@bp.get("/api/zreports/<int:number>.<fmt>")
def download(number, fmt):
    row = day_close.find(number=number)
    if row is None:
        abort(404, _("There is no Z-report number %(number)s.", number=number))
    if fmt not in day_close.FORMATS:
        abort(404, _("Z-reports come as .pdf, .json or .csv."))
    if not sees_other_days() and row.business_day != today_business_day():
        abort(403, _("Your account cannot see the reports of other days."))
    body, mimetype, name = day_close.stored_file(row, fmt)
    response = send_file(BytesIO(body), mimetype=mimetype, as_attachment=fmt != "json",
                         download_name=name, etag=row.sha256 + fmt, max_age=0)
    return response
