"""JSON report: exactly the keys totals, by_month, by_category, by_country, top_products.

Money is a JSON number with exactly two decimals (`1234.50`): the json module would write
a float as `1234.5`, so this small writer emits the cents as text itself, exactly. Counts
are integers. One row per line keeps the file readable and diffable.
"""
import json

from ..money import cents_to_str
from .report_data import COLUMNS, SECTIONS, public


def _row(row, columns):
    parts = []
    for key in columns:
        value = row[key]
        text = cents_to_str(value) if key.endswith("_cents") else json.dumps(value)
        parts.append(f"{json.dumps(public(key))}: {text}")
    return "{" + ", ".join(parts) + "}"


def dumps(data):
    """The report as JSON text (a dict from report_data.collect)."""
    blocks = []
    for section in SECTIONS:
        value, columns = data[section], COLUMNS[section]
        if isinstance(value, dict):
            body = _row(value, columns)
        elif value:
            body = "[\n" + ",\n".join(f"    {_row(row, columns)}" for row in value) + "\n  ]"
        else:
            body = "[]"
        blocks.append(f"  {json.dumps(section)}: {body}")
    return "{\n" + ",\n".join(blocks) + "\n}\n"


def write(data, fh, progress=None):
    """Write to a binary file object (UTF-8)."""
    fh.write(dumps(data).encode("utf-8"))
