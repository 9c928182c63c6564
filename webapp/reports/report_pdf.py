"""PDF report (reportlab): a title page with the totals, charts, then tables.

Pages: 1. title, range, generated-at time and the four totals in big type; 2. revenue by
month (bars) and by category (horizontal bars); 3. top products (horizontal bars); then
the tables: every total, tax per rate, takings per payment method, the comparison with
the previous period and year, margins by product (products without a cost apart) and by
category, sales by hour and weekday, by country, top products, by category and by month:
the same sections and figures as the CSV and JSON files. Amounts read as the shop writes
money (money_display.format_money: "€12,345.67" in en_GB), rates and percents "5.5 %".

The built-in Helvetica covers Western European text (Latin-1 and a little more); other
scripts would need an embedded TTF font.
"""
from datetime import datetime

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (KeepTogether, PageBreak, Paragraph, SimpleDocTemplate,
                                Spacer, Table, TableStyle)

from .. import settings
from ..i18n import N_, _, format_count
from ..money_display import format_day, format_money, format_moment

ACCENT = colors.HexColor("#2f6f4f")
WIDTH = A4[0] - 40 * mm  # the frame's width with 20 mm margins
_STYLES = getSampleStyleSheet()
TITLE = ParagraphStyle("LarderTitle", parent=_STYLES["Title"], fontSize=30, leading=36,
                       alignment=0, textColor=ACCENT, spaceAfter=6 * mm)
SUBTITLE = ParagraphStyle("LarderSub", parent=_STYLES["Normal"], fontSize=14, leading=20)
BIG = ParagraphStyle("LarderBig", parent=_STYLES["Normal"], fontSize=30, leading=40)
H2 = ParagraphStyle("LarderH2", parent=_STYLES["Heading2"], textColor=ACCENT)
NOTE = _STYLES["Normal"]


def _long_date(day):
    return format_day(day, "long")  # the shop's locale: "14 March 2025", "14. März 2025"


def _count(n):
    return format_count(n)


def _money_format():
    """format_money with the shop's currency and locale read once (each read is a query
    outside a request)."""
    currency, locale = settings.get("currency"), settings.get("locale")
    # The built-in fonts lack the narrow no-break space some locales group digits with.
    return lambda cents: format_money(cents, currency, locale).replace("\u202f", "\u00a0")


def _pct(value):
    return "" if value is None else f"{value} %"


def _title_page(data, generated_at, money):
    totals = data["totals"]
    big = [(_("Orders"), _count(totals["orders"])),
           (_("Revenue"), money(totals["revenue_cents"])),
           (_("Average order value"), money(totals["average_order_value_cents"])),
           (_("New customers"), _count(totals["new_customers"]))]
    story = [
        Spacer(1, 25 * mm),
        Paragraph(_("Larder sales report"), TITLE),
        Paragraph(_("%(first)s to %(last)s", first=_long_date(data["start"]),
                    last=_long_date(data["end"])), SUBTITLE),
        Paragraph(_("Generated %(moment)s", moment=format_moment(generated_at)), SUBTITLE),
        Spacer(1, 20 * mm),
    ]
    # Label and figure in one paragraph, so the text reads "Revenue €12,345.67".
    story += [Paragraph(f'<font size="16" color="#555555">{label}</font> '
                        f'<font name="Helvetica-Bold">{value}</font>', BIG)
              for label, value in big]
    return story


def _value_axis_labels(value):
    return format_count(round(value))


def _month_chart(by_month):
    values = [row["revenue_cents"] / 100 for row in by_month]
    drawing = Drawing(WIDTH, 230)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 55, 45, WIDTH - 70, 165
    chart.data = [values]
    # Every label up to 24 months; beyond that one in `every`, so they do not overlap.
    every = 1 if len(by_month) <= 24 else -(-len(by_month) // 24)
    chart.categoryAxis.categoryNames = [
        row["month"] if i % every == 0 else "" for i, row in enumerate(by_month)]
    chart.categoryAxis.labels.angle = 45
    chart.categoryAxis.labels.boxAnchor = "ne"
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labelTextFormat = _value_axis_labels
    chart.valueAxis.labels.fontSize = 7
    chart.bars[0].fillColor = ACCENT
    chart.bars[0].strokeColor = None
    drawing.add(chart)
    drawing.add(String(0, 220, _("Revenue by month"), fontName="Helvetica-Bold", fontSize=11))
    return drawing


def _bars(title, labels, cents):
    """Horizontal bars, largest on top, each labelled with its amount."""
    rows = len(labels)
    height = 40 + 18 * rows
    drawing = Drawing(WIDTH, height + 20)
    chart = HorizontalBarChart()
    chart.x, chart.y = 150, 10
    chart.width, chart.height = WIDTH - 220, height - 20
    chart.data = [[c / 100 for c in reversed(cents)]]  # the first category is drawn lowest
    chart.categoryAxis.categoryNames = list(reversed(labels))
    chart.categoryAxis.labels.fontSize = 8
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labelTextFormat = _value_axis_labels
    chart.valueAxis.labels.fontSize = 7
    chart.barLabelFormat = _bar_label
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 3
    chart.barLabels.fontSize = 7
    chart.bars[0].fillColor = ACCENT
    chart.bars[0].strokeColor = None
    drawing.add(chart)
    drawing.add(String(0, height + 8, title, fontName="Helvetica-Bold", fontSize=11))
    return drawing


def _bar_label(value):
    from babel.numbers import format_decimal

    return format_decimal(value, "#,##0.00", locale=settings.get("locale"))


def _short(text, limit):
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _table(title, header, rows, right_from):
    """A titled table; columns from index `right_from` hold numbers (right-aligned).
    An empty one is left out (the charts page says when there were no sales)."""
    if not rows:
        return []
    table = Table([header] + rows, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 9),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 9),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("BACKGROUND", (0, 0), (-1, 0), ACCENT),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#eef4f0")]),
        ("ALIGN", (right_from, 0), (-1, -1), "RIGHT"),
        ("LEFTPADDING", (0, 0), (-1, -1), 6),
        ("RIGHTPADDING", (0, 0), (-1, -1), 6),
    ]))
    if len(rows) <= 40:  # a short table stays with its heading; a long one may split
        return [KeepTogether([Paragraph(title, H2), table]), Spacer(1, 6 * mm)]
    return [Paragraph(title, H2), table, Spacer(1, 6 * mm)]


# Labels translated when the PDF is made (N_ marks them for the catalog, webapp/i18n.py).
TOTALS = ((N_("Orders"), "orders", _count), (N_("Gross sales"), "gross_cents", None),
          (N_("Discounts"), "discounts_cents", None), (N_("Refunds"), "refunds_cents", None),
          (N_("Revenue"), "revenue_cents", None), (N_("Tax"), "tax_cents", None),
          (N_("Net (revenue less tax)"), "net_cents", None), (N_("Cost"), "cost_cents", None),
          (N_("Margin"), "margin_cents", None),
          (N_("Lines without a cost"), "lines_without_cost", _count),
          (N_("Average order value"), "average_order_value_cents", None),
          (N_("New customers"), "new_customers", _count))
PERIODS = {"previous_period": N_("Previous period"), "previous_year": N_("A year before")}
WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"),
            N_("Saturday"), N_("Sunday"))


def _figures_tables(data, money):
    """The sections added in 0.3.0, in the order of the files."""
    totals = data["totals"]
    story = _table(_("Totals"), [_("Figure"), _("Value")],
                   [[_(label), (show or money)(totals[key])] for label, key, show in TOTALS], 1)
    story += _table(_("Tax per rate"), [_("Rate"), _("Net"), _("Tax"), _("Gross")],
                    [[_pct(r["rate"]), money(r["net_cents"]), money(r["tax_cents"]),
                      money(r["gross_cents"])] for r in data["tax"]], 1)
    story += _table(_("Takings per payment method"),
                    [_("Method"), _("Orders"), _("Revenue")],
                    [[_(r["method"]) if r["method"] else _("not recorded"), _count(r["orders"]),
                      money(r["revenue_cents"])] for r in data["by_payment_method"]], 1)
    story += _table(_("Comparison"),
                    [_("Period"), _("From"), _("To"), _("Orders"), _("Revenue"), _("Change")],
                    [[_(PERIODS[r["period"]]), r["from"], r["to"], _count(r["orders"]),
                      money(r["revenue_cents"]), _pct(r["change_pct"])]
                     for r in data["comparison"]], 3)
    story += _table(_("Margin by product (products with a cost)"),
                    [_("SKU"), _("Product"), _("Quantity"), _("Net"), _("Cost"), _("Margin"),
                     _("Margin %")],
                    [[r["sku"], _short(r["name"], 30), _count(r["quantity"]),
                      money(r["net_cents"]), money(r["cost_cents"]), money(r["margin_cents"]),
                      _pct(r["margin_pct"])] for r in data["margin_by_product"]], 2)
    story += _table(_("Products without a cost (no margin)"),
                    [_("SKU"), _("Product"), _("Quantity"), _("Net")],
                    [[r["sku"], _short(r["name"], 45), _count(r["quantity"]),
                      money(r["net_cents"])] for r in data["products_without_cost"]], 2)
    story += _table(_("Margin by category"),
                    [_("Category"), _("Quantity"), _("Net"), _("Cost"), _("Margin"), _("Margin %")],
                    [[_short(r["category"], 30), _count(r["quantity"]), money(r["net_cents"]),
                      money(r["cost_cents"]), money(r["margin_cents"]), _pct(r["margin_pct"])]
                     for r in data["margin_by_category"]], 1)
    story += _table(_("Sales by hour"), [_("Hour"), _("Orders"), _("Revenue")],
                    [[f"{r['hour']:02d}:00", _count(r["orders"]), money(r["revenue_cents"])]
                     for r in data["by_hour"]], 1)
    story += _table(_("Sales by weekday"), [_("Weekday"), _("Orders"), _("Revenue")],
                    [[_(r["weekday"]), _count(r["orders"]), money(r["revenue_cents"])]
                     for r in data["by_weekday"]], 1)
    return story


def _tables(data, money):
    story = _figures_tables(data, money)
    story += _table(_("Sales by country"), [_("Country"), _("Orders"), _("Revenue")],
                    [[_short(r["country"], 40), _count(r["orders"]), money(r["revenue_cents"])]
                     for r in data["by_country"]], 1)
    story += _table(_("Top products"),
                    ["#", _("SKU"), _("Product"), _("Quantity"), _("Revenue")],
                    [[str(i), r["sku"], _short(r["name"], 45), _count(r["quantity"]),
                      money(r["revenue_cents"])]
                     for i, r in enumerate(data["top_products"], 1)], 3)
    story += _table(_("Sales by category"), [_("Category"), _("Quantity"), _("Revenue")],
                    [[_short(r["category"], 40), _count(r["quantity"]),
                      money(r["revenue_cents"])] for r in data["by_category"]], 1)
    story += _table(_("Sales by month"), [_("Month"), _("Orders"), _("Revenue")],
                    [[r["month"], _count(r["orders"]), money(r["revenue_cents"])]
                     for r in data["by_month"]], 1)
    return story


def write(data, fh, progress=None, generated_at=None):
    """Write the PDF to a binary file object; progress(percent, message) as it goes."""
    step = progress or (lambda percent, message: None)
    generated_at = generated_at or datetime.now()
    money = _money_format()
    story = _title_page(data, generated_at, money) + [PageBreak()]
    step(10, _("Title page"))
    if data["totals"]["revenue_cents"] > 0:
        story += [_month_chart(data["by_month"]), Spacer(1, 10 * mm)]
        step(30, _("Chart: revenue by month"))
        cats = data["by_category"]
        story += [_bars(_("Revenue by category"), [_short(r["category"], 28) for r in cats],
                        [r["revenue_cents"] for r in cats]), PageBreak()]
        step(45, _("Chart: revenue by category"))
        top = data["top_products"]
        story += [_bars(_("Top products by revenue"),
                        [_short(f"{r['sku']} {r['name']}", 30) for r in top],
                        [r["revenue_cents"] for r in top]), Spacer(1, 10 * mm)]
        step(60, _("Chart: top products"))
    else:
        story += [Paragraph(_("No sales in this range."), NOTE), Spacer(1, 6 * mm)]
    story += _tables(data, money)

    label = _("Larder sales report, %(first)s to %(last)s", first=format_day(data["start"]),
              last=format_day(data["end"]))

    def page(canvas, doc):
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(colors.grey)
        canvas.drawString(20 * mm, 12 * mm, label)
        canvas.drawRightString(A4[0] - 20 * mm, 12 * mm, _("Page %(n)s", n=doc.page))
        canvas.restoreState()
        # Pages are not counted before the build: creep towards 95, one step a page.
        step(min(95, 65 + 5 * doc.page), _("Page %(n)s", n=doc.page))

    doc = SimpleDocTemplate(fh, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                            topMargin=20 * mm, bottomMargin=20 * mm,
                            title=label, author="Larder", creator="Larder")
    doc.build(story, onFirstPage=page, onLaterPages=page)
    step(100, _("PDF written"))
