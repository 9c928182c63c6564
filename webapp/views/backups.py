"""The Backups page (owner only): the backups with date, why and size; make one now;
download one; restore one (from inside the app: the cache is cleared and unfinished
jobs are queued again, see webapp.backups.restore)."""
from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   send_file, url_for)

from .. import backups
from ..auth import record_activity
from ..i18n import N_, _

bp = Blueprint("backups", __name__, url_prefix="/backups")


def _backup_or_404(name):
    # Looked up by name in the folder's listing: a path from the request is never opened.
    found = backups.find_backup(current_app.config["DATA_DIR"], name)
    if found is None:
        abort(404, _("There is no such backup."))
    return found


@bp.get("/")
def index():
    try:
        backups.sqlite_path(current_app)
        advice = None
    except backups.BackupError as exc:
        advice = str(exc)
    return render_template("backups.html", advice=advice,
                           backups=backups.list_backups(current_app.config["DATA_DIR"]),
                           keep_daily=current_app.config["LARDER_BACKUP_KEEP_DAILY"],
                           keep_weekly=current_app.config["LARDER_BACKUP_KEEP_WEEKLY"])


@bp.post("/")
def make():
    try:
        path = backups.make_backup(current_app, "manual")
    except backups.BackupError as exc:
        abort(400, _("No backup was made: %(why)s.", why=exc))
    record_activity(N_("Made a backup: %(file)s"), file=path.name)
    flash(_("Backup made and checked: %(name)s.", name=path.name))
    return redirect(url_for(".index"))


@bp.get("/<name>")
def download(name):
    found = _backup_or_404(name)
    return send_file(found.path, mimetype="application/vnd.sqlite3", as_attachment=True,
                     download_name=found.name)


@bp.post("/<name>/restore")
def restore(name):
    found = _backup_or_404(name)
    if request.form.get("confirm") != "yes":
        abort(400, _("Tick the box to confirm the restore: it replaces every order, product "
                     "and customer with the backup's."))
    try:
        result = backups.restore(current_app, found.path)
    except backups.BackupError as exc:
        abort(400, _("Nothing was restored: %(why)s.", why=exc))
    record_activity(N_("Restored the backup %(file)s"), file=found.name)
    flash(_("Restored %(name)s. The database as it was just before is kept as %(copy)s.",
            name=found.name, copy=result["safety_copy"]))
    return redirect(url_for(".index"))
