"""Import a file: recognise it, stream its records into the database, all or nothing.

    plan = import_file("orders_export.csv")              # writes, returns the Plan
    plan = import_file(path, dry_run=True)               # the preview: writes nothing
    import_file(path, format="square_items", sheet="Sheet1",
                progress=lambda fraction: ..., cancelled=lambda: False)

Raises ImportFailed(plan) when the file has any Problem (`line N: column: reason`, every
one listed up to MAX_LISTED, all counted): nothing is written. When `cancelled()` turns
true the import stops and rolls back: the returned plan says `cancelled`.

The file is read as a stream (reading.open_table, the format's records; a big file in a
child process: pipeline.py) and written in chunks inside one transaction, so memory does
not grow with the file. A dry run does the
same work and rolls it back, so the preview is exactly what the import would do; on
SQLite it works on a snapshot copy of the database (_preview_database), so a long preview
never holds the shop's write lock: the till keeps recording sales meanwhile.
Runs inside an app context.
"""
import contextlib
import gc
import os
import tempfile

from flask import current_app
from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from .. import caching, low_stock
from ..extensions import db
from ..i18n import N_
from . import formats
from .pipeline import records_of
from .plan import ImportFailed, Plan
from .reading import ReadError, open_table
from .records import (CustomerRecord, Problem, ProductRecord, Reason, RefundRecord,
                      SaleRecord)
from .writer import Writer

__all__ = ["import_file", "ImportFailed", "Plan"]

STEP = 2_000  # records between progress reports and cancel checks


def import_file(path, format=None, sheet=None, dry_run=False, progress=None, cancelled=None):
    plan = Plan(path, dry_run)
    try:
        table = open_table(path, sheet)
    except ReadError as exc:
        plan.problem(exc.problem)
        raise ImportFailed(plan) from None
    except OSError as exc:
        plan.problem(Problem(1, "file", Reason(N_("cannot be read (%(error)s)"),
                                               error=exc.strerror or str(exc))))
        raise ImportFailed(plan) from None
    with table, (_preview_database() if dry_run else contextlib.nullcontext()):
        plan.encoding, plan.delimiter, plan.sheet = table.encoding, table.delimiter, table.sheet
        fmt = _format(plan, table.header, format)
        plan.format, plan.label = fmt.NAME, fmt.LABEL
        writer = Writer(plan, formats.Context.from_settings())
        try:
            with _fewer_collections(), records_of(fmt, table, writer.context, path) as stream:
                if writer.indexes:
                    writer.indexes.fraction_read = stream.fraction_read
                _run(writer, stream, plan, progress, cancelled)
        except BaseException:
            with contextlib.suppress(Exception):  # the error that got here matters more
                writer.done()
            db.session.rollback()
            raise
        writer.done()
        if plan.problem_count or plan.cancelled or dry_run:
            db.session.rollback()
        else:
            try:
                db.session.commit()
            except BaseException:  # a full disk: nothing half-written stays in the session
                db.session.rollback()
                raise
            plan.written = True
    if plan.problem_count:
        raise ImportFailed(plan)
    if plan.written and any(c["new"] or c["updated"] for c in plan.counts.values()):
        caching.clear_all()  # a bulk change: every cached figure may move
        if writer.stock_changed:
            low_stock.after_stock_change(writer.stock_changed)
    if progress:
        progress(1.0)
    return plan




@contextlib.contextmanager
def _preview_database():
    """SQLite: the dry run's db.session works on a snapshot of the database, copied with
    SQLite's backup API (one read of the live file: in WAL mode writers go on meanwhile)
    into the data folder's private uploads/ and deleted after. The preview's writes go to
    the copy, so the shop's file is never locked by a preview, and the preview still does
    exactly what the import would, on the data as it was when the preview started.
    Only this app context's session is swapped (other threads keep theirs). Other
    databases (PostgreSQL): the preview runs in a transaction rolled back at the end, as
    before (docs/importing.md says what that locks)."""
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") \
            or url.database.startswith("file:"):
        yield
        return
    from ..backups import copy_database
    from ..config import UPLOADS, ensure_private_dir, files_folder, sqlite_url

    folder = ensure_private_dir(files_folder(UPLOADS))
    fd, copy = tempfile.mkstemp(prefix=".preview-", suffix=".db", dir=folder)
    os.close(fd)
    engine = session = None
    registry = db.session.registry
    before = registry() if registry.has() else None
    try:
        copy_database(url.database, copy,
                      int(current_app.config.get("LARDER_SQLITE_BUSY_TIMEOUT_MS", 30_000)))
        engine = create_engine(sqlite_url(copy), poolclass=NullPool)

        @event.listens_for(engine, "connect")
        def _throwaway(dbapi_connection, _record):
            # A copy thrown away after: no fsync needed (the live file keeps FULL).
            dbapi_connection.execute("PRAGMA synchronous = OFF")

        session = Session(bind=engine)
        registry.set(session)
        yield
    finally:
        if session is not None:
            session.close()
        if before is not None:
            registry.set(before)
        else:
            registry.clear()
        if engine is not None:
            engine.dispose()
        # The copy may be in WAL mode like the live file. Best effort: a file that
        # Windows still holds (an antivirus scan) must not hide the preview's result;
        # the daily cleanup empties uploads/ of what is left.
        for leftover in (copy, copy + "-journal", copy + "-wal", copy + "-shm"):
            with contextlib.suppress(OSError):
                os.unlink(leftover)


@contextlib.contextmanager
def _fewer_collections():
    """A million records make the cyclic garbage collector run thousands of times over
    every object the process holds (~15 % of an import's time); records make no cycles.
    Objects alive before are set aside (gc.freeze) and collections made rarer, then
    restored."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold[0], 50_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _format(plan, header, name):
    if name:
        try:
            fmt = formats.by_name(name)
        except KeyError as exc:
            plan.problem(Problem(1, "format", exc.args[0]))
            raise ImportFailed(plan) from None
        if not fmt.recognise(header):
            plan.label = fmt.LABEL
            shown = ", ".join(header[:8]) + (", ..." if len(header) > 8 else "")
            plan.problem(Problem(1, "header", Reason(
                N_("not a %(format)s: its columns are %(columns)s (%(reason)s)"),
                format=Reason(fmt.LABEL), columns=shown, reason=formats.unrecognised(header))))
            raise ImportFailed(plan)
        return fmt
    fmt = formats.detect(header)
    if fmt is None:
        plan.problem(Problem(1, "header", formats.unrecognised(header)))
        raise ImportFailed(plan)
    return fmt


def _run(writer, stream, plan, progress, cancelled):
    handlers = {SaleRecord: writer.sale, RefundRecord: writer.refund,
                ProductRecord: writer.product, CustomerRecord: writer.customer,
                Problem: plan.problem}
    for i, item in enumerate(stream, 1):
        handlers[type(item)](item)
        if i % STEP == 0:
            if progress:
                progress(min(stream.fraction_read(), 0.99))
            if cancelled and cancelled():
                plan.cancelled = True
                return
    writer.finish()
    if cancelled and cancelled():  # the last moment: after it, the commit
        plan.cancelled = True
