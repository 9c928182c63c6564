"""A one-page invoice PDF for an order (reportlab), written atomically.

Shop details are a placeholder ("Larder") until the app has settings for them. Amounts
read `1,234.50` (money.cents_for_display); the total is the order's stored total. An
order with very many lines flows onto further pages, the table header repeated.
"""
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .money import cents_for_display
from .reports import atomic_output

SHOP_NAME = "Larder"
ACCENT = colors.HexColor("#2f6f4f")
_STYLES = getSampleStyleSheet()
SHOP = ParagraphStyle("InvoiceShop", parent=_STYLES["Title"], alignment=0, fontSize=24,
                      leading=28, textColor=ACCENT, spaceBefore=0, spaceAfter=0)
NORMAL = _STYLES["Normal"]
NOTE = ParagraphStyle("InvoiceNote", parent=NORMAL, textColor=colors.HexColor("#aa3333"))


def _lines(order):
    return [(line.product.sku, line.product.name, line.quantity, line.unit_price_cents,
             line.quantity * line.unit_price_cents) for line in order.lines]


def _text(value):
    return escape(str(value or ""))  # user text goes into Paragraph markup


def _story(order):
    customer = order.customer
    text = _text
    place = ", ".join(p for p in (customer.city, customer.country) if p)
    head = Table([[
        Paragraph(f"{SHOP_NAME}<br/><font size='12' color='#555555'>Invoice</font>", SHOP),
        Paragraph(f"<b>Invoice for order {text(order.ref)}</b><br/>"
                  f"Date {order.created_at:%Y-%m-%d}", NORMAL),
    ]], colWidths=[95 * mm, 75 * mm], hAlign="LEFT")
    head.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                              ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    bill_to = Paragraph(f"<b>Bill to</b><br/>{text(customer.name)}<br/>"
                        f"{text(customer.email)}<br/>{text(place)}", NORMAL)

    money = cents_for_display
    rows = [["SKU", "Product", "Qty", "Unit price", "Amount"]]
    rows += [[sku, name if len(name) <= 48 else name[:47] + "…", f"{qty:,}", money(unit),
              money(amount)] for sku, name, qty, unit, amount in _lines(order)]
    rows.append(["", "", "", "Total", money(order.total_cents)])
    table = Table(rows, repeatRows=1, hAlign="LEFT",
                  colWidths=[28 * mm, 72 * mm, 16 * mm, 26 * mm, 28 * mm])
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 9),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 9),
        ("FONT", (0, -1), (-1, -1), "Helvetica-Bold", 10),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("BACKGROUND", (0, 0), (-1, 0), ACCENT),
        ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
        ("LINEABOVE", (3, -1), (-1, -1), 1, colors.black),
        ("ROWBACKGROUNDS", (0, 1), (-1, -2), [colors.white, colors.HexColor("#eef4f0")]),
    ]))
    story = [head, Spacer(1, 10 * mm), bill_to, Spacer(1, 10 * mm), table]
    if order.status == "failed":  # printable, but say it was never fulfilled
        story += [Spacer(1, 6 * mm),
                  Paragraph(f"This order failed: {text(order.status_reason)}", NOTE)]
    return story


def write_invoice(order, out_path):
    """Write the invoice of `order` (an Order, inside an app context) to out_path;
    returns out_path as a Path."""
    out_path = Path(out_path)
    with atomic_output(out_path) as fh:
        doc = SimpleDocTemplate(fh, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                                topMargin=20 * mm, bottomMargin=20 * mm,
                                title=f"Invoice {order.ref}", author=SHOP_NAME,
                                creator=SHOP_NAME)
        doc.build(_story(order))
    return out_path
