"""Sales reports for a date range as PDF, CSV or JSON, and the accountant's CSV of every
order line ("lines", reports/report_lines.py): one code path for the CLI, the Celery
task and the web page.

    start, end = parse_range("2025-01-01", "2025-12-31")
    totals = build_report(start, end, "pdf", folder / report_filename(start, end, "pdf"))

Totals and rows hold integer cents under keys ending in `_cents` (`revenue_cents`); the
files drop the suffix and write `1234.50`. The average order value is floor(revenue /
orders) in cents, as on the dashboard.

build_report runs inside an app context and writes atomically: a temp file in the target
folder, then a rename (webapp.atomic_files), so readers see the old file or the new one,
never half of one.
"""
from datetime import date
from pathlib import Path

from ..atomic_files import atomic_output as _atomic_output
from .report_data import ReportError, check_range, collect

__all__ = ["FORMATS", "MIME", "ReportError", "atomic_output", "build_report", "collect",
           "parse_range", "report_filename"]

FORMATS = ("pdf", "csv", "json", "lines")
MIME = {"pdf": "application/pdf", "csv": "text/csv", "json": "application/json",
        "lines": "text/csv"}
# Share of the progress bar the queries take; the writer has the rest.
_DATA_SHARE = {"pdf": 50, "csv": 90, "json": 90}


def parse_range(start, end):
    """('2025-01-01', '2025-12-31') -> two dates; ReportError with a readable message."""
    days = []
    for text in (start, end):
        try:
            days.append(date.fromisoformat(str(text).strip()))
        except ValueError:
            raise ReportError(f"bad date '{text}': use YYYY-MM-DD") from None
        if len(str(text).strip()) != 10:  # fromisoformat also takes '20250101'
            raise ReportError(f"bad date '{text}': use YYYY-MM-DD")
    return check_range(*days)


def report_filename(start, end, fmt):
    _check_format(fmt)
    if fmt == "lines":
        return f"larder-sales-lines-{start.isoformat()}-to-{end.isoformat()}.csv"
    return f"larder-report-{start.isoformat()}-to-{end.isoformat()}.{fmt}"


def _check_format(fmt):
    if fmt not in FORMATS:
        raise ReportError(f"unknown format '{fmt}': use pdf, csv, json or lines")


class _Progress:
    """Maps a stage's own 0..100 onto [low, high] of the whole and only ever moves up,
    so a UI sees each percent once and in order."""

    def __init__(self, callback):
        self.callback, self.last = callback, -1

    def stage(self, low, high):
        def report(percent, message):
            value = int(low + (high - low) * max(0, min(100, percent)) / 100)
            if self.callback and value > self.last:
                self.last = value
                self.callback(value, message)
        return report


def atomic_output(out_path):
    """A binary file that replaces out_path (fsynced first) when the block succeeds, and
    leaves it as it was on an exception (webapp.atomic_files: also on Windows, where a
    report being downloaded is held open). A report is an ordinary file: mode 0644."""
    return _atomic_output(out_path, mode=0o644)


def build_report(start, end, fmt, out_path, progress=None):
    """Write the report for [start, end] to out_path in `fmt`; returns the totals (cents;
    for "lines": orders, lines, refund_lines and revenue_cents).

    progress: optional callable(percent, message), percents increasing from 0 to 100.
    """
    _check_format(fmt)
    start, end = check_range(start, end)
    from . import report_csv, report_json, report_lines, report_pdf  # reportlab: when used

    if fmt == "lines":  # rows streamed from the database, no totals gathered first
        bar = _Progress(progress)
        with atomic_output(out_path) as fh:
            totals = report_lines.write(start, end, fh, progress=bar.stage(0, 99))
        bar.stage(0, 100)(100, f"Report written: {Path(out_path).name}")
        return totals

    writer = {"pdf": report_pdf, "csv": report_csv, "json": report_json}[fmt]
    bar = _Progress(progress)
    share = _DATA_SHARE[fmt]
    data = collect(start, end, progress=bar.stage(0, share))
    with atomic_output(out_path) as fh:
        writer.write(data, fh, progress=bar.stage(share, 99))
    bar.stage(0, 100)(100, f"Report written: {Path(out_path).name}")
    return dict(data["totals"])
