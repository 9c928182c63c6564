"""Shopify products export (Admin > Products > Export), classic and 2025 column names:
one row per variant; the product's own fields on its first row (carried forward by
Handle); rows with only an image are skipped silently; gift cards are skipped. A
variant's barcode is checked by the products' own rule (catalog.ProductIn)."""
from ...catalog import ProductIn
from ...validation import field_rule
from ...i18n import N_
from ..records import ProductRecord
from .common import (DEFAULT_CATEGORY, Columns, Row, consecutive, header_has, made_up_sku)

NAME = "shopify_products"
LABEL = N_("Shopify products export")  # translated where shown (webapp/i18n.py)
SOURCE = "shopify"

COLUMNS = {
    "handle": ("Handle", "URL handle"), "title": "Title",
    "category": ("Product Category", "Product category"), "type": "Type",
    **{f"opt{n}": (f"Option{n} Value", f"Option{n} value") for n in (1, 2, 3)},
    "sku": ("Variant SKU", "SKU"), "price": ("Variant Price", "Price"),
    "taxable": ("Variant Taxable", "Charge tax"), "gift": "Gift Card",
    "cost": "Cost per item", "status": "Status",
    "stock": ("Variant Inventory Qty", "Inventory quantity"),
    "barcode": ("Variant Barcode", "Barcode"),
}
_BARCODE = field_rule(ProductIn, "barcode")


def recognise(header):
    return (header_has(header, "Handle", "Title", "Variant Price")
            or header_has(header, "URL handle", "Title", "Price", "Product category"))


def records(table, context):
    columns = Columns(table.header, COLUMNS)
    for handle, group in consecutive(table, lambda cells: columns.get(cells, "handle")):
        if handle is None:
            yield group
            continue
        head = Row(columns, *group[0])
        for line, cells in group:
            row = Row(columns, line, cells)
            if not row.text("sku") and not row.text("price"):
                continue  # an extra image of the product
            yield from _variant(row, head)


def _variant(row, head):
    title = head.text("title")
    if not title:
        row.bad("title", N_("missing product name (the product's first row has none)"))
    price = row.money("price")
    cost = row.money("cost", empty=None)
    options = [row.text(f"opt{n}") for n in (1, 2, 3)]
    options = [o for o in options if o and o != "Default Title"]
    barcode = None
    if row.text("barcode"):
        try:  # a spreadsheet's text mark ('0123...) kept the leading zero: it goes
            barcode = _BARCODE(row.text("barcode").removeprefix("'"))
        except ValueError as exc:
            row.bad("barcode", str(exc))
    if row.problems:
        yield from row.problems
        return
    name = " - ".join([title] + options)[:200]
    category = (head.text("type") or head.text("category").split(">")[-1].strip()
                or DEFAULT_CATEGORY)
    status = head.text("status").lower()
    record = ProductRecord(row.line, row.text("sku") or made_up_sku(SOURCE, name), name,
                           category=category[:100], price_cents=price, cost_cents=cost,
                           tax_rate_bp=0 if row.text("taxable").lower() == "false" else None,
                           archived=status == "archived" if status else None,
                           barcode=barcode)
    if (row.text("gift") or head.text("gift")).lower() == "true":
        record.skip = N_("a gift card (not a product Larder sells)")
    stock = row.text("stock")
    if stock.lstrip("-").isdigit():
        record.stock = max(int(stock), 0)
    yield record
