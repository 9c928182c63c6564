"""CSV upload and the first-run "load demo data" button."""
from flask import Blueprint, abort, redirect, render_template, request, url_for

from .. import csv_import, demo_data
from ..auth import record_activity

bp = Blueprint("data_import", __name__, url_prefix="/import")


@bp.route("/", methods=["GET", "POST"])
def index():
    errors, result = [], None
    if request.method == "POST":
        kind = request.form.get("kind", "")
        upload = request.files.get("file")
        if kind not in csv_import.KINDS:
            abort(400, f"Unknown kind {kind!r}: choose products, customers or orders.")
        if upload is None or not upload.filename:
            errors = ["file: choose a CSV file to import"]
        else:
            try:
                result = csv_import.import_csv(kind, upload.read())
            except csv_import.ImportFailed as exc:
                errors = exc.errors
            else:
                record_activity(f"Imported {result.rows} {kind} rows "
                                f"({result.created} new, {result.updated} updated)")
    return render_template("import.html", errors=errors, result=result), (400 if errors else 200)


@bp.post("/demo")
def demo():
    try:
        counts = demo_data.load_demo(orders=int(request.form.get("orders", 20000)))
    except (ValueError, demo_data.DemoError) as exc:
        abort(400, str(exc))
    record_activity(f"Loaded demo data ({counts['orders']} orders)")
    return redirect(url_for("dashboard.index"))
