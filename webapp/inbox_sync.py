"""The hourly sync: files dropped into DATA_DIR/inbox are imported by the import engine
(webapp/imports), which recognises each one by its column names, like the Import page:
a till's export or Larder's own products, customers or orders columns, as CSV, TSV, TXT
or .xlsx. Files named `products*`, `customers*`, `orders*` go first, in that order, so
one drop can hold all three of Larder's own files; the rest by name. Done files move to
inbox/done/, bad ones to inbox/failed/ with `NAME.errors.txt` beside them (every bad line).
A file changed in the last few seconds may still be being copied: it waits for the next
run (LARDER_INBOX_SETTLE_SECONDS, default 5).

Symbolic links and special files (fifo, device) are never read: they are skipped with a
log line (webapp.safe_files). A file is first moved into inbox/.importing/, a folder only
Larder's user can write: the engine then reads a file that can no longer be swapped for
a link (os.rename moves a link itself, never what it points to, and it is checked
after the move). One sync at a time (a lock in that folder); a file a stopped sync left
there goes back to the inbox first: its import was rolled back."""
import logging
import os
import shutil
import time
from datetime import datetime
from pathlib import Path

from flask import current_app

from .config import ensure_private_dir, files_folder
from .locks import AlreadyLocked, FileLock
from .safe_files import is_regular, regular_files

log = logging.getLogger(__name__)
FIRST = ("products", "customers", "orders")  # Larder's own files: this order
SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx")
WORKING = ".importing"


def inbox_dir():
    return files_folder("inbox")


def _rank(name):
    lower = name.lower()
    return next((i for i, kind in enumerate(FIRST) if lower.startswith(kind)), len(FIRST))


def _move(path, folder, name=None):
    folder.mkdir(exist_ok=True)
    name = name or path.name
    target = folder / name
    if target.exists():  # the same name dropped again: keep both
        stem, suffix = os.path.splitext(name)
        target = folder / f"{stem}-{datetime.now():%Y%m%d-%H%M%S}{suffix}"
    shutil.move(str(path), str(target))
    return target


def _claim(path):
    """Move a dropped file into the private working folder; None (left where it was)
    when it is a link or a special file."""
    target = inbox_dir() / WORKING / path.name
    os.rename(path, target)  # never follows a link: a link would move as a link
    if not is_regular(target):
        os.rename(target, path)
        log.warning("skipped %s: a symbolic link or not a regular file", path)
        return None
    return target


def sync_inbox():
    working = ensure_private_dir(inbox_dir() / WORKING)
    try:
        lock = FileLock(working / "sync.lock").acquire()
    except AlreadyLocked:
        return {"imported": [], "failed": [], "waiting": [], "busy": "another sync is running"}
    try:
        for left in regular_files(working, "*.*"):
            if left.suffix.lower() in SUFFIXES:
                _move(left, inbox_dir())
        return _sync()
    finally:
        lock.release()


def _sync():
    from .imports.engine import ImportFailed, import_file

    inbox = inbox_dir()
    settle = float(current_app.config.get("LARDER_INBOX_SETTLE_SECONDS", 5))
    files = [p for p in regular_files(inbox) if p.suffix.lower() in SUFFIXES
             and not p.name.startswith(".")]
    files.sort(key=lambda p: (_rank(p.name), p.name))
    report = {"imported": [], "failed": [], "waiting": []}
    for path in files:
        if time.time() - path.lstat().st_mtime < settle:
            report["waiting"].append(path.name)
            continue
        try:
            working = _claim(path)
        except FileNotFoundError:  # taken away since it was listed
            continue
        if working is None:
            continue
        try:
            plan = import_file(working)
        except ImportFailed as exc:
            target = _move(working, inbox / "failed", path.name)
            errors = exc.plan.problem_lines()
            Path(f"{target}.errors.txt").write_text("\n".join(errors) + "\n",
                                                    encoding="utf-8")
            report["failed"].append({"file": path.name, "errors": exc.plan.problem_count})
            continue
        except BaseException:
            _move(working, inbox, path.name)  # put back for the next run
            raise
        _move(working, inbox / "done", path.name)
        report["imported"].append({"file": path.name, "format": plan.format,
                                   "summary": plan.summary, "counts": plan.counts})
    return report


def clean_old(days):
    cutoff = time.time() - days * 86400
    removed = 0
    for folder in (inbox_dir() / "done", inbox_dir() / "failed"):
        if folder.is_dir():
            for path in regular_files(folder):
                if path.lstat().st_mtime < cutoff:
                    os.remove(path)
                    removed += 1
    return removed
