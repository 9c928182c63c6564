"""JSON report: `currency` (the shop's ISO code, which every amount is in), then the
sections of report_data.SECTIONS, each a key: `totals` an object, `comparison` an object
with `previous_period` and `previous_year`, the others lists.

Money is a JSON number with exactly two decimals (`1234.50`): the json module would write
a float as `1234.5`, so this small writer emits the cents as text itself, exactly. Rates
and percents are exact numbers (`20`, `5.5`, `37.5`) or null; counts are integers. One
row per line keeps the file readable and diffable.
"""
from decimal import Decimal
import json

from ..money import cents_to_str
from .report_data import COLUMNS, SECTIONS, public


def _value(key, value):
    if value is None:
        return "null"
    if key.endswith("_cents"):
        return cents_to_str(value)
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value)


def _row(row, columns):
    return "{" + ", ".join(f"{json.dumps(public(key))}: {_value(key, row[key])}"
                           for key in columns) + "}"


def dumps(data):
    """The report as JSON text (a dict from report_data.collect)."""
    blocks = [f'  "currency": {json.dumps(data["currency"])}']
    for section in SECTIONS:
        value, columns = data[section], COLUMNS[section]
        if isinstance(value, dict):
            body = _row(value, columns)
        elif section == "comparison":  # an object: {"previous_period": {...}, ...}
            rest = [key for key in columns if key != "period"]
            body = "{\n" + ",\n".join(f"    {json.dumps(row['period'])}: {_row(row, rest)}"
                                      for row in value) + "\n  }"
        elif value:
            body = "[\n" + ",\n".join(f"    {_row(row, columns)}" for row in value) + "\n  ]"
        else:
            body = "[]"
        blocks.append(f"  {json.dumps(section)}: {body}")
    return "{\n" + ",\n".join(blocks) + "\n}\n"


def write(data, fh, progress=None):
    """Write to a binary file object (UTF-8)."""
    fh.write(dumps(data).encode("utf-8"))
