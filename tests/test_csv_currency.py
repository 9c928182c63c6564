"""Every CSV file Larder writes names the shop's currency in its money columns' headers
(`price (EUR)`, `revenue (GBP)`) over plain numbers; the import reads Larder's own files
back with those headers or the plain ones (files made by 0.5.0 and earlier), and refuses
a file whose money columns name another currency, whole, before anything is written:
through the engine (the page's and the inbox's way), the CLI and the Import page."""
import csv
import html
import io
import json
import os
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from larder_files import ImportFailed, import_csv
from test_cli import larder, one_line_error
from test_import_page import job_of, served, stats, worker  # noqa: F401  (fixtures)
from webapp import day_close, settings
from webapp.csv_export import export_csv
from webapp.extensions import db
from webapp.inbox_sync import sync_inbox
from webapp.models import Customer, Order, Product
from webapp.reports import build_report
from webapp.zreport_files import render_csv

DAY = date(2025, 3, 14)
PRODUCTS = ("sku,name,category,price,stock,cost,tax_rate\n"
            "TEA,Green tea,Drinks,4.50,20,2.10,20\n"
            "JAM,Jam,Pantry,3.20,10,,5.5\n")
CUSTOMERS = "email,name,country,city\nann@example.com,Ann,France,Lyon\n"
ORDERS = ("order_ref,created_at,customer_email,sku,quantity,unit_price,payment_method,"
          "tax_rate,line_discount,order_discount\n"
          "W-1,2025-03-14 10:00,ann@example.com,TEA,2,4.50,card,20,0.50,10%\n"
          "W-1,2025-03-14 10:00,ann@example.com,JAM,1,3.20,card,5.5,,10%\n"
          "W-2,2025-03-14 11:30,,JAM,3,3.20,cash,5.5,,1.00\n")


@pytest.fixture(params=["EUR", "GBP"])
def shop(app, request):
    """A shop in `currency` with two products, a customer and two orders, imported from
    files with the plain headers of Larder 0.5.0."""
    with app.app_context():
        settings.save({"currency": request.param})
        for kind, text in (("products", PRODUCTS), ("customers", CUSTOMERS),
                           ("orders", ORDERS)):
            import_csv(kind, text)
        yield request.param


def header(text):
    return next(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def snapshot():
    return ([tuple(p) for p in db.session.execute(
                select(Product.sku, Product.price_cents, Product.cost_cents,
                       Product.tax_rate_bp, Product.stock).order_by(Product.sku))],
            [tuple(c) for c in db.session.execute(
                select(Customer.email, Customer.name, Customer.city).order_by(Customer.email))],
            [tuple(o) for o in db.session.execute(
                select(Order.ref, Order.total_cents, Order.tax_cents, Order.discount_cents,
                       Order.currency).order_by(Order.ref))])


def test_the_exports_name_the_currency_and_read_back_unchanged(shop):
    c = shop
    assert header(export_csv("products")) == [
        "sku", "name", "category", f"price ({c})", "stock", f"cost ({c})", "tax_rate",
        "reorder_at", "barcode"]
    assert header(export_csv("customers")) == ["email", "name", "country", "city",
                                               "created_at"]  # no money in it
    assert header(export_csv("orders")) == [
        "order_ref", "created_at", "customer_email", "sku", "quantity", f"unit_price ({c})",
        "payment_method", "tax_rate", f"line_discount ({c})", f"order_discount ({c})"]
    products = export_csv("products")
    assert "TEA,Green tea,Drinks,4.50,20,2.10,20," in products  # the numbers stay plain
    before = snapshot()
    assert [o[4] for o in before[2]] == [c, c]
    for kind in ("products", "customers", "orders"):
        text = export_csv(kind)
        done = import_csv(kind, text)
        assert (done.created, done.updated) == (0, 0), kind
        assert export_csv(kind) == text
    assert snapshot() == before


def test_the_report_files_name_the_currency(shop, tmp_path):
    c = shop
    for fmt in ("csv", "json", "lines"):
        build_report(DAY, DAY, fmt, tmp_path / f"r.{fmt}")
    rows = list(csv.reader(io.StringIO((tmp_path / "r.csv").read_text("utf-8-sig"))))
    assert ["section", "orders", f"gross ({c})", f"discounts ({c})", f"refunds ({c})",
            f"revenue ({c})", f"tax ({c})", f"net ({c})", f"cost ({c})", f"margin ({c})",
            "lines_without_cost", f"average_order_value ({c})", "new_customers"] in rows
    assert ["section", "rate", f"net ({c})", f"tax ({c})", f"gross ({c})"] in rows
    assert ["section", "method", "orders", f"revenue ({c})"] in rows
    assert ["totals", "2", "21.80", "2.67", "0.00", "19.13"] == rows[4][:6]  # plain
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["currency"] == c and list(report)[0] == "currency"
    assert report["totals"]["revenue"] == 19.13  # the keys stay as they were
    lines = list(csv.reader(io.StringIO((tmp_path / "r.lines").read_text("utf-8-sig"))))
    assert lines[0] == ["date", "time", "type", "order_ref", "customer", "sku", "name",
                        "quantity", f"unit_price ({c})", f"discount ({c})", f"net ({c})",
                        "tax_rate", f"tax ({c})", f"gross ({c})", "payment_method",
                        f"unit_cost ({c})"]
    assert lines[1][8:10] == ["4.50", "1.35"]  # its discount: 0.50 + 10 % of 8.50


def test_the_z_report_csv_names_the_currency(shop):
    c = shop
    text = render_csv(day_close.report_data(DAY, 1, datetime(2025, 3, 15, 1, 0)))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][-1] == c  # its `currency` column, as before
    assert rows[3] == ["section", "orders", f"gross ({c})", f"discounts ({c})",
                       f"refunds ({c})", f"revenue ({c})", f"tax ({c})", f"net ({c})",
                       f"cash_expected ({c})"]
    assert rows[4][:6] == ["totals", "2", "21.80", "2.67", "0.00", "19.13"]
    assert ["section", "rate", f"net ({c})", f"tax ({c})", f"gross ({c})"] in rows
    assert ["section", "method", "orders", f"takings ({c})"] in rows


def test_plain_and_any_case_headers_import(app):
    with app.app_context():
        assert import_csv("products", "SKU,Name,Category,Price (eur),Stock,COST( EUR )\n"
                                      "TEA,Tea,Drinks,4.50,3,2.00\n").created == 1
        assert import_csv("products", "sku,name,category,price,stock\n"
                                      "JAM,Jam,Pantry,3.20,1\n").created == 1
        prices = dict(db.session.execute(select(Product.sku, Product.price_cents)).all())
        assert prices == {"TEA": 450, "JAM": 320}
        # Only a money column may name a currency; a column named twice is refused.
        for head, reason in (("sku (EUR),name,category,price,stock",
                              "also unknown column(s): 'sku (eur)'"),
                             ("sku,name,category,price,price (EUR),stock",
                              "column(s) given twice: 'price'")):
            with pytest.raises(ImportFailed) as failed:
                import_csv("products", f"{head}\nX,X,X,1.00,1\n")
            assert reason in failed.value.errors[0]


WRONG = ("line 1: header: amounts in USD ('price (USD)', 'cost (USD)'), but the shop's "
         "currency is EUR: convert them to EUR and name the column(s) 'price (EUR)', "
         "'cost (EUR)'")
WRONG_FILE = "sku,name,category,price (USD),stock,cost (USD)\nTEA,Tea,Drinks,4.50,3,2.00\n"


def test_money_in_another_currency_is_refused_whole(app):
    with app.app_context():
        with pytest.raises(ImportFailed) as failed:
            import_csv("products", WRONG_FILE)
        assert failed.value.errors == [WRONG]
        orders = ORDERS.replace("unit_price", "unit_price (GBP)")
        with pytest.raises(ImportFailed) as failed:
            import_csv("orders", orders)
        assert failed.value.errors == [
            "line 1: header: amounts in GBP ('unit_price (GBP)'), but the shop's currency "
            "is EUR: convert them to EUR and name the column(s) 'unit_price (EUR)'"]
        assert db.session.execute(select(func.count(Product.id))).scalar() == 0
        assert db.session.execute(select(func.count(Order.id))).scalar() == 0


def test_the_inbox_sets_a_file_in_another_currency_aside(app):
    inbox = Path(app.config["DATA_DIR"], "inbox")
    inbox.mkdir(exist_ok=True)
    dropped = inbox / "products.csv"
    dropped.write_text(WRONG_FILE)
    os.utime(dropped, (1, 1))
    with app.app_context():
        report = sync_inbox()
        assert report["failed"] == [{"file": "products.csv", "errors": 1}]
        assert db.session.execute(select(func.count(Product.id))).scalar() == 0
    assert (inbox / "failed" / "products.csv.errors.txt").read_text() == WRONG + "\n"


def test_the_cli_refuses_another_currency_in_one_line(data_dir, tmp_path):
    wrong = tmp_path / "prices.csv"
    wrong.write_text(WRONG_FILE)
    for args in (("import", "products", str(wrong)), ("import", str(wrong)),
                 ("import", "--dry-run", str(wrong))):
        result = larder(data_dir, *args)
        assert result.stderr.strip() == one_line_error(result) == \
            f"larder: error: {wrong}: {WRONG}; nothing imported"
    good = tmp_path / "products.csv"
    good.write_text(WRONG_FILE.replace("USD", "EUR"))
    result = larder(data_dir, "import", str(good))
    assert result.returncode == 0 and "products: 1 new" in result.stdout, result.stderr


def test_the_import_page_refuses_another_currency(served, worker):
    app, browser = served()
    preview = job_of(browser.upload(WRONG_FILE.encode(), "prices.csv"))
    final, _ = browser.wait(preview)
    assert final["state"] == "FAILURE", final
    page = browser.get(f"/import/{preview}").text
    assert "Nothing was imported" in page and "Import these" not in page
    assert WRONG in html.unescape(page)
    assert stats(browser)["products"] == 0


def test_a_german_shop_reads_why_a_whole_file_is_refused_in_german(app):
    """The whole-file refusals (money in another currency, a header nearly Larder's) are
    said in the shop's language, like a bad row."""
    with app.app_context():
        settings.save({"locale": "de_DE"})
        with pytest.raises(ImportFailed) as failed:
            import_csv("products", WRONG_FILE)
        assert failed.value.errors[0].startswith("Zeile 1: header: Beträge in USD")
        assert "die Währung des Geschäfts ist EUR" in failed.value.errors[0]
        with pytest.raises(ImportFailed) as failed:
            import_csv(None, "sku,name,price,stock,colour\nA-1,Apple,0.50,3,red\n")
        assert ("Larders Spalten für Artikel, aber fehlende Spalte(n): 'category'; dazu "
                "unbekannte Spalte(n): 'colour'") in failed.value.errors[0]
        assert db.session.execute(select(func.count(Product.id))).scalar() == 0
