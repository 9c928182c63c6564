"""Shopify orders export (Admin > Orders > Export > CSV): one row per line item; the
order's own fields (status, totals, dates, payment, tax lines) are on its first row only.

Decisions (docs/importing.md): shipping becomes a line of the SHIPPING product so the
order's total equals the file's `Total`; tax rates come from `Tax N Name` (`TVA 20%`) and
are given to the lines so that each rate's tax matches `Tax N Value`; refunds (only
`Refunded Amount`, no date) are dated at `Cancelled at`, else at the sale, and say so;
voided/expired, unpaid, cancelled-without-refund and test-gateway orders are skipped.
"""
from ...i18n import N_
import itertools

from ...tax import Line, PricingError, price_order
from ..values import ValueProblem, parse_money
from ..records import (CustomerRecord, LineRecord, ProductRecord, Reason, RefundRecord,
                       SaleRecord)
from .common import (SHIPPING_SKU, Columns, Row, consecutive, header_has,
                     made_up_sku, payment_method, rate_from_text)

NAME = "shopify_orders"
LABEL = N_("Shopify orders export")  # translated where shown (webapp/i18n.py)
SOURCE = "shopify"

COLUMNS = {
    "name": "Name", "email": "Email", "status": "Financial Status", "currency": "Currency",
    "subtotal": "Subtotal", "shipping": "Shipping", "taxes": "Taxes", "total": "Total",
    "discount_code": "Discount Code", "discount": "Discount Amount",
    "shipping_method": "Shipping Method", "created": "Created at",
    "qty": "Lineitem quantity", "item": "Lineitem name", "price": "Lineitem price",
    "sku": "Lineitem sku", "taxable": "Lineitem taxable",
    "line_discount": "Lineitem discount", "billing_name": "Billing Name",
    "city": "Billing City", "country": "Billing Country", "cancelled": "Cancelled at",
    "payment": "Payment Method", "refunded": "Refunded Amount", "id": "Id",
    **{f"tax{n}_name": f"Tax {n} Name" for n in range(1, 6)},
    **{f"tax{n}_value": f"Tax {n} Value" for n in range(1, 6)},
}
UNPAID = {"pending": N_("not paid yet (pending)"),
          "authorized": N_("not paid yet (authorized)"), "voided": N_("voided"),
          "expired": N_("expired (never paid)")}


def recognise(header):
    return header_has(header, "Name", "Created at", "Lineitem quantity", "Lineitem name",
                      "Lineitem price", "Financial Status")


def records(table, context):
    columns = Columns(table.header, COLUMNS)
    columns.taxes = [(columns.index[f"tax{n}_name"], columns.index[f"tax{n}_value"])
                     for n in range(1, 6) if columns.has(f"tax{n}_name")
                     and columns.has(f"tax{n}_value")]
    dates = context.dates()
    for name, group in consecutive(table, lambda cells: columns.get(cells, "name")):
        if name is None:
            yield group
            continue
        yield from _order(columns, group, context, dates)


def _order(columns, group, context, dates):
    first_line, first = group[0]
    head = Row(columns, first_line, first)
    if not head.text("status") and not head.text("total"):
        head.bad("status", Reason(N_("order %(order)s: its first row (with the status, "
                                     "totals and date) is missing or not next to its other "
                                     "rows"), order=head.text("name")))
        yield from head.problems
        return
    created = head.when(dates, "created")
    status = head.text("status").lower()
    cancelled = head.when(dates, "cancelled") if head.text("cancelled") else None
    total = head.money("total", empty=0)
    subtotal = head.money("subtotal", empty=0)
    shipping = head.money("shipping", empty=0)
    taxes = head.money("taxes", empty=0)
    discount = head.money("discount", empty=0)
    refunded = head.money("refunded", empty=0)
    problems = head.problems
    lines, taxable = [], []
    for line, cells in group:
        row = Row(columns, line, cells)
        quantity = row.quantity("qty")
        price = row.money("price")
        line_discount = row.money("line_discount", empty=0)
        item = row.text("item")
        if not item:
            row.bad("item", N_("missing product name"))
        problems += row.problems
        if row.problems:
            continue
        sku = row.text("sku") or made_up_sku(SOURCE, item)
        lines.append(LineRecord(line, ProductRecord(line, sku, item[:200]), quantity, price,
                                discount_cents=line_discount))
        taxable.append(row.text("taxable").lower() != "false")
    if problems or created is None:
        yield from problems
        return
    if shipping:
        lines.append(LineRecord(first_line, ProductRecord(
            first_line, SHIPPING_SKU, "Shipping", category="Shipping"), 1, shipping))
        taxable.append(True)
    included = _prices_include_tax(subtotal, shipping, taxes, total, context)
    line_discounts = sum(line.discount_cents for line in lines)
    order_discount = max(discount - line_discounts, 0)
    _give_rates(columns, first, lines, taxable, included, order_discount, taxes)
    email = head.text("email").lower()
    customer = CustomerRecord(first_line, email=email, name=head.text("billing_name"),
                              country=head.text("country"),
                              city=head.text("city")) if email else None
    source_id = head.text("id") or head.text("name")
    sale = SaleRecord(first_line, SOURCE, source_id, created, lines, customer=customer,
                      payment_method=payment_method(head.text("payment").split("+")[0]),
                      prices_include_tax=included, order_discount_cents=order_discount,
                      expected_total_cents=total, expected_tax_cents=taxes,
                      currency=head.text("currency"))
    sale.skip = _skip(status, cancelled, refunded, head.text("payment"))
    if refunded and not sale.skip:
        when = cancelled or created
        said = "at its cancellation" if cancelled else "on the day of the sale"
        whole = status == "refunded" and refunded == total
        sale.refunds.append(RefundRecord(
            first_line, when, refunded,
            reason=f"refunded in Shopify; the export gives no refund date, so it is dated "
                   f"{said}",
            lines=[(i, line.quantity) for i, line in enumerate(lines)] if whole else []))
    yield sale


def _skip(status, cancelled, refunded, payment):
    if "bogus" in payment.lower():
        return N_("test order (paid with Shopify's test gateway)")
    if status in UNPAID:
        return UNPAID[status]
    if cancelled and not refunded:
        return N_("cancelled")
    return ""


def _prices_include_tax(subtotal, shipping, taxes, total, context):
    """Shopify's Total adds Taxes only when prices are without tax."""
    if taxes and subtotal + shipping + taxes == total:
        return False
    if subtotal + shipping == total:
        return True
    return context.prices_include_tax


def _give_rates(columns, first, lines, taxable, included, order_discount, taxes):
    """Give each taxable line a rate so that every named rate's tax is the file's."""
    named = []
    for name_at, value_at in columns.taxes:
        if not first[name_at]:
            break  # Shopify fills Tax 1, 2, ... in turn
        rate = rate_from_text(first[name_at])
        cell = first[value_at].strip()
        if rate is not None and cell:
            try:
                named.append((rate, parse_money(cell)))
            except ValueProblem:
                pass  # Taxes (checked) still holds the order's tax
    rates = sorted({rate for rate, _ in named})
    taxed = [i for i, yes in enumerate(taxable) if yes]
    if not rates or not taxes:
        return  # no tax: rates stay 0
    wanted = {}
    for rate, cents in named:
        wanted[rate] = wanted.get(rate, 0) + cents
    # Shipping is taxed in the EU, often not in the US: its line may also be at 0.
    shipping = len(lines) - 1 if lines[-1].product.sku == SHIPPING_SKU else None
    if len(rates) == 1:
        for i in taxed:
            lines[i].tax_rate_bp = rates[0]
        if shipping is not None and _taxes_by_rate(lines, included, order_discount) != wanted:
            lines[shipping].tax_rate_bp = 0
            if _taxes_by_rate(lines, included, order_discount) != wanted:
                lines[shipping].tax_rate_bp = rates[0]
        return
    if len(taxed) <= 10:
        options = [rates + [0] if i == shipping else rates for i in taxed]
        for choice in itertools.product(*options):
            for i, rate in zip(taxed, choice):
                lines[i].tax_rate_bp = rate
            if _taxes_by_rate(lines, included, order_discount) == wanted:
                return
    # No exact match (or too many lines to try): the largest tax line's rate for all; the
    # engine's check against `Taxes` (expected_tax_cents) then shows the difference.
    top = max(named, key=lambda item: item[1])[0]
    for i in taxed:
        lines[i].tax_rate_bp = top


def _taxes_by_rate(lines, included, order_discount):
    try:
        priced = price_order([Line(line.quantity, line.unit_price_cents, line.tax_rate_bp,
                                   line.discount_cents) for line in lines],
                             prices_include_tax=included,
                             discount_amount_cents=order_discount)
    except PricingError:
        return None
    return {r.rate_bp: r.tax_cents for r in priced.rates if r.rate_bp}

