"""Import a file: recognise it, stream its records into the database, all or nothing.

    plan = import_file("orders_export.csv")              # writes, returns the Plan
    plan = import_file(path, dry_run=True)               # the preview: writes nothing
    import_file(path, format="square_items", sheet="Sheet1",
                progress=lambda fraction: ..., cancelled=lambda: False)

Raises ImportFailed(plan) when the file has any Problem (`line N: column: reason`, every
one listed up to MAX_LISTED, all counted): nothing is written. When `cancelled()` turns
true the import stops and rolls back: the returned plan says `cancelled`.

The file is read as a stream (reading.open_table, the format's records) and written in
chunks inside one transaction, so memory does not grow with the file. A dry run does the
same work in the same transaction and rolls it back: the preview is exactly what the
import would do (a long preview holds the database's write lock while it runs).
Runs inside an app context.
"""
import contextlib
import gc

from .. import caching, low_stock
from ..extensions import db
from . import formats
from .plan import ImportFailed, Plan
from .reading import ReadError, open_table
from .records import CustomerRecord, Problem, ProductRecord, RefundRecord, SaleRecord
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
        plan.problem(Problem(1, "file", f"cannot be read ({exc.strerror or exc})"))
        raise ImportFailed(plan) from None
    with table:
        plan.encoding, plan.delimiter, plan.sheet = table.encoding, table.delimiter, table.sheet
        fmt = _format(plan, table.header, format)
        plan.format, plan.label = fmt.NAME, fmt.LABEL
        writer = Writer(plan, formats.Context.from_settings())
        try:
            with _fewer_collections():
                _run(writer, fmt.records(table, writer.context), table, plan, progress,
                     cancelled)
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
            plan.problem(Problem(1, "header", f"not a {fmt.LABEL}: its columns are {shown} "
                                              f"({formats.unrecognised(header)})"))
            raise ImportFailed(plan)
        return fmt
    fmt = formats.detect(header)
    if fmt is None:
        plan.problem(Problem(1, "header", formats.unrecognised(header)))
        raise ImportFailed(plan)
    return fmt


def _run(writer, records, table, plan, progress, cancelled):
    handlers = {SaleRecord: writer.sale, RefundRecord: writer.refund,
                ProductRecord: writer.product, CustomerRecord: writer.customer,
                Problem: plan.problem}
    for i, item in enumerate(records, 1):
        handlers[type(item)](item)
        if i % STEP == 0:
            if progress:
                progress(min(table.fraction_read(), 0.99))
            if cancelled and cancelled():
                plan.cancelled = True
                return
    writer.finish()
    if cancelled and cancelled():  # the last moment: after it, the commit
        plan.cancelled = True
