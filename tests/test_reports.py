"""Sales reports (webapp.reports) and invoices (webapp.invoice_pdf).

Known data in Q1 2025, money chosen so thousands separators and trailing zeros show:
counted orders 3001.20 + 9.60 + 1506.25; a failed order and orders a second outside the
range on each side must not count.
"""
import csv
import io
import json
import re
from datetime import date, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import text

from webapp import daily_figures
from webapp.extensions import db
from webapp.invoice_pdf import write_invoice
from webapp.models import Customer, Order, OrderLine, Product
from webapp.reports import (FORMATS, MIME, ReportError, build_report, collect,
                            parse_range, report_filename)

Q1 = (date(2025, 1, 1), date(2025, 3, 31))
# No tax, discount, refund or cost here (tests/test_report_sections.py has them): gross
# = revenue = net, and every line is without a cost (R1 2, R2 1, R3 2 lines).
TOTALS = {"orders": 3, "gross_cents": 451705, "discounts_cents": 0, "refunds_cents": 0,
          "revenue_cents": 451705, "tax_cents": 0, "net_cents": 451705, "cost_cents": 0,
          "margin_cents": 0, "lines_without_cost": 5, "average_order_value_cents": 150568,
          "new_customers": 2}
ZERO = dict.fromkeys(TOTALS, 0)


def _order(ref, when, status, customer, lines):
    total = sum(q * p for _, q, p in lines)
    order = Order(ref=ref, customer=customer, created_at=when, status=status,
                  total_cents=total, gross_cents=total)
    order.lines = [OrderLine(product=prod, quantity=q, unit_price_cents=p, net_cents=q * p)
                   for prod, q, p in lines]
    return order


@pytest.fixture
def known(app):
    with app.app_context():
        hamper = Product(sku="GIF-001", name="Gift Hamper", category="Gifts",
                         price_cents=150000, stock=5)
        milk = Product(sku="DAI-001", name="Whole Milk", category="Dairy", price_cents=120)
        latte = Product(sku="CAF-001", name="Café Latte", category="Café", price_cents=320)
        ann = Customer(email="ann@example.com", name="Ann Archer", country="United Kingdom",
                       city="York", created_at=datetime(2024, 6, 1, 9, 0))
        bob = Customer(email="bob@example.com", name="Bob Brun", country="France",
                       city="Lyon", created_at=datetime(2025, 1, 15, 10, 0))
        cy = Customer(email="cy@example.com", name="Cy Cole", country="France",
                      city="Lille", created_at=datetime(2025, 3, 31, 23, 59, 59))
        dee = Customer(email="dee@example.com", name="Dee Dunne", country="Ireland",
                       city="Cork", created_at=datetime(2025, 4, 1, 0, 0))
        db.session.add_all([
            # the first second of the range, imported: counts
            _order("R1", datetime(2025, 1, 1, 0, 0), "imported", ann,
                   [(hamper, 2, 150000), (milk, 1, 120)]),
            _order("R2", datetime(2025, 1, 20, 12, 0), "processed", bob, [(latte, 3, 320)]),
            # the last second of the range, pending (counts), milk at an older price
            _order("R3", datetime(2025, 3, 31, 23, 59, 59), "pending", cy,
                   [(hamper, 1, 150000), (milk, 5, 125)]),
            _order("F1", datetime(2025, 3, 10, 12, 0), "failed", bob, [(hamper, 10, 150000)]),
            _order("X1", datetime(2025, 4, 1, 0, 0), "imported", ann, [(latte, 1, 320)]),
            _order("X0", datetime(2024, 12, 31, 23, 59, 59), "imported", dee,
                   [(milk, 1, 120)]),
        ])
        db.session.commit()
    return app


def _pdf_text(path):
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def test_collect_every_number(known):
    with known.app_context():
        data = collect(*Q1)
    assert (data["start"], data["end"]) == Q1
    assert data["totals"] == TOTALS
    assert data["by_month"] == [
        {"month": "2025-01", "orders": 2, "revenue_cents": 301080},
        {"month": "2025-02", "orders": 0, "revenue_cents": 0},
        {"month": "2025-03", "orders": 1, "revenue_cents": 150625},
    ]
    assert data["by_category"] == [
        {"category": "Gifts", "quantity": 3, "revenue_cents": 450000},
        {"category": "Café", "quantity": 3, "revenue_cents": 960},
        {"category": "Dairy", "quantity": 6, "revenue_cents": 745},
    ]
    assert data["by_country"] == [
        {"country": "United Kingdom", "orders": 1, "revenue_cents": 300120},
        {"country": "France", "orders": 2, "revenue_cents": 151585},
    ]
    assert data["top_products"] == [
        {"sku": "GIF-001", "name": "Gift Hamper", "quantity": 3, "revenue_cents": 450000},
        {"sku": "CAF-001", "name": "Café Latte", "quantity": 3, "revenue_cents": 960},
        {"sku": "DAI-001", "name": "Whole Milk", "quantity": 6, "revenue_cents": 745},
    ]


def test_single_day_range_takes_the_whole_day(known):
    with known.app_context():
        assert collect(date(2025, 3, 31), date(2025, 3, 31))["totals"] == {
            **ZERO, "orders": 1, "gross_cents": 150625, "revenue_cents": 150625,
            "net_cents": 150625, "lines_without_cost": 2,
            "average_order_value_cents": 150625, "new_customers": 1}


def test_json_raw_text(known, tmp_path):
    out = tmp_path / "r.json"
    with known.app_context():
        assert build_report(*Q1, "json", out) == TOTALS
    raw = out.read_text("utf-8")
    assert '"revenue": 4517.05,' in raw
    assert '"average_order_value": 1505.68,' in raw
    assert '{"month": "2025-01", "orders": 2, "revenue": 3010.80}' in raw
    assert '{"month": "2025-02", "orders": 0, "revenue": 0.00}' in raw
    money = re.findall(r'"(?:revenue|average_order_value|gross|net)": ([^,}]+)', raw)
    # totals 4, months 3, categories 3, countries 2, top 3, tax 2, products without a
    # cost 3, hours 24, weekdays 7, payment methods 1, comparison 2
    assert len(money) == 4 + 3 + 3 + 2 + 3 + 2 + 3 + 24 + 7 + 1 + 2
    assert all(re.fullmatch(r"\d+\.\d\d", value) for value in money), money
    data = json.loads(raw, parse_float=Decimal)
    assert list(data) == ["currency", "totals", "by_month", "by_category", "by_country",
                          "top_products", "tax", "margin_by_product", "products_without_cost",
                          "margin_by_category", "by_hour", "by_weekday", "by_payment_method",
                          "comparison"]
    assert data["currency"] == "EUR"
    assert data["totals"] == {key[:-6] if key.endswith("_cents") else key:
                              Decimal(value) / 100 if key.endswith("_cents") else value
                              for key, value in TOTALS.items()}
    assert data["totals"]["revenue"] == Decimal("4517.05")
    assert data["totals"]["average_order_value"] == Decimal("1505.68")
    assert data["by_category"][1] == {"category": "Café", "quantity": 3,
                                      "revenue": Decimal("9.60")}
    assert data["top_products"][0] == {"sku": "GIF-001", "name": "Gift Hamper",
                                       "quantity": 3, "revenue": Decimal("4500.00")}
    assert type(data["by_country"][0]["orders"]) is int


def test_csv_sections(known, tmp_path):
    out = tmp_path / "r.csv"
    with known.app_context():
        build_report(*Q1, "csv", out)
    rows = list(csv.reader(io.StringIO(out.read_text("utf-8-sig"))))
    assert ["section", "orders", "gross (EUR)", "discounts (EUR)", "refunds (EUR)",
            "revenue (EUR)", "tax (EUR)", "net (EUR)", "cost (EUR)", "margin (EUR)",
            "lines_without_cost", "average_order_value (EUR)", "new_customers"] in rows
    assert ["section", "sku", "name", "quantity", "revenue (EUR)"] in rows
    headers = {}
    sections = {}
    for row in rows:
        if not row:
            continue
        if row[0] == "section":
            current = len(headers)
            headers[current] = [name.removesuffix(" (EUR)") for name in row]
        else:
            sections.setdefault(row[0], []).append(dict(zip(headers[current][1:], row[1:])))
    assert sections["range"] == [{"start": "2025-01-01", "end": "2025-03-31"}]
    assert sections["totals"] == [{
        "orders": "3", "gross": "4517.05", "discounts": "0.00", "refunds": "0.00",
        "revenue": "4517.05", "tax": "0.00", "net": "4517.05", "cost": "0.00",
        "margin": "0.00", "lines_without_cost": "5", "average_order_value": "1505.68",
        "new_customers": "2"}]
    assert [r["revenue"] for r in sections["by_month"]] == ["3010.80", "0.00", "1506.25"]
    assert sections["by_category"][1] == {"category": "Café", "quantity": "3",
                                          "revenue": "9.60"}
    assert sections["by_country"] == [
        {"country": "United Kingdom", "orders": "1", "revenue": "3001.20"},
        {"country": "France", "orders": "2", "revenue": "1515.85"}]
    assert sections["top_products"][2] == {"sku": "DAI-001", "name": "Whole Milk",
                                           "quantity": "6", "revenue": "7.45"}
    assert rows.count([]) == 13  # one blank line between the fourteen blocks


def test_pdf_text_holds_the_totals(known, tmp_path):
    out = tmp_path / "r.pdf"
    with known.app_context():
        assert build_report(*Q1, "pdf", out) == TOTALS
    assert out.read_bytes().startswith(b"%PDF-")
    reader = PdfReader(out)
    assert len(reader.pages) >= 3
    first = reader.pages[0].extract_text()
    assert "Larder sales report" in first
    assert "1 January 2025 to 31 March 2025" in first
    for line in ("Orders 3", "Revenue €4,517.05", "Average order value €1,505.68",
                 "New customers 2"):
        assert line in first
    rest = _pdf_text(out)
    for needle in ("Revenue by month", "Top products", "Sales by country", "Gift Hamper",
                   "United Kingdom", "€4,500.00", "€3,001.20"):
        assert needle in rest


def test_empty_range_is_a_report_of_zeros(known, tmp_path):
    with known.app_context():
        data = collect(date(2030, 1, 1), date(2030, 2, 28))
        assert data["totals"] == ZERO
        assert data["by_month"] == [{"month": m, "orders": 0, "revenue_cents": 0}
                                    for m in ("2030-01", "2030-02")]
        assert data["by_category"] == data["by_country"] == data["top_products"] == []
        for fmt in FORMATS:
            build_report(date(2030, 1, 1), date(2030, 2, 28), fmt, tmp_path / f"e.{fmt}")
    assert json.loads((tmp_path / "e.json").read_text())["top_products"] == []
    assert "totals,0,0.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00,0,0.00,0" in \
        (tmp_path / "e.csv").read_text("utf-8-sig")
    pdf = _pdf_text(tmp_path / "e.pdf")
    assert "Orders 0" in pdf and "Revenue €0.00" in pdf and "No sales in this range" in pdf


@pytest.mark.parametrize("fmt", FORMATS)
def test_progress_increases_to_100(known, tmp_path, fmt):
    calls = []
    with known.app_context():
        build_report(*Q1, fmt, tmp_path / f"r.{fmt}",
                     progress=lambda percent, message: calls.append((percent, message)))
    percents = [p for p, _ in calls]
    assert percents[0] == 0 and percents[-1] == 100
    assert percents == sorted(set(percents)), percents
    assert len(calls) >= 5 and all(isinstance(m, str) and m for _, m in calls)


def test_write_is_atomic(known, tmp_path):
    out = tmp_path / "reports" / "r.pdf"
    out.parent.mkdir()
    with known.app_context():
        build_report(*Q1, "pdf", out)
        assert [p.name for p in out.parent.iterdir()] == ["r.pdf"]  # no temp file left
        out.write_bytes(b"the old report")

        def cancel(percent, message):  # fails while the PDF is being written
            if percent >= 85:
                raise RuntimeError("cancelled")

        with pytest.raises(RuntimeError, match="cancelled"):
            build_report(*Q1, "pdf", out, progress=cancel)
    assert out.read_bytes() == b"the old report"
    assert [p.name for p in out.parent.iterdir()] == ["r.pdf"]


def test_bad_requests(known, tmp_path):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    with known.app_context():
        with pytest.raises(ReportError, match="unknown format 'xls'"):
            build_report(*Q1, "xls", tmp_path / "r.xls")
        with pytest.raises(ReportError, match="is after the end"):
            build_report(date(2025, 2, 1), date(2025, 1, 1), "csv", tmp_path / "r.csv")
        with pytest.raises(ReportError):
            collect("2025-01-01", date(2025, 1, 2))
    assert list(tmp_path.iterdir()) == []


def test_parse_range():
    assert parse_range("2025-01-01", " 2025-12-31 ") == (date(2025, 1, 1), date(2025, 12, 31))
    assert parse_range("2025-01-01", "2025-01-01") == (date(2025, 1, 1), date(2025, 1, 1))
    for bad in ("2025-13-01", "2025-02-30", "20250101", "", "yesterday"):
        with pytest.raises(ReportError) as caught:
            parse_range(bad, "2025-12-31")
        assert str(caught.value) == f"bad date '{bad}': use YYYY-MM-DD"
    with pytest.raises(ReportError) as caught:
        parse_range("2025-02-01", "2025-01-01")
    assert str(caught.value) == "the start 2025-02-01 is after the end 2025-01-01"
    assert issubclass(ReportError, ValueError)


def test_report_filename_and_mime():
    assert (report_filename(date(2025, 1, 1), date(2025, 12, 31), "pdf")
            == "larder-report-2025-01-01-to-2025-12-31.pdf")
    assert report_filename(date(2025, 1, 1), date(2025, 1, 31), "csv").endswith(".csv")
    with pytest.raises(ReportError):
        report_filename(date(2025, 1, 1), date(2025, 1, 31), "exe")
    assert FORMATS == ("pdf", "csv", "json", "lines")
    assert MIME == {"pdf": "application/pdf", "csv": "text/csv", "json": "application/json",
                    "lines": "text/csv"}
    assert (report_filename(date(2025, 1, 1), date(2025, 12, 31), "lines")
            == "larder-sales-lines-2025-01-01-to-2025-12-31.csv")


def test_demo_data_totals_match_sql(app, tmp_path):
    from webapp.demo_data import load_demo

    with app.app_context():
        load_demo(orders=3000, seed=7, end=date(2025, 6, 30), days=400)
        db.session.execute(text("UPDATE orders SET status = 'failed' WHERE id % 9 = 0"))
        daily_figures.rebuild()  # SQL written past Larder: its daily figures summed again
        db.session.commit()
        start, end = date(2024, 9, 15), date(2025, 6, 30)
        data = collect(start, end)
        # Independent SQL: by calendar day rather than by a half-open time range.
        params = {"s": start.isoformat(), "e": end.isoformat()}
        where = ("status IN ('pending', 'processed', 'imported') "  # not failed or cancelled
                 "AND date(created_at) BETWEEN :s AND :e")
        orders, revenue = db.session.execute(
            text(f"SELECT count(*), sum(total_cents) FROM orders WHERE {where}"), params).one()
        new = db.session.execute(text(
            "SELECT count(*) FROM customers WHERE date(created_at) BETWEEN :s AND :e"),
            params).scalar()
        refunds = db.session.execute(text(
            "SELECT coalesce(sum(amount_cents), 0) FROM refunds "
            "WHERE date(created_at) BETWEEN :s AND :e"), params).scalar()
        revenue -= refunds
        totals = data["totals"]
        assert 2000 < orders < 3000
        assert totals["orders"] == orders and totals["revenue_cents"] == revenue
        assert totals["average_order_value_cents"] == revenue // orders
        assert totals["new_customers"] == new
        assert sum(r["revenue_cents"] for r in data["by_month"]) == revenue
        assert sum(r["orders"] for r in data["by_country"]) == orders
        assert sum(r["revenue_cents"] for r in data["by_category"]) == revenue
        assert len(data["by_month"]) == 10 and len(data["top_products"]) == 10
        revenues = [r["revenue_cents"] for r in data["top_products"]]
        assert revenues == sorted(revenues, reverse=True)
        build_report(start, end, "pdf", tmp_path / "demo.pdf")
    assert f"Orders {orders:,}" in PdfReader(tmp_path / "demo.pdf").pages[0].extract_text()


def test_invoice_pdf(known, tmp_path):
    out = tmp_path / "invoices" / "R3.pdf"
    out.parent.mkdir()
    with known.app_context():
        order = db.session.execute(db.select(Order).filter_by(ref="R3")).scalar_one()
        assert write_invoice(order, out) == out
    assert [p.name for p in out.parent.iterdir()] == ["R3.pdf"]
    reader = PdfReader(out)
    assert len(reader.pages) == 1
    page = reader.pages[0].extract_text()
    # The date in the shop's locale (en_GB here), as on every page and PDF.
    for needle in ("Larder", "Invoice", "R3", "31 Mar 2025", "Cy Cole", "cy@example.com",
                   "Lille, France", "GIF-001", "Gift Hamper", "1,500.00", "DAI-001",
                   "Whole Milk", "1.25", "6.25", "Total", "1,506.25"):
        assert needle in page, needle
    assert "failed" not in page


def test_failed_order_invoice_says_so(known, tmp_path):
    with known.app_context():
        order = db.session.execute(db.select(Order).filter_by(ref="F1")).scalar_one()
        order.status_reason = "not enough stock: GIF-001"
        write_invoice(order, tmp_path / "F1.pdf")
    assert "This order failed: not enough stock: GIF-001" in _pdf_text(tmp_path / "F1.pdf")
