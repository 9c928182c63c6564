"""Backups of the SQLite database, and restoring one (docs/reliability.md).

- Made with SQLite's online backup API in one step: a consistent copy while the web
  server and the worker keep writing (WAL: the copy reads a snapshot, writers go on).
- Each copy is written under a temporary name, checked with `PRAGMA integrity_check`,
  and only then given its real name, so a listed backup is always a whole, checked file.
- Files live in DATA_DIR/backups (0700), named so a person can read them:
  `larder-2026-11-29-023000-daily.db` (date, time, why: daily, manual,
  before-upgrade-from-<schema>, before-restore).
- Daily backups are pruned: the newest of each of the last LARDER_BACKUP_KEEP_DAILY days
  and of each of the LARDER_BACKUP_KEEP_WEEKLY weeks before them are kept. Backups made
  by hand, before an upgrade or before a restore are never removed automatically.
- A restore checks the file first (SQLite, whole, Larder's tables, a schema this program
  knows), takes a safety copy of the current database, then copies the file INTO the live
  database through the backup API: one write transaction, so every open connection (the
  worker's too) sees either the old or the restored database, never a mix. Replacing the
  file under open connections would not be seen by them, or would corrupt it in WAL mode.
- PostgreSQL: pg_dump and pg_restore are the tools; these functions refuse with that advice.
"""
import logging
import os
import re
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from .config import ensure_private_dir
from .i18n import N_, _
from .locks import AlreadyLocked, FileLock

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^larder-(\d{4}-\d{2}-\d{2}-\d{6})-([a-z][a-z0-9.-]*)\.db$")
LARDER_TABLES = {"products", "customers", "orders", "order_lines", "users", "jobs"}
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_ADVICE = N_("the database is not SQLite (DATABASE_URL): back it up with pg_dump and "
               "restore it with pg_restore (see docs/reliability.md)")
REASON_WORDS = {"daily": N_("Daily"), "manual": N_("Made by hand"),
                "before-restore": N_("Before a restore")}


class BackupError(Exception):
    """A backup or restore that cannot be done; the message is one plain sentence."""


@dataclass(frozen=True)
class Backup:
    name: str
    path: Path
    created: datetime
    reason: str
    size: int

    @property
    def why(self):
        if self.reason.startswith("before-upgrade"):
            old = self.reason[len("before-upgrade-from-"):]
            return _("Before upgrading (from %(old)s)", old=old) if old else _("Before upgrading")
        return _(REASON_WORDS[self.reason]) if self.reason in REASON_WORDS else self.reason


# ---- where things are ----------------------------------------------------------------

def sqlite_path(app):
    """The SQLite file behind the app's database (an app or its config); BackupError for
    any other database."""
    config = getattr(app, "config", app)
    url = make_url(config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite":
        raise BackupError(_(PG_ADVICE))
    if not url.database or url.database == ":memory:":
        raise BackupError(_("the database is in memory: there is nothing to back up"))
    return Path(url.database)


def backup_dir(data_dir):
    return ensure_private_dir(Path(data_dir, "backups"))


def list_backups(data_dir):
    """Every backup in DATA_DIR/backups, newest first (only files named as we name them)."""
    folder = Path(data_dir, "backups")
    found = []
    for entry in (os.scandir(folder) if folder.is_dir() else ()):
        match = NAME_RE.match(entry.name)
        if not match or not entry.is_file():
            continue
        try:
            created = datetime.strptime(match.group(1), "%Y-%m-%d-%H%M%S")
        except ValueError:
            continue
        found.append(Backup(entry.name, Path(entry.path), created, match.group(2),
                            entry.stat().st_size))
    return sorted(found, key=lambda b: (b.created, b.name), reverse=True)


def find_backup(data_dir, name):
    """The backup called `name`, looked up in the listing (never a path from outside)."""
    return next((b for b in list_backups(data_dir) if b.name == name), None)


# ---- making one ------------------------------------------------------------------------

def _busy_ms(app):
    return int(app.config.get("LARDER_SQLITE_BUSY_TIMEOUT_MS", 30_000))


def _connect(path, busy_ms=30_000):
    con = sqlite3.connect(str(path), timeout=busy_ms / 1000, isolation_level=None)
    con.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
    return con


def integrity_problem(path):
    """None when `PRAGMA integrity_check` says ok, else what it (or SQLite) said."""
    try:
        con = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = [r[0] for r in con.execute("PRAGMA integrity_check")]
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None if rows == ["ok"] else "; ".join(rows[:5])


def copy_database(src_path, dest_path, busy_ms=30_000):
    """A consistent copy of src into a new single file dest (rollback-journal mode, so
    the copy is one self-contained file)."""
    src = _connect(src_path, busy_ms)
    try:
        out = sqlite3.connect(str(dest_path), isolation_level=None)
        try:
            src.backup(out)  # pages=-1: one step, one snapshot of the source
            out.execute("PRAGMA journal_mode = DELETE")
        finally:
            out.close()
    finally:
        src.close()


def _new_name(folder, reason):
    stamp = datetime.now().strftime("%Y-%m-%d-%H%M%S")
    name = f"larder-{stamp}-{reason}.db"
    n = 2
    while (folder / name).exists():  # two of the same kind in one second
        name = f"larder-{stamp}-{reason}-{n}.db"
        n += 1
    return folder / name


def make_backup(app, reason="manual", dest=None):
    """Copy the app's SQLite database; returns the checked file's Path.

    Into DATA_DIR/backups named by time and `reason`, or into `dest` when given (kept out
    of the listing and of pruning). Raises BackupError (PostgreSQL, a failed check)."""
    src = sqlite_path(app)
    if not src.exists():
        raise BackupError(_("there is no database at %(path)s yet", path=src))
    if dest is None:
        final = _new_name(backup_dir(app.config["DATA_DIR"]), reason)
    else:
        final = Path(dest).resolve()
        if final in (src.resolve(), Path(f"{src.resolve()}-wal"), Path(f"{src.resolve()}-shm")):
            raise BackupError(_("%(path)s is the database itself: choose another file",
                                path=dest))
    fd, tmp = tempfile.mkstemp(prefix=".backup-", suffix=".part", dir=final.parent)
    os.close(fd)
    try:
        os.chmod(tmp, 0o600)
        copy_database(src, tmp, _busy_ms(app))
        problem = integrity_problem(tmp)
        if problem:
            raise BackupError(_("the copy failed its integrity check (%(problem)s); the "
                                "database itself may be damaged: keep the older backups",
                                problem=problem))
        os.replace(tmp, final)
    except sqlite3.Error as exc:
        raise BackupError(_("cannot back up the database: %(error)s", error=exc)) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    log.info("backed up the database to %s (%s)", final, reason)
    return final


# ---- keeping some ----------------------------------------------------------------------

def backups_to_prune(backups, keep_daily, keep_weekly):
    """Which daily backups go: keep the newest of each of the last keep_daily days, then
    the newest of each of the keep_weekly (ISO) weeks before those."""
    daily = [b for b in backups if b.reason == "daily"]
    daily.sort(key=lambda b: (b.created, b.name), reverse=True)
    keep, days, weeks = set(), [], []
    for b in daily:
        day = b.created.date()
        if day not in days and len(days) < keep_daily:
            days.append(day)
            keep.add(b.name)
    covered = {d.isocalendar()[:2] for d in days}
    for b in daily:
        week = b.created.isocalendar()[:2]
        if b.name in keep or week in covered:
            continue
        if week not in weeks and len(weeks) < keep_weekly:
            weeks.append(week)
            keep.add(b.name)
    return [b for b in daily if b.name not in keep]


def prune(app):
    gone = backups_to_prune(list_backups(app.config["DATA_DIR"]),
                            app.config["LARDER_BACKUP_KEEP_DAILY"],
                            app.config["LARDER_BACKUP_KEEP_WEEKLY"])
    for b in gone:
        b.path.unlink(missing_ok=True)
    if gone:
        log.info("removed %d old daily backup(s)", len(gone))
    return [b.name for b in gone]


def daily_backup(app=None):
    """The daily job (beat, 02:30): one backup, then pruning. PostgreSQL: skipped."""
    from flask import current_app

    app = app or current_app._get_current_object()
    try:
        sqlite_path(app)
    except BackupError as exc:
        return {"skipped": str(exc)}
    path = make_backup(app, "daily")
    return {"file": path.name, "size": path.stat().st_size, "pruned": prune(app)}


# ---- restoring one ---------------------------------------------------------------------

def check_restore_file(path):
    """The schema revision of a Larder database file (None for 0.1.0); BackupError with
    the reason when it is not one this program can restore. The file is not changed."""
    with tempfile.TemporaryDirectory(prefix="larder-check-") as tmp:
        return _check_staged(_stage(path, tmp), path)


def _stage(path, folder):
    """A private single-file copy of the SQLite file `path` in `folder`."""
    try:
        with open(path, "rb") as fh:
            magic = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise BackupError(_("cannot read %(path)s: %(error)s", path=path,
                             error=exc.strerror or exc)) from None
    if magic != SQLITE_MAGIC:
        raise BackupError(_("%(path)s is not a Larder backup (not a SQLite database)",
                             path=path))
    fd, staged = tempfile.mkstemp(prefix=".restore-", suffix=".part", dir=folder)
    os.close(fd)
    try:
        shutil.copyfile(path, staged)
        con = sqlite3.connect(staged, isolation_level=None)
        try:  # a copy of a WAL-mode file: make it one file that opens read-only too
            con.execute("PRAGMA journal_mode = DELETE")
        finally:
            con.close()
    except OSError as exc:
        os.unlink(staged)
        raise BackupError(_("cannot read %(path)s: %(error)s", path=path,
                             error=exc.strerror or exc)) from None
    except sqlite3.DatabaseError as exc:
        os.unlink(staged)
        raise BackupError(_("%(path)s is damaged (%(problem)s): choose another backup",
                             path=path, problem=exc)) from None
    return staged


def _check_staged(staged, path):
    from .db_upgrade import HEAD, known_revisions

    problem = integrity_problem(staged)
    if problem:
        raise BackupError(_("%(path)s is damaged (%(problem)s): choose another backup",
                             path=path, problem=problem))
    con = sqlite3.connect(f"{Path(staged).resolve().as_uri()}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master "
                                            "WHERE type = 'table'")}
        missing = LARDER_TABLES - tables
        if missing:
            raise BackupError(_("%(path)s is a SQLite database but not Larder's (it has no "
                                "%(tables)s table)", path=path,
                                tables=", ".join(sorted(missing))))
        rev = None
        if "alembic_version" in tables:
            row = con.execute("SELECT version_num FROM alembic_version").fetchone()
            rev = row[0] if row else None
    finally:
        con.close()
    if rev is not None and rev not in known_revisions():
        raise BackupError(_("%(path)s was written by a newer version of Larder (schema "
                            "%(rev)s); this is Larder with schema %(head)s: restore it with "
                            "that version", path=path, rev=rev, head=HEAD))
    return rev


def restore(app, file):
    """Restore `file` into the app's database (inside an app context). Returns a dict:
    the safety copy's name, the file's schema, jobs queued again."""
    from . import caching
    from .background import jobs
    from .db_upgrade import upgrade_database
    from .extensions import db

    live = sqlite_path(app)
    data_dir = app.config["DATA_DIR"]
    # Work on a private copy: the file may change or vanish while we restore it.
    staged = _stage(file, backup_dir(data_dir))
    try:
        rev = _check_staged(staged, file)
        safety = make_backup(app, "before-restore")
        _match_page_size(staged, live)
        db.session.remove()
        # The upgrade lock: no process upgrades the schema while the content changes.
        with FileLock(os.path.join(data_dir, "upgrade.lock")).acquire(timeout=120):
            src = sqlite3.connect(staged)
            try:
                dst = _connect(live, _busy_ms(app))
                try:
                    src.backup(dst)  # one step: one write transaction on the live file
                    dst.execute("PRAGMA journal_mode = WAL")
                finally:
                    dst.close()
            finally:
                src.close()
    except sqlite3.Error as exc:
        raise BackupError(_("cannot restore %(path)s: %(error)s", path=file,
                            error=exc)) from None
    except AlreadyLocked:
        raise BackupError(_("a schema upgrade has been running for two minutes: nothing "
                            "was restored; try again when it has finished")) from None
    finally:
        os.unlink(staged)
    log.info("restored the database from %s (safety copy %s)", file, safety.name)
    app.extensions.pop("larder_owner_id", None)  # the restored owner row may differ
    upgrade_database(app)
    caching.clear_all()
    requeued = jobs.requeue_unfinished()
    return {"safety_copy": safety.name, "schema": rev or "0.1.0", "requeued": requeued}


def _match_page_size(staged, live):
    """The backup API cannot copy into a WAL database of another page size: give the
    staged copy the live one's (VACUUM rewrites it)."""
    def page_size(path):
        con = sqlite3.connect(path)
        try:
            return con.execute("PRAGMA page_size").fetchone()[0]
        finally:
            con.close()

    size = page_size(live) if Path(live).exists() else None
    if size and size != page_size(staged):
        con = sqlite3.connect(staged, isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode = DELETE")
            con.execute(f"PRAGMA page_size = {int(size)}")
            con.execute("VACUUM")
        finally:
            con.close()
