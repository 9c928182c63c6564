"""A one-page invoice PDF for an order (reportlab), written atomically.

The shop's name, address and tax number come from its settings; amounts are in the
order's currency and the shop's locale (money_display.format_money). Every figure is the
order's own, stored at the sale: lines after discounts, the discounts, tax per rate, the
total. An order with very many lines flows onto further pages, the table header repeated.
"""
from pathlib import Path
from xml.sax.saxutils import escape

from . import settings
from .i18n import _, format_count, say_stored
from .models import _rate
from .money_display import format_day, format_money
from .reports import atomic_output

SHOP_NAME = "Larder"  # when the shop has no name in its settings


def _text(value):
    return escape(str(value or ""))  # user text goes into Paragraph markup


def order_rates(order):
    """[(rate bp, net, tax)] of the order's lines, ascending: the invoice's tax table."""
    rates = {}
    for line in order.lines:
        net, tax = rates.get(line.tax_rate_bp, (0, 0))
        rates[line.tax_rate_bp] = (net + line.net_cents, tax + line.tax_cents)
    return [(rate, net, tax) for rate, (net, tax) in sorted(rates.items())]


def _shop():
    name = settings.get("shop_name") or SHOP_NAME
    details = [_text(settings.get("shop_address")).replace("\n", "<br/>")]
    if settings.get("shop_tax_number"):
        number = settings.get("shop_tax_number")
        details.append(_text(_("Tax number %(number)s", number=number)))
    return name, "<br/>".join(d for d in details if d)


def _story(order):
    # reportlab here, not at the module's top: the receipt page (order_rates) and the web
    # process's start do not load the PDF stack (issue 13: memory).
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

    ACCENT = colors.HexColor("#2f6f4f")
    styles = getSampleStyleSheet()
    SHOP = ParagraphStyle("InvoiceShop", parent=styles["Title"], alignment=0, fontSize=24,
                          leading=28, textColor=ACCENT, spaceBefore=0, spaceAfter=0)
    NORMAL = styles["Normal"]
    NOTE = ParagraphStyle("InvoiceNote", parent=NORMAL, textColor=colors.HexColor("#aa3333"))
    customer = order.customer
    text = _text

    def money(cents):
        return format_money(cents, currency=order.currency or None)

    name, details = _shop()
    # Outside the f-strings below, where the catalog's extractor can see them.
    invoice, for_order = _("Invoice"), _("Invoice for order %(ref)s", ref=order.ref)
    head = Table([[
        Paragraph(f"{text(name)}<br/><font size='12' color='#555555'>{text(invoice)}</font>",
                  SHOP),
        Paragraph(f"<b>{text(for_order)}</b><br/>"
                  + text(_("Date %(day)s", day=format_day(order.created_at)))
                  + ("<br/>" + text(_("Paid by %(method)s", method=_(order.payment_method)))
                     if order.payment_method else ""), NORMAL),
    ]], colWidths=[95 * mm, 75 * mm], hAlign="LEFT")
    head.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                              ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    if customer is not None:
        place = ", ".join(p for p in (customer.city, customer.country) if p)
        bill = _("Bill to")
        bill_to = Paragraph(f"<b>{text(bill)}</b><br/>{text(customer.name)}<br/>"
                            f"{text(customer.email or '')}<br/>{text(place)}", NORMAL)
    else:
        bill_to = Paragraph("<b>" + text(_("Walk-in sale")) + "</b>", NORMAL)

    rows = [[_("SKU"), _("Product"), _("Qty"), _("Unit price"), _("Discount"), _("Tax"),
             _("Amount")]]
    rows += [[line.product.sku,
              line.product.name if len(line.product.name) <= 34 else line.product.name[:33] + "…",
              format_count(line.quantity), money(line.unit_price_cents),
              money(line.discount_cents) if line.discount_cents else "",
              _rate(line.tax_rate_bp) + " %", money(line.net_cents + line.tax_cents)]
             for line in order.lines]
    summary = [[_("Before discounts"), "", "", "", "", "", money(order.gross_cents)]]
    if order.discount_cents:
        label = (_("Discounts (%(rate)s %% off the order)", rate=_rate(order.discount_percent_bp))
                 if order.discount_percent_bp else _("Discounts"))
        summary.append([label, "", "", "", "", "", "-" + money(order.discount_cents)])
    for rate, net, tax in order_rates(order):
        summary.append([_("Tax %(rate)s %% on %(net)s", rate=_rate(rate), net=money(net)),
                        "", "", "", "", "", money(tax)])
    summary.append([_("Total"), "", "", "", "", "", money(order.total_cents)])
    rows += summary
    table = Table(rows, repeatRows=1, hAlign="LEFT",
                  colWidths=[22 * mm, 48 * mm, 12 * mm, 22 * mm, 20 * mm, 20 * mm, 26 * mm])
    first_summary = len(rows) - len(summary)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
        ("FONT", (0, -1), (-1, -1), "Helvetica-Bold", 10),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("BACKGROUND", (0, 0), (-1, 0), ACCENT),
        ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
        ("ALIGN", (0, first_summary), (-1, -1), "RIGHT"),
        ("LINEABOVE", (0, first_summary), (-1, first_summary), 1, colors.black),
        ("LINEABOVE", (0, -1), (-1, -1), 1, colors.black),
        ("ROWBACKGROUNDS", (0, 1), (-1, first_summary - 1),
         [colors.white, colors.HexColor("#eef4f0")]),
    ]))
    # Summary rows: the label spans the columns left of the amount.
    table.setStyle(TableStyle([("SPAN", (0, i), (5, i))
                               for i in range(first_summary, len(rows))]))
    story = [head]
    if details:
        story += [Paragraph(details, NORMAL)]
    story += [Spacer(1, 10 * mm), bill_to, Spacer(1, 10 * mm), table]
    if order.status == "failed":  # printable, but say it was never fulfilled
        story += [Spacer(1, 6 * mm),
                  Paragraph(text(_("This order failed: %(why)s",
                                   why=say_stored(order.status_reason or ""))), NOTE)]
    return story


def write_invoice(order, out_path):
    """Write the invoice of `order` (an Order, inside an app context) to out_path;
    returns out_path as a Path."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    out_path = Path(out_path)
    with atomic_output(out_path) as fh:
        doc = SimpleDocTemplate(fh, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                                topMargin=20 * mm, bottomMargin=20 * mm,
                                title=_("Invoice %(ref)s", ref=order.ref),
                                author=settings.get("shop_name") or SHOP_NAME,
                                creator="Larder")
        doc.build(_story(order))
    return out_path
