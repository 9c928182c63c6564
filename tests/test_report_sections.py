"""The extended report (issue 10): every figure against sums made here, in plain Python,
from the rows this test writes (net, tax and cost chosen and rounded here, half-up with
Decimal, never by webapp.tax), and the same figures in JSON, CSV and PDF.

The shop's day starts at 02:00 (a sale at 01:30 counts on the day before); tax rates
5.5 %, 7.7 % and 20 %; prices with tax and without (half-cent taxes: 16.5 and 38.5);
line and order discounts; a product without a cost; a partial refund on another day and
one paid back without a method of its own; 30 March 2025 is the spring daylight-saving
change in Europe (the day has 23 hours of clock time: times are naive shop time).
"""
import csv
import io
import json
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from pypdf import PdfReader

from webapp.extensions import db
from webapp.models import Customer, Order, OrderLine, Product, Refund, RefundLine, Setting
from webapp.reports import build_report, collect
from webapp.reports.report_data import COLUMNS, public, sales_figures

OPENS = timedelta(hours=2)  # day_starts_at 02:00
# sku -> name, category, rate (bp), unit cost (None: unknown)
PRODUCTS = {"TEA": ("Green tea", "Tea", 550, 120), "WINE": ("Red wine", "Drinks", 770, None),
            "JAM": ("Plum jam", "Pantry", 2000, 250), "OIL": ("Olive oil", "Pantry", 2000, 700)}
# ref, time, status, payment method, prices include tax, customer,
# lines: (sku, quantity, unit price, line discount, amount after every discount)
ORDERS = [
    ("O1", datetime(2025, 3, 29, 10, 15), "processed", "cash", True, "ann",
     [("TEA", 3, 199, 0, 597), ("JAM", 1, 450, 0, 450)]),
    # 01:30 on the 30th: the business day of the 29th; 10 % off the order
    ("O2", datetime(2025, 3, 30, 1, 30), "processed", "card", True, None,
     [("WINE", 2, 1299, 0, 2338)]),
    # the first minute after the clocks went forward; a line discount of 1.00 and 0.50
    # off the order, shared 40 / 10 over the lines (800 and 199 before it)
    ("O3", datetime(2025, 3, 30, 3, 0), "pending", "card", True, "bob",
     [("JAM", 2, 450, 100, 760), ("TEA", 1, 199, 0, 189)]),
    # prices without tax: 300 x 5.5 % = 16.5 -> 17, 500 x 7.7 % = 38.5 -> 39 (half-up)
    ("O8", datetime(2025, 3, 30, 12, 0), "processed", "voucher", False, "ann",
     [("TEA", 3, 100, 0, 300), ("WINE", 1, 500, 0, 500), ("OIL", 1, 1000, 0, 1000)]),
    ("O4", datetime(2025, 3, 31, 1, 59, 59), "imported", "cash", True, None,
     [("WINE", 1, 1299, 0, 1299)]),                      # still the 30th
    ("O5", datetime(2025, 3, 31, 2, 0), "processed", "card", True, "ann",
     [("OIL", 1, 1000, 0, 1000)]),                       # the 31st
    ("O6", datetime(2025, 3, 29, 1, 59, 59), "processed", "cash", True, "cy",
     [("OIL", 1, 1000, 0, 1000)]),                       # the 28th
    ("F1", datetime(2025, 3, 30, 14, 0), "failed", "card", True, "ann",
     [("OIL", 5, 1000, 0, 5000)]),                       # not a sale
    ("C1", datetime(2025, 3, 30, 15, 0), "cancelled", "cash", True, "ann",
     [("OIL", 2, 1000, 0, 2000)]),                       # not a sale
    ("Y1", datetime(2024, 3, 29, 12, 0), "imported", "cash", True, "bob",
     [("JAM", 4, 450, 0, 1800)]),                        # a year before
]
# id, time, method ("" : the order's), order, lines: (sku, quantity, net, tax)
REFUNDS = [
    ("R1", datetime(2025, 3, 31, 10, 0), "cash", "O1", [("TEA", 1, 189, 10)]),  # the 31st
    ("R2", datetime(2025, 3, 30, 18, 0), "", "O2", [("WINE", 1, 1085, 84)]),    # the 30th
    ("R3", datetime(2025, 3, 30, 19, 0), "cash", "O8", [("OIL", 1, 1000, 200)]),
    # the first second of the span, for a sale the day before (Cy of Chile: a country
    # with a refund and no sale in the span)
    ("R4", datetime(2025, 3, 29, 2, 0), "card", "O6", [("OIL", 1, 833, 167)]),
    # the first second after the span (the 31st): a jam of a year before, Bob's
    ("R5", datetime(2025, 3, 31, 2, 0), "cash", "Y1", [("JAM", 1, 375, 75)]),
]
# The jam's cost was not known yet when O3 was sold: the product has lines both ways.
UNKNOWN_COST = {("O3", "JAM")}
RANGE = (date(2025, 3, 29), date(2025, 3, 30))
# A name a spreadsheet would run as a formula: the accountant's CSV must not.
NAMES = {"ann": "Ann", "bob": '=HYPERLINK("http://x.example","Bob")', "cy": "Cy"}
COUNTRY = {"ann": "Austria", "bob": "Belgium", "cy": "Chile"}
SPAN = (datetime(2025, 3, 29, 2), datetime(2025, 3, 31, 2))


def half_up(numerator, denominator):
    return int((Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), ROUND_HALF_UP))


def unit_cost(ref, sku):
    return None if (ref, sku) in UNKNOWN_COST else PRODUCTS[sku][3]


def priced(order):
    """The test's own pricing: [(sku, qty, price, discount, net, tax, cost)], gross, total.
    One line per rate in every order, so each line's tax is its rate's."""
    ref, _, _, _, with_tax, _, lines = order
    out, gross = [], 0
    for sku, qty, price, discount, amount in lines:
        rate, cost = PRODUCTS[sku][2], unit_cost(ref, sku)
        if with_tax:
            tax = half_up(amount * rate, 10_000 + rate)
            net = amount - tax
            gross += qty * price
        else:
            tax = half_up(amount * rate, 10_000)
            net = amount
            gross += qty * price + half_up(qty * price * rate, 10_000)
        out.append((sku, qty, price, discount, net, tax, None if cost is None else qty * cost))
    return out, gross, sum(net + tax for _, _, _, _, net, tax, _ in out)


@pytest.fixture
def shop(app):
    with app.app_context():
        db.session.add(Setting(key="day_starts_at", value=json.dumps("02:00")))
        products = {sku: Product(sku=sku, name=name, category=cat, price_cents=100,
                                 tax_rate_bp=rate, cost_cents=cost)
                    for sku, (name, cat, rate, cost) in PRODUCTS.items()}
        people = {who: Customer(email=f"{who}@example.com", name=NAMES[who], country=country,
                                created_at=datetime(2025, 3, 30, 9))
                  for who, country in COUNTRY.items()}
        db.session.add_all([*products.values(), *people.values()])
        orders = {}
        for order in ORDERS:
            ref, when, status, method, with_tax, who, _ = order
            lines, gross, total = priced(order)
            row = Order(ref=ref, created_at=when, status=status, payment_method=method,
                        prices_include_tax=with_tax, customer=people.get(who),
                        gross_cents=gross, discount_cents=gross - total, total_cents=total,
                        tax_cents=sum(line[5] for line in lines))
            row.lines = [OrderLine(product=products[sku], quantity=qty, unit_price_cents=price,
                                   discount_cents=discount, net_cents=net, tax_cents=tax,
                                   tax_rate_bp=PRODUCTS[sku][2],
                                   unit_cost_cents=unit_cost(ref, sku))
                         for sku, qty, price, discount, net, tax, _ in lines]
            db.session.add(row)
            orders[ref] = row
        db.session.flush()
        for _, when, method, ref, lines in REFUNDS:
            refund = Refund(order_id=orders[ref].id, created_at=when, payment_method=method,
                            amount_cents=sum(n + t for _, _, n, t in lines),
                            net_cents=sum(n for _, _, n, _ in lines),
                            tax_cents=sum(t for _, _, _, t in lines))
            sold = {line.product.sku: line for line in orders[ref].lines}
            refund.lines = [RefundLine(order_line_id=sold[sku].id, quantity=qty, net_cents=net,
                                       tax_rate_bp=PRODUCTS[sku][2], tax_cents=tax,
                                       cost_cents=None if unit_cost(ref, sku) is None
                                       else qty * unit_cost(ref, sku))
                            for sku, qty, net, tax in lines]
            db.session.add(refund)
        db.session.commit()
    return app


def expected(since, until):
    """Every figure of [since, until), from the rows above."""
    sales = [o for o in ORDERS if since <= o[1] < until and o[2] in ("pending", "processed",
                                                                     "imported")]
    refunds = [r for r in REFUNDS if since <= r[1] < until]
    method_of = {o[0]: o[3] for o in ORDERS}
    t = dict.fromkeys(("gross", "discounts", "refunds", "paid", "tax", "cost", "net_known",
                       "no_cost"), 0)
    rates, products, hours, weekdays, methods, months = {}, {}, {}, {}, {}, {}

    def add(table, key, *values):
        row = table.setdefault(key, [0] * len(values))
        for i, value in enumerate(values):
            row[i] += value

    for order in sales:
        ref, when, _, method, _, _, _ = order
        lines, gross, total = priced(order)
        day = (when - OPENS).date()
        t["gross"] += gross
        t["discounts"] += gross - total
        t["paid"] += total
        add(hours, when.hour, 1, total)
        add(weekdays, day.weekday(), 1, total)
        add(months, f"{day:%Y-%m}", 1, total)
        add(methods, method, 1, total)
        for sku, qty, _, _, net, tax, cost in lines:
            t["tax"] += tax
            add(rates, PRODUCTS[sku][2], net, tax)
            # qty, revenue, known qty, known net, cost, unknown qty, unknown net
            known = cost is not None
            add(products, sku, qty, net + tax, qty * known, net * known, cost or 0,
                qty * (not known), net * (not known))
            t["cost"] += cost or 0
            t["net_known"] += net * known
            t["no_cost"] += not known
    for _, when, method, ref, lines in refunds:
        amount = sum(n + x for _, _, n, x in lines)
        day = (when - OPENS).date()
        t["refunds"] += amount
        add(hours, when.hour, 0, -amount)
        add(weekdays, day.weekday(), 0, -amount)
        add(months, f"{day:%Y-%m}", 0, -amount)
        add(methods, method or method_of[ref], 0, -amount)
        for sku, qty, net, tax in lines:
            cost = unit_cost(ref, sku)
            known = cost is not None
            t["tax"] += -tax
            add(rates, PRODUCTS[sku][2], -net, -tax)
            add(products, sku, -qty, -(net + tax), -qty * known, -net * known,
                -qty * (cost or 0), -qty * (not known), -net * (not known))
            t["cost"] -= qty * (cost or 0)
            t["net_known"] -= net * known
    revenue = t["paid"] - t["refunds"]
    assert revenue == t["gross"] - t["discounts"] - t["refunds"]
    return {
        "orders": len(sales), "gross": t["gross"], "discounts": t["discounts"],
        "refunds": t["refunds"], "revenue": revenue, "tax": t["tax"],
        "net": revenue - t["tax"], "cost": t["cost"], "margin": t["net_known"] - t["cost"],
        "lines_without_cost": t["no_cost"], "rates": rates, "products": products,
        "hours": hours, "weekdays": weekdays, "methods": methods, "months": months,
        "first": min(sales, key=lambda o: o[1])[0] if sales else None,
        "last": max(sales, key=lambda o: o[1])[0] if sales else None,
    }


def pct(part, whole):
    """Percent with one decimal, half-up; none of a net that is not positive."""
    if whole <= 0:
        return None
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.1"), ROUND_HALF_UP)


def test_the_figures_are_not_trivial():
    """The rows reach the edges they are meant to (so the other tests mean something)."""
    e = expected(*SPAN)
    assert e["discounts"] > 0 and e["refunds"] > 0 and e["lines_without_cost"] > 0
    assert set(e["rates"]) == {550, 770, 2000}
    assert priced(ORDERS[3])[0][:2] == [("TEA", 3, 100, 0, 300, 17, 360),
                                         ("WINE", 1, 500, 0, 500, 39, None)]
    assert e["first"] == "O1" and e["last"] == "O4"


def test_totals_and_sections_against_the_rows(shop):
    e = expected(*SPAN)
    with shop.app_context():
        data = collect(*RANGE)
    assert data["totals"] == {
        "orders": e["orders"], "gross_cents": e["gross"], "discounts_cents": e["discounts"],
        "refunds_cents": e["refunds"], "revenue_cents": e["revenue"], "tax_cents": e["tax"],
        "net_cents": e["net"], "cost_cents": e["cost"], "margin_cents": e["margin"],
        "lines_without_cost": e["lines_without_cost"],
        "average_order_value_cents": e["revenue"] // e["orders"],
        "new_customers": 3}
    assert data["tax"] == [{"rate": Decimal(rate) / 100, "rate_bp": rate, "net_cents": n,
                            "tax_cents": x, "gross_cents": n + x}
                           for rate, (n, x) in sorted(e["rates"].items())]
    assert [r["rate"] for r in data["tax"]] == [Decimal("5.5"), Decimal("7.7"), 20]
    # tax per rate adds up to the totals, to the cent
    assert sum(r["gross_cents"] for r in data["tax"]) == e["revenue"]
    assert sum(r["net_cents"] for r in data["tax"]) == e["net"]
    assert data["by_hour"] == [{"hour": h, "orders": e["hours"].get(h, [0, 0])[0],
                                "revenue_cents": e["hours"].get(h, [0, 0])[1]}
                               for h in range(24)]
    assert data["by_weekday"] == [
        {"weekday": name, "orders": e["weekdays"].get(d, [0, 0])[0],
         "revenue_cents": e["weekdays"].get(d, [0, 0])[1]}
        for d, name in enumerate(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                  "Saturday", "Sunday"))]
    # O2 at 01:30 on Sunday the 30th counts on Saturday; O4 at 01:59:59 on Monday on Sunday
    assert data["by_weekday"][5]["orders"] == 2 and data["by_weekday"][6]["orders"] == 3
    assert data["by_month"] == [{"month": "2025-03", "orders": e["orders"],
                                 "revenue_cents": e["revenue"]}]
    assert data["by_payment_method"] == [
        {"method": m, "orders": n, "revenue_cents": r}
        for m, (n, r) in sorted(e["methods"].items())]
    # R2 was paid back without a method of its own: the card, as its order; R4 by card
    assert e["methods"]["card"][1] == priced(ORDERS[1])[2] + priced(ORDERS[2])[2] - 1169 - 1000
    products = e["products"]
    with_cost = [(sku, p) for sku, p in products.items() if PRODUCTS[sku][3] is not None]
    assert data["margin_by_product"] == sorted((
        {"sku": sku, "name": PRODUCTS[sku][0], "quantity": p[2], "net_cents": p[3],
         "cost_cents": p[4], "margin_cents": p[3] - p[4], "margin_pct": pct(p[3] - p[4], p[3])}
        for sku, p in with_cost), key=lambda r: (-r["margin_cents"], r["sku"]))
    assert data["products_without_cost"] == [
        {"sku": sku, "name": PRODUCTS[sku][0], "quantity": products[sku][5],
         "net_cents": products[sku][6]} for sku in ("JAM", "WINE")]
    assert products["JAM"][2] and products["JAM"][5]  # jam: lines with and without
    assert "WINE" not in {r["sku"] for r in data["margin_by_product"]}  # never 100 %
    categories = {}
    for sku, p in with_cost:
        row = categories.setdefault(PRODUCTS[sku][1], [0, 0, 0])
        row[0], row[1], row[2] = row[0] + p[2], row[1] + p[3], row[2] + p[4]
    assert data["margin_by_category"] == sorted((
        {"category": c, "quantity": q, "net_cents": n, "cost_cents": k,
         "margin_cents": n - k, "margin_pct": pct(n - k, n)}
        for c, (q, n, k) in categories.items()), key=lambda r: (-r["margin_cents"], r["category"]))
    assert sum(r["margin_cents"] for r in data["margin_by_product"]) == e["margin"]
    assert data["top_products"] == sorted((
        {"sku": sku, "name": PRODUCTS[sku][0], "quantity": p[0], "revenue_cents": p[1]}
        for sku, p in products.items()), key=lambda r: (-r["revenue_cents"], r["sku"]))
    assert sum(r["revenue_cents"] for r in data["top_products"]) == e["revenue"]
    cats = {}
    for sku, p in products.items():
        row = cats.setdefault(PRODUCTS[sku][1], [0, 0])
        row[0], row[1] = row[0] + p[0], row[1] + p[1]
    assert data["by_category"] == sorted(
        ({"category": c, "quantity": q, "revenue_cents": r} for c, (q, r) in cats.items()),
        key=lambda r: (-r["revenue_cents"], r["category"]))
    countries = {}
    for order in ORDERS:
        if SPAN[0] <= order[1] < SPAN[1] and order[2] not in ("failed", "cancelled"):
            row = countries.setdefault(COUNTRY.get(order[5], "Walk-in (no customer)"), [0, 0])
            row[0], row[1] = row[0] + 1, row[1] + priced(order)[2]
    for _, when, _, ref, lines in REFUNDS:  # by the refunded order's customer
        if SPAN[0] <= when < SPAN[1]:
            who = next(o[5] for o in ORDERS if o[0] == ref)
            row = countries.setdefault(COUNTRY.get(who, "Walk-in (no customer)"), [0, 0])
            row[1] -= sum(n + x for _, _, n, x in lines)
    assert countries["Chile"] == [0, -1000]
    assert data["by_country"] == sorted(
        ({"country": c, "orders": n, "revenue_cents": r} for c, (n, r) in countries.items()),
        key=lambda r: (-r["revenue_cents"], r["country"]))


def test_comparison_with_the_previous_period_and_year(shop):
    e = expected(*SPAN)
    before = expected(datetime(2025, 3, 27, 2), datetime(2025, 3, 29, 2))  # O6
    year = expected(datetime(2024, 3, 29, 2), datetime(2024, 3, 31, 2))    # Y1
    assert before["orders"] == year["orders"] == 1
    with shop.app_context():
        data = collect(*RANGE)
        empty = collect(date(2025, 3, 1), date(2025, 3, 1))
    assert data["comparison"] == [
        {"period": "previous_period", "from": "2025-03-27", "to": "2025-03-28", "orders": 1,
         "revenue_cents": before["revenue"],
         "change_pct": pct(e["revenue"] - before["revenue"], before["revenue"])},
        {"period": "previous_year", "from": "2024-03-29", "to": "2024-03-30", "orders": 1,
         "revenue_cents": year["revenue"],
         "change_pct": pct(e["revenue"] - year["revenue"], year["revenue"])}]
    assert [row["change_pct"] for row in empty["comparison"]] == [None, None]  # base 0
    with shop.app_context():  # 29 February has no day a year before: the 28th
        leap = collect(date(2024, 2, 29), date(2024, 3, 1))["comparison"]
    assert [(r["from"], r["to"]) for r in leap] == [("2024-02-27", "2024-02-28"),
                                                     ("2023-02-28", "2023-03-01")]


@pytest.mark.parametrize("day", [date(2025, 3, 29), date(2025, 3, 30), date(2025, 3, 31)])
def test_sales_figures_of_each_business_day(shop, day):
    since, until = datetime.combine(day, datetime.min.time()) + OPENS, \
        datetime.combine(day, datetime.min.time()) + OPENS + timedelta(days=1)
    e = expected(since, until)
    with shop.app_context():
        figures = sales_figures(since, until)
    assert figures == {
        "orders": e["orders"], "first_ref": e["first"], "last_ref": e["last"],
        "gross_cents": e["gross"], "discounts_cents": e["discounts"],
        "refunds_cents": e["refunds"], "revenue_cents": e["revenue"], "tax_cents": e["tax"],
        "net_cents": e["net"], "cost_cents": e["cost"], "margin_cents": e["margin"],
        "lines_without_cost": e["lines_without_cost"],
        "tax_rates": [{"rate_bp": rate, "net_cents": n, "tax_cents": x, "gross_cents": n + x}
                      for rate, (n, x) in sorted(e["rates"].items())],
        "by_payment_method": [{"method": m, "orders": n, "revenue_cents": r}
                              for m, (n, r) in sorted(e["methods"].items())]}
    if day == date(2025, 3, 31):  # only O5, R1 (of the 29th's sale) and R5 at 02:00
        assert (e["orders"], e["refunds"], e["first"]) == (1, 199 + 450, "O5")


def test_sales_figures_of_a_day_without_sales(shop):
    with shop.app_context():
        figures = sales_figures(datetime(2025, 4, 2, 2), datetime(2025, 4, 3, 2))
    assert figures == {
        "orders": 0, "first_ref": None, "last_ref": None, "gross_cents": 0,
        "discounts_cents": 0, "refunds_cents": 0, "revenue_cents": 0, "tax_cents": 0,
        "net_cents": 0, "cost_cents": 0, "margin_cents": 0, "lines_without_cost": 0,
        "tax_rates": [], "by_payment_method": []}


def _csv_sections(text, currency="EUR"):
    """{section: [row as {column: cell}]}, the money columns (`revenue (EUR)`: each one
    and only those name the currency) under their plain names."""
    sections, header = {}, None
    for row in csv.reader(io.StringIO(text)):
        if not row:
            continue
        if row[0] == "section":
            money = [name.endswith(f" ({currency})") for name in row[1:]]
            header = [name.removesuffix(f" ({currency})") for name in row[1:]]
            if header != ["start", "end"]:
                columns = next(COLUMNS[s] for s in COLUMNS
                               if [public(k) for k in COLUMNS[s]] == header)
                assert money == [key.endswith("_cents") for key in columns], row
        else:
            sections.setdefault(row[0], []).append(dict(zip(header, row[1:])))
    return sections


def _money(cents):
    return f"{cents // 100}.{cents % 100:02d}" if cents >= 0 else "-" + _money(-cents)


def test_json_csv_and_pdf_carry_the_same_figures(shop, tmp_path):
    e = expected(*SPAN)
    with shop.app_context():
        for fmt in ("json", "csv", "pdf"):
            build_report(*RANGE, fmt, tmp_path / f"r.{fmt}")
    report = json.loads((tmp_path / "r.json").read_text(), parse_float=Decimal)
    sheet = _csv_sections((tmp_path / "r.csv").read_text("utf-8-sig"))
    pdf = "\n".join(page.extract_text() for page in PdfReader(tmp_path / "r.pdf").pages)
    money_totals = ("gross", "discounts", "refunds", "revenue", "tax", "net", "cost", "margin")
    for key in money_totals:
        assert report["totals"][key] == Decimal(_money(e[key])), key
        assert sheet["totals"][0][key] == _money(e[key]), key
    assert report["totals"]["lines_without_cost"] == e["lines_without_cost"]
    assert sheet["totals"][0]["lines_without_cost"] == str(e["lines_without_cost"])
    labels = {"gross": "Gross sales", "discounts": "Discounts", "refunds": "Refunds",
              "revenue": "Revenue", "tax": "Tax", "net": "Net (revenue less tax)",
              "cost": "Cost", "margin": "Margin"}
    for key, label in labels.items():
        assert f"{label}\n€{e[key] / 100:,.2f}\n" in pdf, key
    rates = sorted(e["rates"].items())
    # rates as percents: 5.5, 7.7, 20 (never basis points)
    assert [(r["rate"], r["net"], r["tax"], r["gross"]) for r in report["tax"]] == [
        (Decimal(rate) / 100, Decimal(_money(n)), Decimal(_money(x)), Decimal(_money(n + x)))
        for rate, (n, x) in rates]
    assert [(r["rate"], r["net"], r["tax"], r["gross"]) for r in sheet["tax"]] == [
        (str(Decimal(rate) / 100), _money(n), _money(x), _money(n + x)) for rate, (n, x) in rates]
    assert [r["rate"] for r in sheet["tax"]] == ["5.5", "7.7", "20"]
    for rate, (n, x) in rates:
        assert f"{Decimal(rate) / 100} %\n€{n / 100:,.2f}\n€{x / 100:,.2f}\n" \
               f"€{(n + x) / 100:,.2f}" in pdf
    for m, (n, r) in e["methods"].items():
        assert {"method": m, "orders": n, "revenue": Decimal(_money(r))} in \
            report["by_payment_method"]
        assert {"method": m, "orders": str(n), "revenue": _money(r)} in sheet["by_payment_method"]
        assert f"{m}\n{n}\n€{r / 100:,.2f}" in pdf
    assert [r["hour"] for r in report["by_hour"]] == list(range(24))
    assert [(r["orders"], r["revenue"]) for r in report["by_hour"]] == [
        (int(r["orders"]), Decimal(r["revenue"])) for r in sheet["by_hour"]]
    assert [r["weekday"] for r in sheet["by_weekday"]][:2] == ["Monday", "Tuesday"]
    assert [(r["orders"], r["revenue"]) for r in report["by_weekday"]] == [
        (int(r["orders"]), Decimal(r["revenue"])) for r in sheet["by_weekday"]]
    tea = next(r for r in report["margin_by_product"] if r["sku"] == "TEA")
    assert next(r for r in sheet["margin_by_product"] if r["sku"] == "TEA") == {
        key: str(value) for key, value in tea.items()}
    assert f"TEA\nGreen tea\n{tea['quantity']}\n€{tea['net']:,}\n€{tea['cost']:,}\n" \
           f"€{tea['margin']:,}\n{tea['margin_pct']} %" in pdf
    assert report["products_without_cost"] == [
        {"sku": sku, "name": PRODUCTS[sku][0], "quantity": e["products"][sku][5],
         "net": Decimal(_money(e["products"][sku][6]))} for sku in ("JAM", "WINE")]
    assert "Products without a cost (no margin)\n SKU\nProduct\nQuantity\nNet\nJAM" in pdf
    assert set(report["comparison"]) == {"previous_period", "previous_year"}
    previous = report["comparison"]["previous_period"]
    assert [previous[k] for k in ("from", "to", "orders")] == ["2025-03-27", "2025-03-28", 1]
    assert sheet["comparison"][0]["change_pct"] == str(previous["change_pct"])
    assert f"Previous period\n2025-03-27\n2025-03-28\n1\n€{previous['revenue']:,}\n" \
           f"{previous['change_pct']} %" in pdf


def test_a_day_when_the_clocks_go_back(app):
    """26 October 2025: 02:00-02:59 happens twice in naive shop time; both sales made in
    that hour count on that day and in hour 2 (the day starts at midnight here)."""
    with app.app_context():
        tea = Product(sku="TEA", name="Tea", category="Tea", price_cents=100)
        db.session.add(tea)
        for ref, when, amount in (("A", datetime(2025, 10, 26, 2, 30), 300),
                                  ("B", datetime(2025, 10, 26, 2, 30), 500),
                                  ("C", datetime(2025, 10, 26, 23, 59, 59), 700),
                                  ("D", datetime(2025, 10, 27, 0, 0), 900)):
            order = Order(ref=ref, created_at=when, status="processed", gross_cents=amount,
                          total_cents=amount, payment_method="cash")
            order.lines = [OrderLine(product=tea, quantity=1, unit_price_cents=amount,
                                     net_cents=amount)]
            db.session.add(order)
        db.session.commit()
        data = collect(date(2025, 10, 26), date(2025, 10, 26))
        figures = sales_figures(datetime(2025, 10, 26), datetime(2025, 10, 27))
    assert data["totals"]["orders"] == figures["orders"] == 3
    assert data["totals"]["revenue_cents"] == figures["revenue_cents"] == 1500
    assert data["by_hour"][2] == {"hour": 2, "orders": 2, "revenue_cents": 800}
    assert data["by_hour"][23] == {"hour": 23, "orders": 1, "revenue_cents": 700}
    assert data["by_weekday"][6] == {"weekday": "Sunday", "orders": 3, "revenue_cents": 1500}
    assert (figures["first_ref"], figures["last_ref"]) == ("A", "C")


def test_a_day_starting_at_half_past(app):
    """day_starts_at 06:30: within the clock hour 6, a sale at 06:29:59 counts on the day
    before and one at 06:30 on the day (weekday and month), both in hour 6."""
    with app.app_context():
        db.session.add(Setting(key="day_starts_at", value=json.dumps("06:30")))
        tea = Product(sku="TEA", name="Tea", category="Tea", price_cents=100)
        db.session.add(tea)
        for ref, when, amount in (("A", datetime(2025, 5, 31, 6, 30), 100),     # Sat 31 May
                                  ("B", datetime(2025, 6, 1, 6, 29, 59), 200),  # still Sat
                                  ("C", datetime(2025, 6, 1, 6, 30), 400),      # Sun 1 June
                                  ("D", datetime(2025, 6, 2, 6, 29, 59), 800),  # still Sun
                                  ("E", datetime(2025, 6, 2, 6, 30), 1600),     # Monday: out
                                  ("F", datetime(2025, 5, 31, 6, 29, 59), 3200)):  # Friday: out
            order = Order(ref=ref, created_at=when, status="processed", gross_cents=amount,
                          total_cents=amount, payment_method="cash")
            order.lines = [OrderLine(product=tea, quantity=1, unit_price_cents=amount,
                                     net_cents=amount)]
            db.session.add(order)
        db.session.commit()
        data = collect(date(2025, 5, 31), date(2025, 6, 1))
        day = sales_figures(datetime(2025, 6, 1, 6, 30), datetime(2025, 6, 2, 6, 30))
    assert data["totals"]["orders"] == 4 and data["totals"]["revenue_cents"] == 1500
    assert data["by_hour"][6] == {"hour": 6, "orders": 4, "revenue_cents": 1500}
    assert data["by_weekday"][5] == {"weekday": "Saturday", "orders": 2, "revenue_cents": 300}
    assert data["by_weekday"][6] == {"weekday": "Sunday", "orders": 2, "revenue_cents": 1200}
    assert data["by_month"] == [{"month": "2025-05", "orders": 2, "revenue_cents": 300},
                                {"month": "2025-06", "orders": 2, "revenue_cents": 1200}]
    assert (day["orders"], day["revenue_cents"], day["first_ref"], day["last_ref"]) == \
        (2, 1200, "C", "D")
