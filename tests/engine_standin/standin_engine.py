"""Test-only stand-in for webapp/imports/engine.py (its agreed signature), used until the
real engine is merged: reads and counts with the real readers and formats; writes only
Larder's own layouts (through csv_import), nothing for till exports."""
import time
from dataclasses import dataclass, field

from webapp.imports import formats
from webapp.imports.reading import ReadError, open_table
from webapp.imports.records import Problem, SaleRecord


@dataclass
class Plan:
    summary: str = ""
    encoding: str = ""
    counts: dict = field(default_factory=dict)
    skip_reasons: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)


class ImportFailed(Exception):
    def __init__(self, plan):
        super().__init__(f"{len(plan.problems)} problem(s)")
        self.plan = plan


def import_file(path, format=None, sheet=None, dry_run=False, progress=None, cancelled=None):
    plan = Plan()
    try:
        table = open_table(path, sheet=sheet)
    except ReadError as exc:
        plan.problems.append(exc.problem)
        raise ImportFailed(plan) from None
    with table:
        plan.encoding = table.encoding
        fmt = formats.by_name(format) if format else formats.detect(table.header)
        if fmt is None:
            plan.problems.append(Problem(1, "header", formats.unrecognised(table.header)))
            raise ImportFailed(plan)
        counts = plan.counts.setdefault("orders", {"new": 0, "updated": 0, "unchanged": 0,
                                                    "skipped": 0})
        context = formats.Context.from_settings()
        for i, item in enumerate(fmt.records(table, context)):
            if isinstance(item, Problem):
                plan.problems.append(item)
            elif isinstance(item, SaleRecord):
                if item.skip:
                    counts["skipped"] += 1
                    plan.skip_reasons[item.skip] = plan.skip_reasons.get(item.skip, 0) + 1
                else:
                    counts["new"] += 1
            if i % 1000 == 0:
                if cancelled and cancelled():
                    raise ImportFailed(plan)
                if progress:
                    progress(int(table.fraction_read() * 100), "reading")
                if not dry_run:
                    time.sleep(0.01)  # long enough to be cancelled in a test
        plan.summary = f"{fmt.LABEL}, {counts['new']:,} orders"
    if plan.problems:
        raise ImportFailed(plan)
    if not dry_run and fmt.NAME in ("products", "customers", "orders"):
        from webapp import csv_import

        with open(path, "rb") as fh:
            csv_import.import_csv(fmt.NAME, fh.read())
    return plan
