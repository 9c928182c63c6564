"""Text cells in the CSV files Larder writes, made safe for spreadsheets.

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a formula (tab and
carriage return lead to the same), so a product named `=HYPERLINK(...)` would become a
live link or worse in Excel. Every *text* cell (names, categories, SKUs, emails,
countries, cities, order references, report sections and months) starting with one of
those characters is written with a `'` in front, which spreadsheets show as plain text.
Numbers and dates Larder formats itself (prices, quantities, stock, totals, `-3.00`,
`2025-01-31`) are written as they are. So that export then import changes nothing, the
import drops that one `'` again: `'` + any apostrophes + one of the characters.
"""
import re

_FORMULA = re.compile(r"'*[=+\-@\t\r]")
_NEUTRALISED = re.compile(r"'+[=+\-@\t\r]")


def text_cell(value):
    """A text value as it goes into a CSV file."""
    value = "" if value is None else str(value)
    return "'" + value if _FORMULA.match(value) else value


def read_text_cell(value):
    """The value a text cell written by text_cell() stood for."""
    return value[1:] if _NEUTRALISED.match(value) else value
