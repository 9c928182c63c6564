"""Loyverse "Receipts by item" export (Back Office > Reports > Receipts > Export): one row
per item; a receipt's rows share `Receipt number`. `Receipt type` Sale or Refund (a refund
is its own receipt, not linked to its sale: matched to the latest earlier sale in the file
with the same item and customer); `Status` Cancelled receipts are skipped. Dates follow
the account's locale and carry no zone (shop time). No tax-rate column: rates come from
the amounts, snapped to the shop's rates. Payment types are only in the receipts summary
file, which is recognised and refused with a plain reason (docs/importing.md)."""
from ...i18n import N_
from ..records import CustomerRecord, ProductRecord, RefundRecord, SaleRecord
from ...validation import EMAIL_RE
from .common import (DEFAULT_CATEGORY, Columns, RefundMatcher, Row, consecutive, header_has,
                     item_amounts, made_up_sku)

NAME = "loyverse_receipts"
LABEL = N_("Loyverse receipts by item export")  # translated where shown (webapp/i18n.py)
SOURCE = "loyverse"

COLUMNS = {
    "date": "Date", "receipt": "Receipt number", "type": "Receipt type",
    "category": "Category", "sku": "SKU", "item": ("Item", "Item name"),
    "variant": "Variant", "qty": "Quantity", "gross": "Gross sales",
    "discounts": "Discounts", "net": "Net sales", "cost": "Cost of goods",
    "tax": "Taxes", "customer": "Customer name", "contacts": "Customer contacts",
    "status": "Status",
}


# Receipts that sold nothing: listed as skipped, in whole words for the catalog.
_SKIPPED = {"cancelled": N_("cancelled receipt"), "canceled": N_("canceled receipt"),
            "voided": N_("voided receipt")}

def recognise(header):
    return (header_has(header, "Receipt number", "Receipt type", "Quantity", "Gross sales",
                       "Net sales") and (header_has(header, "Item")
                                         or header_has(header, "Item name")))


def is_summary(header):
    """Loyverse's other receipts file: one row per receipt, no items."""
    return header_has(header, "Receipt number", "Receipt type", "Total collected",
                      "Payment type") and not recognise(header)


def records(table, context):
    columns = Columns(table.header, COLUMNS)
    dates, matcher = context.dates(), RefundMatcher()
    for number, group in consecutive(table, lambda cells: columns.get(cells, "receipt")):
        if number is None:
            yield group
            continue
        yield from _receipt(columns, group, context, dates, matcher)


def _receipt(columns, group, context, dates, matcher):
    head = Row(columns, *group[0], decimal=".")
    created = head.when(dates, "date")
    refund = head.text("type").lower() == "refund"
    included = context.prices_include_tax
    lines, problems, paid, taxes = [], list(head.problems), 0, 0
    for line, cells in group:
        row = Row(columns, line, cells)
        amounts = item_amounts(row, included, context.tax_rates_bp)
        problems += row.problems
        if amounts is None:
            continue
        paid += amounts.paid_cents
        taxes += amounts.tax_cents
        item, variant = row.text("item"), row.text("variant")
        name = f"{item} ({variant})" if variant else item
        product = ProductRecord(line, row.text("sku") or made_up_sku(SOURCE, name), name[:200],
                                category=row.text("category") or DEFAULT_CATEGORY)
        lines.append(amounts.line(line, product))
    if problems or created is None:
        yield from problems
        return
    contact = head.text("contacts")
    customer = None
    if EMAIL_RE.fullmatch(contact):  # a phone number is not a customer key: walk-in
        customer = CustomerRecord(head.line, email=contact.lower(), name=head.text("customer"))
    if refund:
        skus = [(line.product.sku, line.quantity) for line in lines]
        ref = matcher.match(skus, customer)
        how = ("matched to the latest earlier sale of the same item in this file" if ref
               else "no earlier sale of the same item in this file")
        yield RefundRecord(head.line, created, paid, sale_ref=ref, skus=skus, tax_cents=taxes,
                           customer=customer,
                           reason=f"refund receipt {head.text('receipt')} in Loyverse; the "
                                  f"export does not say which sale it refunds ({how})")
        return
    sale = SaleRecord(head.line, SOURCE, head.text("receipt"), created, lines,
                      customer=customer, prices_include_tax=included,
                      expected_total_cents=paid, expected_tax_cents=taxes)
    status = head.text("status").lower()
    if status in _SKIPPED:
        sale.skip = _SKIPPED[status]
    else:
        matcher.sold(sale)
    yield sale
