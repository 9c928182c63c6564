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


# A money column's header names the shop's currency: `price (EUR)`. The number under it
# stays plain (`1234.50`), so spreadsheets and scripts read it; the import reads the
# header back with split_money_header (imports/formats/larder.py) and takes the plain
# name (`price`) too, as files made by Larder 0.5.0 and earlier have it.
_MONEY_HEADER = re.compile(r"\s*(.*?)\s*\(\s*([A-Za-z]{3})\s*\)\s*")


def money_header(name, currency):
    """'price', 'EUR' -> 'price (EUR)'."""
    return f"{name} ({currency})"


def split_money_header(text):
    """'price (EUR)' -> ('price', 'EUR'); 'price' -> ('price', None). Any case."""
    match = _MONEY_HEADER.fullmatch(text)
    if match and match.group(1):
        return match.group(1), match.group(2).upper()
    return text.strip(), None
