"""The daily cleanup: reports, outbox emails, invoices, import uploads and synced inbox
files older than LARDER_RETENTION_DAYS (default 30), finished job rows as old, expired
cache entries and expired task results, and order idempotency keys past 24 hours."""
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app

from . import idempotency
from .config import UPLOADS, files_folder
from .extensions import cache, db
from .inbox_sync import clean_old
from .models import Job
from .safe_files import regular_files


def _remove_older(folder, cutoff, pattern="*"):
    removed = 0
    for path in regular_files(Path(folder), pattern):  # never through a link
        if path.lstat().st_mtime < cutoff:
            os.remove(path)
            removed += 1
    return removed


def cleanup(days=None):
    days = int(days if days is not None else current_app.config.get("LARDER_RETENTION_DAYS", 30))
    cutoff = time.time() - days * 86400
    counts = {
        "reports": _remove_older(files_folder("reports"), cutoff),
        "outbox": _remove_older(files_folder("outbox"), cutoff),
        "invoices": _remove_older(files_folder("invoices"), cutoff),
        "inbox": clean_old(days),
        "uploads": _remove_older(files_folder(UPLOADS), cutoff),  # files sent to Import
    }
    old = datetime.now() - timedelta(days=days)
    counts["jobs"] = db.session.execute(
        db.delete(Job).where(Job.state.in_(("success", "failure")), Job.created_at < old)
    ).rowcount
    db.session.commit()
    counts["idempotency_keys"] = idempotency.delete_expired()
    backend = cache.cache
    counts["cache_expired"] = backend.expire_old() if hasattr(backend, "expire_old") else 0
    celery = current_app.extensions.get("celery")
    if celery is not None and hasattr(celery.backend, "cleanup"):
        celery.backend.cleanup()  # results older than result_expires
    return counts
