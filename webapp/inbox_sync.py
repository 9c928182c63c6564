"""The hourly sync: CSV files dropped into DATA_DIR/inbox are imported with the CSV import
rules. A file's name says its kind (`products*.csv`, `customers*.csv`, `orders*.csv`);
products go first, then customers, then orders, so one drop can hold all three. Done
files move to inbox/done/, bad ones to inbox/failed/ with `NAME.errors.txt` beside them.
A file changed in the last few seconds may still be being copied: it waits for the next
run (LARDER_INBOX_SETTLE_SECONDS, default 5). Symbolic links and special files (fifo,
device) are never read: they are skipped with a log line (webapp.safe_files).

Any other file (`.csv`, `.tsv`, `.txt`, `.xlsx`), such as a till's export, goes through the
import engine, which recognises it by its columns (docs/importing.md), after Larder's own
three kinds."""
import logging
import os
import shutil
import time
from datetime import datetime
from pathlib import Path

from flask import current_app

from .csv_import import KINDS, ImportFailed, import_csv
from .imports import engine
from .safe_files import NotRegular, read_regular, regular_files

log = logging.getLogger(__name__)


SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx")


def inbox_dir():
    return Path(current_app.config["DATA_DIR"], "inbox")


def _kind(name):
    for kind in KINDS:
        if name.lower().startswith(kind):
            return kind
    return None


def _move(path, folder):
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    if target.exists():  # the same name dropped again: keep both
        target = folder / f"{path.stem}-{datetime.now():%Y%m%d-%H%M%S}{path.suffix}"
    shutil.move(str(path), str(target))
    return target


def sync_inbox():
    inbox = inbox_dir()
    settle = float(current_app.config.get("LARDER_INBOX_SETTLE_SECONDS", 5))
    files = [p for p in regular_files(inbox) if p.suffix.lower() in SUFFIXES
             and not p.name.startswith(".") and (p.suffix.lower() == ".csv"
                                                 or _kind(p.name) is None)]
    order = {kind: i for i, kind in enumerate(KINDS)}
    files.sort(key=lambda p: (order.get(_kind(p.name), 99), p.name))
    report = {"imported": [], "failed": [], "waiting": []}
    for path in files:
        if time.time() - path.lstat().st_mtime < settle:
            report["waiting"].append(path.name)
            continue
        kind = _kind(path.name)
        if kind is None:
            if path.is_symlink() or not path.is_file():  # swapped since it was listed
                log.warning("skipped %s: not a regular file", path)
                continue
            try:
                plan = engine.import_file(path)
            except engine.ImportFailed as exc:
                errors = exc.plan.problem_lines()
            else:
                _move(path, inbox / "done")
                report["imported"].append({"file": path.name, "kind": plan.format,
                                           "summary": plan.summary,
                                           "rows": plan.lines_found,
                                           "created": sum(c["new"] for c in
                                                          plan.counts.values()),
                                           "updated": sum(c["updated"] for c in
                                                          plan.counts.values())})
                continue
        else:
            try:
                data = read_regular(path)
            except NotRegular as exc:  # swapped for a link since it was listed
                log.warning("skipped %s", exc)
                continue
            try:
                result = import_csv(kind, data)
            except ImportFailed as exc:
                errors = exc.errors
            else:
                _move(path, inbox / "done")
                report["imported"].append({"file": path.name, "kind": kind,
                                           "rows": result.rows, "created": result.created,
                                           "updated": result.updated})
                continue
        target = _move(path, inbox / "failed")
        Path(f"{target}.errors.txt").write_text("\n".join(errors) + "\n", encoding="utf-8")
        report["failed"].append({"file": path.name, "errors": len(errors)})
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
