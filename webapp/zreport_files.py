"""The X/Z report as JSON, CSV and PDF, from day_close.report_data.

Each is a pure function of the data and the shop's language: the same data gives the
same bytes (JSON with a fixed key order; the PDF with reportlab's `invariant=1`, which
fixes its creation date and document id). A Z-report's files are made once, when the day
is closed, and stored; downloads return the stored bytes (docs/end-of-day.md). The JSON
and CSV are for machines (English keys, plain numbers, the currency named); the PDF is for
people: its words in the shop's language (webapp/i18n.py), money, counts and rates in
its locale ("42,81 €", "5,5 %" in de_DE), the business day and times as ISO dates.
"""
import csv
import io
import json

from .csv_cells import money_header, text_cell
from .i18n import N_, _, format_count, shop_locale, translate
from .money_display import money_for_pdf

# Labels translated when the PDF is made (N_ marks them for the catalog).
LABELS = (("orders", N_("Orders")), ("gross", N_("Gross sales (before discounts)")),
          ("discounts", N_("Discounts")), ("refunds", N_("Refunds")),
          ("revenue", N_("Revenue")), ("tax", N_("Tax")),
          ("net", N_("Net (revenue less tax)")))
UNKNOWN = N_("unknown")  # day_close's method for sales made before methods were recorded


def title(data):
    if data["report"] == "Z":
        return _("Z-report No. %(number)s", number=data["number"])
    return _("X-report (the day so far)")


def render_json(data):
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _num(value):
    """JSON's money number -> '12.30' (CSV keeps plain numbers with two decimals)."""
    return f"{value:.2f}"


def render_csv(data):
    """One block per section, first cell naming it (as the sales report's CSV); a money
    column's header names the currency, `revenue (EUR)`, over plain numbers."""
    money = lambda name: money_header(name, data["currency"])  # noqa: E731
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["section", "report", "number", "business_day", "since", "until",
                "closed_at", "first_order", "last_order", "currency"])
    w.writerow(["report", data["report"], data["number"] or "", data["business_day"],
                data["since"], data["until"],
                data.get("closed_at") or data.get("printed_at"),
                text_cell(data["first_order"] or ""), text_cell(data["last_order"] or ""),
                data["currency"]])
    w.writerow([])
    w.writerow(["section", LABELS[0][0], *(money(key) for key, _ in LABELS[1:]),
                money("cash_expected")])
    totals = data["totals"]
    w.writerow(["totals", totals["orders"], *(_num(totals[k]) for k, _ in LABELS[1:]),
                _num(data["cash_expected"])])
    w.writerow([])
    w.writerow(["section", "rate", money("net"), money("tax"), money("gross")])
    for row in data["tax"]:
        w.writerow(["tax", _num(row["rate"]), _num(row["net"]), _num(row["tax"]),
                    _num(row["gross"])])
    w.writerow([])
    w.writerow(["section", "method", "orders", money("takings")])
    for row in data["payments"]:
        w.writerow(["payments", text_cell(row["method"]), row["orders"],
                    _num(row["takings"])])
    return out.getvalue()


def _cents(value):
    return round(value * 100)


def _rate(value):
    from babel.numbers import format_decimal

    return f"{format_decimal(value, locale=shop_locale())} %"  # "5.5 %", "5,5 %"


def render_pdf(data):
    """One A4 page (more if there are many rates or methods), in the shop's language,
    amounts in the report's currency and the shop's locale. Deterministic: invariant=1 and
    no clock read here."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
    from xml.sax.saxutils import escape

    styles = getSampleStyleSheet()
    money = lambda value: money_for_pdf(_cents(value), data["currency"])  # noqa: E731

    def table(rows, right_from=1):
        t = Table(rows, hAlign="LEFT")
        t.setStyle(TableStyle([
            ("FONT", (0, 0), (-1, -1), "Helvetica", 10),
            ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 10),
            ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.grey),
            ("ALIGN", (right_from, 0), (-1, -1), "RIGHT")]))
        return t

    shop = data["shop"]
    head = [escape(part) for part in (shop["name"], shop["address"]) if part]
    if shop["tax_number"]:
        head.append(escape(_("Tax number: %(number)s", number=shop["tax_number"])))
    when = data.get("closed_at") or data.get("printed_at")
    story = [Paragraph(escape(title(data)), styles["Title"])]
    story += [Paragraph(line, styles["Normal"]) for line in head]
    story += [Spacer(1, 4 * mm), table([
        [_("Business day"), data["business_day"]],
        [_("From"), data["since"].replace("T", " ")],
        [_("Until (not included)"), data["until"].replace("T", " ")],
        [_("Closed at") if data["report"] == "Z" else _("Printed at"), when.replace("T", " ")],
        [_("First order"), data["first_order"] or _("none")],
        [_("Last order"), data["last_order"] or _("none")]], right_from=2),
        Spacer(1, 6 * mm)]
    totals = data["totals"]
    story.append(table([[_("Totals"), ""], [_("Orders"), format_count(totals["orders"])]]
                       + [[_(label), money(totals[key])] for key, label in LABELS[1:]]))
    rates = [[_rate(r["rate"]), money(r["net"]), money(r["tax"]), money(r["gross"])]
             for r in data["tax"]]
    story += [Spacer(1, 6 * mm), table([[_("Tax rate"), _("Net"), _("Tax"), _("Gross")]]
                                       + (rates or [[_("no sales"), "", "", ""]]))]
    story += [Spacer(1, 6 * mm), table(
        [[_("Payment method"), _("Orders"), _("Takings")]]
        + [[escape(translate(r["method"])), format_count(r["orders"]), money(r["takings"])]
           for r in data["payments"]])]
    story += [Spacer(1, 6 * mm), table([[_("Cash expected in the till"), money(
        data["cash_expected"])]]), Paragraph(escape(_(
            "Cash takings less cash refunds; the float is not included.")), styles["Italic"])]
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                            topMargin=20 * mm, bottomMargin=20 * mm, invariant=1,
                            title=f"{title(data)}, {data['business_day']}",
                            author="Larder", creator="Larder")
    doc.build(story)
    return out.getvalue()
