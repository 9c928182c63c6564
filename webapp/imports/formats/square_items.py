"""Square "Items Detail" export (Dashboard > Transactions > Export > Item Detail CSV): one
row per item; lines of a sale share `Transaction ID`; `Event Type` Payment or Refund
(refund rows carry the sale's Transaction ID and become refunds on their own). Money
`$8.00`/`-$3.00`, `Qty` `1.0`. Prices are without tax (Net Sales + Tax = what was paid).
`Date`+`Time` are local to `Time Zone` (a Rails zone name) and converted to shop time."""
from ...i18n import N_
from ..records import CustomerRecord, ProductRecord, RefundRecord, SaleRecord
from ..values import ValueProblem, zone_named
from .common import (DEFAULT_CATEGORY, Columns, Row, consecutive, header_has,
                     item_amounts, made_up_sku)

NAME = "square_items"
LABEL = N_("Square items detail export")  # translated where shown (webapp/i18n.py)
SOURCE = "square"

COLUMNS = {
    "date": "Date", "time": "Time", "zone": "Time Zone", "category": "Category",
    "item": "Item", "qty": "Qty", "point": "Price Point Name", "sku": "SKU",
    "gross": "Gross Sales", "discounts": "Discounts", "net": "Net Sales", "tax": "Tax",
    "tx": "Transaction ID", "payment_id": "Payment ID", "event": "Event Type",
    "customer_id": "Customer ID", "customer_name": "Customer Name",
    "card": "Card Brand",
}


def recognise(header):
    return header_has(header, "Transaction ID", "Gross Sales", "Net Sales", "Item", "Qty")


def records(table, context):
    columns = Columns(table.header, COLUMNS)
    dates, zones = context.dates(), {}

    def key(cells):  # a refund shares its sale's Transaction ID, never its Event Type
        return (columns.get(cells, "tx"), columns.get(cells, "payment_id"),
                columns.get(cells, "event"))

    for group_key, group in consecutive(table, key):
        if group_key is None:
            yield group
            continue
        yield from _group(columns, group, context, dates, zones)


def _zone(row, zones):
    name = row.text("zone")
    if not name:
        return None
    if name not in zones:
        try:
            zones[name] = zone_named(name)
        except ValueProblem as exc:
            zones[name] = exc
    if isinstance(zones[name], ValueProblem):
        row.bad("zone", zones[name].reason)
        return None
    return zones[name]


def _group(columns, group, context, dates, zones):
    head = Row(columns, *group[0], decimal=".")
    zone = _zone(head, zones)
    created = head.when(dates, "date", zone, text=f"{head.text('date')} {head.text('time')}")
    refund = head.text("event").lower() == "refund"
    lines, problems, paid, taxes = [], list(head.problems), 0, 0
    for line, cells in group:
        row = Row(columns, line, cells)
        amounts = item_amounts(row, False, context.tax_rates_bp)  # Square: tax on top
        problems += row.problems
        if amounts is None:
            continue
        item, point = row.text("item"), row.text("point")
        name = f"{item} ({point})" if point and point != "Regular" else item
        category = row.text("category")
        product = ProductRecord(line, row.text("sku") or made_up_sku(SOURCE, name), name[:200],
                                category=(category if category != "None" else "")
                                or DEFAULT_CATEGORY)
        paid += amounts.paid_cents
        taxes += amounts.tax_cents
        lines.append(amounts.line(line, product))
    if problems or created is None:
        yield from problems
        return
    tx = head.text("tx")
    if refund:
        yield RefundRecord(head.line, created, paid, reason="refunded in Square",
                           sale_ref=f"{SOURCE}:{tx}",
                           skus=[(line.product.sku, line.quantity) for line in lines],
                           tax_cents=taxes)
        return
    customer = None
    if head.text("customer_id"):
        customer = CustomerRecord(head.line, till_id=f"{SOURCE}:{head.text('customer_id')}",
                                  name=head.text("customer_name"))
    yield SaleRecord(head.line, SOURCE, tx, created, lines, customer=customer,
                     payment_method="card" if head.text("card") else "",
                     prices_include_tax=False, expected_total_cents=paid,
                     expected_tax_cents=taxes)
