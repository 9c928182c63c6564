"""Imports started from the Import page: the upload is kept under a name Larder makes in
DATA_DIR/uploads, then background jobs (kind "import") run the engine on it, first as a
preview (dry run), then for real once the owner confirms.

Cancelling writes a flag file beside the upload (`<job id>.cancel`); the engine asks
`cancelled()` as it goes and stops without writing. A file, not a column of the job's
row: the engine reads it from inside its own open transaction, where a SQLite reader
would keep seeing the row as it was when the transaction began.
"""
import re
import uuid
from pathlib import Path

from flask import current_app

from .background.jobs import JobFailed
from .config import UPLOADS, files_folder

SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx")
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(csv|tsv|txt|xlsx)$")
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
CANCELLED = "Cancelled: nothing was imported."


class UploadError(ValueError):
    """The upload cannot be used; str() is the reason, for the form."""


def uploads_dir():
    return files_folder(UPLOADS)


def max_upload_bytes():
    return int(current_app.config["MAX_CONTENT_LENGTH"])


def display_name(filename):
    """The sender's file name, only ever shown (escaped), never used as a path: its last
    part, control characters dropped, at most 100 characters."""
    last = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in last if ch.isprintable())[:100] or "file"


def store_upload(upload):
    """Save a werkzeug FileStorage as uploads/<random>.<suffix> (the suffix only when it is
    one Larder reads; the reader goes by the file's first bytes anyway). Returns the
    stored name."""
    if upload is None or not upload.filename:
        raise UploadError("choose a file to import")
    suffix = Path(display_name(upload.filename)).suffix.lower()
    name = uuid.uuid4().hex + (suffix if suffix in SUFFIXES else ".csv")
    path = uploads_dir() / name
    upload.save(str(path))  # copied in chunks: werkzeug spooled a big file to disk
    if path.stat().st_size == 0:
        path.unlink()
        raise UploadError("the file is empty")
    return name


def upload_path(name):
    if not STORED_NAME.match(name or ""):
        raise UploadError("no such upload")
    return uploads_dir() / name


def _flag(job_id):
    if not JOB_ID.match(job_id or ""):
        raise ValueError(f"not a job id: {job_id!r}")
    return uploads_dir() / f"{job_id}.cancel"


def request_cancel(job_id):
    _flag(job_id).touch()


def cancel_requested(job_id):
    return _flag(job_id).exists()


def run(job, params, progress):
    """The job body: the engine on the stored upload, preview or for real."""
    from .imports.engine import ImportFailed, import_file

    path = upload_path(params["upload"])
    dry_run = bool(params.get("dry_run", True))

    def cancelled():
        return cancel_requested(job.id)

    def fraction_read(fraction):  # the engine's progress: how much of the file is read
        percent = int(fraction * 100)
        progress(percent, f"{'read' if dry_run else 'imported'} {percent}% of the file")

    stop = JobFailed(CANCELLED, {"cancelled": True, "dry_run": dry_run})
    if cancelled():  # cancelled while it waited in the queue
        raise stop
    try:
        plan = import_file(path, format=params.get("format") or None,
                           sheet=params.get("sheet") or None, dry_run=dry_run,
                           progress=fraction_read, cancelled=cancelled)
    except ImportFailed as exc:
        view = exc.plan.to_dict()
        count = view["problem_count"]
        raise JobFailed(f"{count:,} problem{'s' if count != 1 else ''} in the file: "
                        "nothing was imported.", view) from None
    if plan.cancelled:  # the engine stopped and rolled back
        raise stop
    return plan.to_dict()
