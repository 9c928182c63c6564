"""CSV report: one file, one block per section, for a spreadsheet user and a script alike.

Layout: each block is a header row whose first cell is `section`, then that section's
rows whose first cell names it (`range`, then report_data.SECTIONS: `totals`,
`by_month`, `by_category`, `by_country`, `top_products`, `tax`, `margin_by_product`,
`products_without_cost`, `margin_by_category`, `by_hour`, `by_weekday`,
`by_payment_method`, `comparison`), then a blank line. Filtering column A on a section name
gives that table; a script keeps rows by their first cell. A money column's header names
the shop's currency (`revenue (EUR)`, csv_cells.money_header); its cells are `1234.50`
text (no thousands separator, no currency sign), counts are whole numbers, rates and
percents `20`, `5.5`, `37.5` (empty when there is none, as a change from a period without
sales). UTF-8 with a byte-order mark, so Excel shows "Café" rather than "CafÃ©". Text
cells starting with `=`, `+`, `-`, `@`, tab or carriage return get a `'` in front
(webapp.csv_cells); numbers never do.
"""
import csv
import io

from ..csv_cells import money_header, text_cell
from ..money import cents_to_str
from .report_data import COLUMNS, SECTIONS, public


def dumps(data):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows([["section", "start", "end"],
                      ["range", data["start"].isoformat(), data["end"].isoformat()]])
    for section in SECTIONS:
        rows = data[section]
        writer.writerow([])
        writer.writerow(["section", *(_name(key, data["currency"])
                                      for key in COLUMNS[section])])
        for row in [rows] if isinstance(rows, dict) else rows:
            writer.writerow([section, *(_cell(key, row[key]) for key in COLUMNS[section])])
    return out.getvalue()


def _name(key, currency):
    """`revenue_cents` -> `revenue (EUR)`; `orders` -> `orders`."""
    return money_header(public(key), currency) if key.endswith("_cents") else key


def _cell(key, value):
    if value is None:
        return ""
    if key.endswith("_cents"):
        return cents_to_str(value)
    return text_cell(value) if isinstance(value, str) else value


def write(data, fh, progress=None):
    """Write to a binary file object."""
    fh.write(dumps(data).encode("utf-8-sig"))
