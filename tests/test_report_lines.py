"""The accountant's CSV ("lines"): one row per order line sold and per line refunded,
against rows made here from the data of tests/test_report_sections.py (the same shop: a
day starting at 02:00, three rates, discounts, refunds on other days, a customer whose
name a spreadsheet would run as a formula); from build_report, the Reports page and the
`larder report --format lines` command."""
import csv
import io
import subprocess
import sys
from datetime import date
from decimal import Decimal

from test_report_sections import shop  # noqa: F401  (fixture)
from test_report_sections import (NAMES, OPENS, ORDERS, PRODUCTS, RANGE, REFUNDS, SPAN,
                                  _money, expected, priced, unit_cost)
from webapp.extensions import db
from webapp.models import Job
from webapp.reports import build_report


def expected_lines(since, until):
    """The accountant's rows of [since, until), made here from the rows above."""
    rows = []
    for order in ORDERS:
        ref, when, status, method, with_tax, who, _ = order
        if not since <= when < until or status not in ("pending", "processed", "imported"):
            continue
        for sku, qty, price, _, net, tax, _ in priced(order)[0]:
            paid = net + tax if with_tax else net
            rows.append((when, 0, [
                str((when - OPENS).date()), str(when), "sale", ref,
                "'" + NAMES[who] if who == "bob" else NAMES.get(who, ""), sku,
                PRODUCTS[sku][0], str(qty), _money(price), _money(qty * price - paid),
                _money(net), str(Decimal(PRODUCTS[sku][2]) / 100), _money(tax),
                _money(net + tax), method,
                "" if unit_cost(ref, sku) is None else _money(unit_cost(ref, sku))]))
    for _, when, method, ref, lines in REFUNDS:
        if not since <= when < until:
            continue
        order = next(o for o in ORDERS if o[0] == ref)
        price = {line[0]: line[2] for line in order[6]}
        for sku, qty, net, tax in lines:
            rows.append((when, 1, [
                str((when - OPENS).date()), str(when), "refund", ref,
                "'" + NAMES[order[5]] if order[5] == "bob" else NAMES.get(order[5], ""), sku,
                PRODUCTS[sku][0], str(-qty), _money(price[sku]), "", _money(-net),
                str(Decimal(PRODUCTS[sku][2]) / 100), _money(-tax), _money(-net - tax),
                method or order[3],
                "" if unit_cost(ref, sku) is None else _money(unit_cost(ref, sku))]))
    return [row for _, _, row in sorted(rows, key=lambda r: (r[0], r[1]))]


def test_accountant_lines_one_row_per_line_and_refund(shop, tmp_path):
    out = tmp_path / "lines.csv"
    with shop.app_context():
        totals = build_report(*RANGE, "lines", out)
    rows = list(csv.reader(io.StringIO(out.read_text("utf-8-sig"))))
    assert rows[0] == ["date", "time", "type", "order_ref", "customer", "sku", "name",
                       "quantity", "unit_price (EUR)", "discount (EUR)", "net (EUR)",
                       "tax_rate", "tax (EUR)", "gross (EUR)", "payment_method",
                       "unit_cost (EUR)"]
    assert rows[1:] == expected_lines(*SPAN)
    e = expected(*SPAN)
    assert totals == {"orders": e["orders"], "lines": 9, "refund_lines": 3,
                      "revenue_cents": e["revenue"]}
    # the rows add up to the report: revenue, tax, net, per rate
    cents = [{k: int(Decimal(row[i]) * 100) for k, i in (("net", 10), ("tax", 12),
                                                          ("gross", 13))} | {"rate": row[11]}
             for row in rows[1:]]
    assert sum(c["gross"] for c in cents) == e["revenue"]
    assert sum(c["tax"] for c in cents) == e["tax"]
    assert sum(c["net"] for c in cents) == e["net"]
    for rate, (net, tax) in e["rates"].items():
        assert sum(c["net"] for c in cents if c["rate"] == str(Decimal(rate) / 100)) == net
    # O3's jam: 2 x 4.50 less 1.00 on the line and 0.40 of the order's 0.50
    assert [row[9] for row in rows[1:] if row[3] == "O3"] == ["1.40", "0.10"]
    # the refund of the 31st belongs to that day, not to the sale's
    with shop.app_context():
        build_report(date(2025, 3, 31), date(2025, 3, 31), "lines", out)
    rows = list(csv.reader(io.StringIO(out.read_text("utf-8-sig"))))
    assert [(row[0], row[2], row[3], row[13]) for row in rows[1:]] == [
        ("2025-03-31", "sale", "O5", "10.00"), ("2025-03-31", "refund", "Y1", "-4.50"),
        ("2025-03-31", "refund", "O1", "-1.99")]


def test_accountant_lines_from_the_reports_page_and_the_cli(shop, client, data_dir, tmp_path):
    page = client.get("/reports/").get_data(as_text=True)
    assert 'value="lines"' in page
    made = client.post("/reports/", data={"from": "2025-03-29", "to": "2025-03-30",
                                         "format": "lines"})
    assert made.status_code == 302
    with shop.app_context():
        job = db.session.execute(db.select(Job).filter_by(kind="report")).scalar_one()
    assert job.state == "success"
    download = client.get(f"/reports/{job.id}/download")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "larder-sales-lines-2025-03-29-to-2025-03-30.csv" in \
        download.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig"))))
    assert rows[1:] == expected_lines(*SPAN)
    assert "'=HYPERLINK(" in download.data.decode("utf-8-sig")  # not a live formula

    out = tmp_path / "cli.csv"
    result = subprocess.run(
        [sys.executable, "-m", "desktop", "--data-dir", str(data_dir), "report", "--from",
         "2025-03-29", "--to", "2025-03-30", "--format", "lines", "-o", str(out)],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == download.data
    e = expected(*SPAN)
    assert f"{e['orders']} orders" in result.stdout
