"""What an import found and did (or would do): the preview, the CLI's output, the result.

Bounded whatever the file: problems, skipped sales and notes keep their first
MAX_LISTED entries and count the rest. Their lines are said in the shop's language when
they are added (in the importing process's app context: records.say), and kept so: a
job's stored result reads as on the day it ran (docs/interface.md, "Languages").
"""
import os

from ..i18n import gettext
from .records import say

MAX_LISTED = 200
KINDS = ("orders", "refunds", "products", "customers")
OUTCOMES = ("new", "updated", "unchanged", "skipped")


class ImportFailed(Exception):
    """The file was refused (a Problem, or it is no table Larder knows): nothing was
    written. `plan.problems` names the lines."""

    def __init__(self, plan):
        self.plan = plan
        super().__init__("\n".join(plan.problem_lines()))


class Bounded:
    """A list that keeps its first MAX_LISTED items and counts all."""

    def __init__(self):
        self.items, self.total = [], 0

    def add(self, text):
        self.total += 1
        if len(self.items) < MAX_LISTED:
            self.items.append(text)

    @property
    def full(self):
        """Only counting now: a line added is not kept, so it need not be said."""
        return len(self.items) >= MAX_LISTED

    def lines(self, what):
        more = self.total - len(self.items)
        return self.items + ([f"... and {more:,} more {what}"] if more else [])


class Plan:
    def __init__(self, path, dry_run=False):
        self.file = os.path.basename(str(path))
        self.dry_run = dry_run
        self.format = self.label = self.encoding = self.delimiter = self.sheet = ""
        self.counts = {kind: dict.fromkeys(OUTCOMES, 0) for kind in KINDS}
        self.orders_found = self.lines_found = self.products_found = self.customers_found = 0
        self.refunds_found = 0
        self.first = self.last = None   # the sales' dates
        self._problems, self._skipped, self._notes = Bounded(), Bounded(), Bounded()
        self.cancelled = False
        self.written = False            # committed

    # ---- filled in by the engine ---------------------------------------------------
    def problem(self, item):
        kept = self._problems  # (line, text): sorted by line
        kept.add(None if kept.full else (item.line, str(item)))

    def skip(self, line, what, reason):
        kept = self._skipped
        kept.add(None if kept.full else gettext("line %(line)s: %(column)s: %(reason)s",
                                                line=line, column=say(what),
                                                reason=say(reason)))

    def note(self, line, text):
        kept = self._notes
        kept.add(None if kept.full else gettext("line %(line)s: %(text)s", line=line,
                                                text=say(text)))

    def count(self, kind, outcome, n=1):
        self.counts[kind][outcome] += n

    def saw_sale(self, when, lines):
        self.orders_found += 1
        self.lines_found += lines
        if self.first is None or when < self.first:
            self.first = when
        if self.last is None or when > self.last:
            self.last = when

    # ---- read by the page and the CLI ------------------------------------------------
    @property
    def problems(self):
        """In file order (a refund row is checked after the rows around it)."""
        return [text for _, text in sorted(self._problems.items, key=lambda item: item[0])]

    @property
    def problem_count(self):
        return self._problems.total

    @property
    def skipped(self):
        return self._skipped.items

    @property
    def skipped_count(self):
        return self._skipped.total

    @property
    def notes(self):
        return self._notes.items

    def problem_lines(self):
        more = self._problems.total - len(self._problems.items)
        return self.problems + ([f"... and {more:,} more problems"] if more else [])

    @property
    def summary(self):
        """"Shopify orders export, 1,234 orders, 3,456 lines, 2024-01-03 to 2024-12-30"."""
        parts = [self.label or "The file"]
        if self.orders_found:
            parts.append(_n(self.orders_found, "order"))
            parts.append(_n(self.lines_found, "line"))
        if self.refunds_found:
            parts.append(_n(self.refunds_found, "refund"))
        if self.products_found:
            parts.append(_n(self.products_found, "product"))
        if self.customers_found:
            parts.append(_n(self.customers_found, "customer"))
        if self.first is not None:
            first, last = self.first.date().isoformat(), self.last.date().isoformat()
            parts.append(first if first == last else f"{first} to {last}")
        return ", ".join(parts)

    def outcome_lines(self):
        """One line per kind that the file has: "orders: 3 new, 1 unchanged, 1 skipped"."""
        out = []
        for kind in KINDS:
            counts = self.counts[kind]
            if any(counts.values()):
                shown = ", ".join(f"{counts[o]:,} {o}" for o in OUTCOMES if counts[o])
                out.append(f"{kind}: {shown}")
        return out

    def text(self):
        """The whole plan as the CLI prints it."""
        would = "would be " if self.dry_run or not self.written else ""
        lines = [self.summary, f"read as {self.encoding}" + (
            f", sheet {self.sheet!r}" if self.sheet else "")]
        lines += [f"{would}{line}" if would else line for line in self.outcome_lines()]
        if self._skipped.total:
            lines.append(f"skipped ({self._skipped.total:,}):")
            lines += ["  " + s for s in self._skipped.lines("skipped")]
        if self._notes.total:
            lines.append("notes:")
            lines += ["  " + s for s in self._notes.lines("notes")]
        if self._problems.total:
            lines.append(f"{self._problems.total:,} problem(s); nothing was written:")
            lines += ["  " + p for p in self.problem_lines()]
        elif self.cancelled:
            lines.append("cancelled: nothing was written")
        elif self.dry_run:
            lines.append("dry run: nothing was written")
        return "\n".join(lines)

    def to_dict(self):
        return {
            "file": self.file, "format": self.format, "label": self.label,
            "encoding": self.encoding, "sheet": self.sheet, "summary": self.summary,
            "orders": self.orders_found, "lines": self.lines_found,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
            "counts": self.counts, "skipped": self.skipped,
            "skipped_count": self.skipped_count, "notes": self.notes,
            "problems": self.problems, "problem_count": self.problem_count,
            "dry_run": self.dry_run, "cancelled": self.cancelled, "written": self.written,
        }


def _n(count, word):
    return f"{count:,} {word}{'' if count == 1 else 's'}"
