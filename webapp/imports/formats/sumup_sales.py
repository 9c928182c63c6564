"""SumUp sales report (profile > Reports > Sales), English (to 2024-04: `Date`, `Time`,
`Price (Gross)`, `Tax rate`, `Transaction refunded`) and German (2024-05 on: `Datum`,
`Preis vor Rabatt`, `Rabatt`, `Steuersatz`). One row per item; a sale's rows share the
transaction id. Prices include tax; the rate is written (`7.7%`). `Account`/`Konto` is the
staff login, never a customer: every sale is a walk-in sale. Refund rows become refunds on
their own, linked by `Transaction refunded` (English) or, when the report does not link
them (German), to the latest earlier sale of the same item in the file."""
from ...i18n import N_
from ..records import LineRecord, ProductRecord, Reason, RefundRecord, SaleRecord
from .common import (DEFAULT_CATEGORY, Columns, RefundMatcher, Row, consecutive, header_has,
                     made_up_sku, payment_method, rate_from_text, unit_and_extra)

NAME = "sumup_sales"
LABEL = N_("SumUp sales report")  # translated where shown (webapp/i18n.py)
SOURCE = "sumup"

COLUMNS = {
    "date": ("Date", "Datum"), "time": "Time", "type": ("Type", "Typ"),
    "tx": ("Transaction ID", "Transaktionsnummer"), "payment": ("Payment Method",
                                                                "Zahlungsmethode"),
    "qty": ("Quantity", "Menge"), "item": ("Description", "Beschreibung"),
    "currency": ("Currency", "Währung"), "before": "Preis vor Rabatt",
    "discount": "Rabatt", "gross": ("Price (Gross)", "Preis (brutto)"),
    "tax": ("Tax", "Steuer"), "rate": ("Tax rate", "Steuersatz"),
    "refunded": "Transaction refunded",
}
SALE_TYPES = {"sales", "sale", "verkauf"}


def recognise(header):
    return (header_has(header, "Transaction ID", "Price (Gross)", "Description", "Tax rate")
            or header_has(header, "Transaktionsnummer", "Preis (brutto)", "Beschreibung"))


def records(table, context):
    columns = Columns(table.header, COLUMNS)
    dates, matcher = context.dates(), RefundMatcher()
    for tx, group in consecutive(table, lambda cells: columns.get(cells, "tx")):
        if tx is None:
            yield group
            continue
        yield from _group(columns, group, dates, matcher)


def _group(columns, group, dates, matcher):
    head = Row(columns, *group[0])
    when = head.text("date") + (" " + head.text("time") if columns.has("time") else "")
    created = head.when(dates, "date", text=when)
    sale = head.text("type").lower() in SALE_TYPES
    lines, problems, paid, taxes = [], list(head.problems), 0, 0
    for line, cells in group:
        row = Row(columns, line, cells)
        quantity = row.quantity("qty", negative=True)
        gross = row.money("gross", negative=True)
        tax = row.money("tax", negative=True, empty=0)
        before = row.money("before", negative=True) if columns.has("before") else gross
        rate = rate_from_text(row.text("rate")) if row.text("rate") else 0
        item = " ".join(row.text("item").split())
        if not item:
            row.bad("item", N_("missing item description"))
        if rate is None:
            row.bad("rate", Reason(N_("not a tax rate: %(text)r (expected like 7.7%%)"),
                                   text=row.text("rate")))
        if quantity == 0:
            row.bad("qty", N_("a quantity of 0"))
        problems += row.problems
        if row.problems:
            continue
        quantity, gross, tax, before = abs(quantity), abs(gross), abs(tax), abs(before)
        unit, extra = unit_and_extra(before, quantity)
        paid, taxes = paid + gross, taxes + tax
        product = ProductRecord(line, made_up_sku(SOURCE, item), item[:200],
                                category=DEFAULT_CATEGORY)
        lines.append(LineRecord(line, product, quantity, unit, rate,
                                discount_cents=before - gross + extra))
    if problems or created is None:
        yield from problems
        return
    tx = head.text("tx")
    if not sale:
        skus = [(line.product.sku, line.quantity) for line in lines]
        linked = head.text("refunded")
        ref = f"{SOURCE}:{linked}" if linked else matcher.match(skus, None)
        how = ("" if linked else " (the report does not say which sale it refunds: matched "
               "to the latest earlier sale of the same item in this file)" if ref else
               " (the report does not say which sale it refunds)")
        yield RefundRecord(head.line, created, paid, reason="refunded in SumUp" + how,
                           sale_ref=ref, skus=skus, tax_cents=taxes)
        return
    record = SaleRecord(head.line, SOURCE, tx, created, lines,
                        payment_method=payment_method(head.text("payment")),
                        prices_include_tax=True, expected_total_cents=paid,
                        expected_tax_cents=taxes, currency=head.text("currency"))
    matcher.sold(record)
    yield record
