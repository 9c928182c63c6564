"""Each export format: the records made from its sample file (tests/data/imports) add up
to the file's own columns, summed here with the csv module, not with the importer; then
each format's awkward cases. Money is compared in cents; a sale's total and tax are what
Larder's pricing (webapp/tax.py) makes of its lines, as the engine will store them."""
import csv
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from webapp.imports.formats import Context, by_name, detect, unrecognised
from webapp.imports.reading import open_table
from webapp.imports.records import Problem, RefundRecord, SaleRecord
from webapp.tax import Line, price_order

DATA = Path(__file__).parent / "data" / "imports"

SHOPIFY = Context(locale="fr_FR", timezone="Europe/Paris", tax_rates_bp=(550,))
SQUARE = Context(locale="en_US", timezone="America/New_York", prices_include_tax=False,
                 default_tax_rate_bp=800, tax_rates_bp=(500,), currency="USD")
SUMUP = Context(locale="de_CH", timezone="Europe/Zurich", default_tax_rate_bp=810,
                tax_rates_bp=(260, 770, 250), currency="CHF")
LOYVERSE = Context(locale="de_DE", timezone="Europe/Berlin", default_tax_rate_bp=1900,
                   tax_rates_bp=(700,))
EXCEL_FR = Context(locale="fr_FR", timezone="Europe/Paris", tax_rates_bp=(550,))


def cents(text):
    """The file's own money cell, the simple way: `$1,250.00` -> 125000."""
    text = (text or "0").replace("$", "").replace(",", "").strip() or "0"
    return int(Decimal(text) * 100)


def file_rows(name):
    with open(DATA / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def load(name, context, fmt=None):
    with open_table(DATA / name) as table:
        chosen = by_name(fmt) if fmt else detect(table.header)
        assert chosen is not None, unrecognised(table.header)
        items = list(chosen.records(table, context))
    out = {"format": chosen.NAME, "problems": [i for i in items if isinstance(i, Problem)],
           "sales": [i for i in items if isinstance(i, SaleRecord) and not i.skip],
           "skipped": [i for i in items if isinstance(i, SaleRecord) and i.skip],
           "refunds": [i for i in items if isinstance(i, RefundRecord)],
           "other": [i for i in items if not isinstance(i, (Problem, SaleRecord,
                                                            RefundRecord))]}
    out["refunds"] += [r for s in out["sales"] for r in s.refunds]
    return out


def priced(sale):
    return price_order([Line(l.quantity, l.unit_price_cents, l.tax_rate_bp, l.discount_cents)
                        for l in sale.lines], prices_include_tax=sale.prices_include_tax,
                       discount_amount_cents=sale.order_discount_cents)


def totals(result, product_lines=lambda line: True):
    sales = result["sales"]
    prices = [priced(s) for s in sales]
    refunds = sum(r.amount_cents for r in result["refunds"])
    total = sum(p.total_cents for p in prices)
    return {"orders": len(sales),
            "lines": sum(1 for s in sales for l in s.lines if product_lines(l)),
            "sales": total, "tax": sum(p.tax_cents for p in prices), "refunds": refunds,
            "revenue": total - refunds}


# ---- the file's own sums against the records' ----------------------------------------

def test_shopify_orders_add_up_to_the_file():
    rows, orders = file_rows("shopify_orders.csv"), {}
    for r in rows:
        orders.setdefault(r["Name"], {**r, "rows": 0})["rows"] += 1
    counted = [o for o in orders.values()
               if o["Financial Status"] not in ("voided", "expired", "pending", "authorized")
               and "Bogus" not in o["Payment Method"]
               and not (o["Cancelled at"] and cents(o["Refunded Amount"]) == 0)]
    result = load("shopify_orders.csv", SHOPIFY)
    assert result["format"] == "shopify_orders" and not result["problems"]
    got = totals(result, lambda line: line.product.sku != "SHIPPING")
    refunds = sum(cents(o["Refunded Amount"]) for o in counted)
    assert got == {"orders": len(counted), "lines": sum(o["rows"] for o in counted),
                   "sales": sum(cents(o["Total"]) for o in counted),
                   "tax": sum(cents(o["Taxes"]) for o in counted), "refunds": refunds,
                   "revenue": sum(cents(o["Total"]) for o in counted) - refunds}
    shipping = sum(l.unit_price_cents for s in result["sales"] for l in s.lines
                   if l.product.sku == "SHIPPING")
    assert shipping == sum(cents(o["Shipping"]) for o in counted) > 0
    assert sorted(s.skip for s in result["skipped"]) == [
        "test order (paid with Shopify's test gateway)", "voided"]


def test_square_items_add_up_to_the_file():
    rows = file_rows("square_items_detail.csv")
    pay = [r for r in rows if r["Event Type"] == "Payment"]
    back = [r for r in rows if r["Event Type"] == "Refund"]
    result = load("square_items_detail.csv", SQUARE)
    assert result["format"] == "square_items" and not result["problems"]
    refunds = -sum(cents(r["Net Sales"]) + cents(r["Tax"]) for r in back)
    sales = sum(cents(r["Net Sales"]) + cents(r["Tax"]) for r in pay)
    assert totals(result) == {"orders": len({r["Transaction ID"] for r in pay}),
                              "lines": len(pay), "sales": sales,
                              "tax": sum(cents(r["Tax"]) for r in pay), "refunds": refunds,
                              "revenue": sales - refunds}
    assert sum(r.tax_cents for r in result["refunds"]) == -sum(cents(r["Tax"]) for r in back)


@pytest.mark.parametrize("name, kind, sale, tx, gross, tax", [
    ("sumup_sales_2023_en.csv", "Type", "Sales", "Transaction ID", "Price (Gross)", "Tax"),
    ("sumup_sales_2024_de.csv", "Typ", "Verkauf", "Transaktionsnummer", "Preis (brutto)",
     "Steuer")])
def test_sumup_sales_add_up_to_the_file(name, kind, sale, tx, gross, tax):
    rows = file_rows(name)
    sold = [r for r in rows if r[kind] == sale]
    back = [r for r in rows if r[kind] != sale]
    result = load(name, SUMUP)
    assert result["format"] == "sumup_sales" and not result["problems"]
    refunds = -sum(cents(r[gross]) for r in back)
    sales = sum(cents(r[gross]) for r in sold)
    assert totals(result) == {"orders": len({r[tx] for r in sold}), "lines": len(sold),
                              "sales": sales, "tax": sum(cents(r[tax]) for r in sold),
                              "refunds": refunds, "revenue": sales - refunds}
    assert sum(r.tax_cents for r in result["refunds"]) == -sum(cents(r[tax]) for r in back)
    assert all(s.customer is None for s in result["sales"])  # `Account` is staff


def test_loyverse_receipts_add_up_to_the_file():
    rows = file_rows("loyverse_receipts_by_item.csv")
    sold = [r for r in rows if r["Receipt type"] == "Sale" and r["Status"] == "Closed"]
    back = [r for r in rows if r["Receipt type"] == "Refund"]
    result = load("loyverse_receipts_by_item.csv", LOYVERSE)
    assert result["format"] == "loyverse_receipts" and not result["problems"]
    refunds = -sum(cents(r["Net sales"]) for r in back)
    sales = sum(cents(r["Net sales"]) for r in sold)   # taxes included in prices
    assert totals(result) == {"orders": len({r["Receipt number"] for r in sold}),
                              "lines": len(sold), "sales": sales,
                              "tax": sum(cents(r["Taxes"]) for r in sold),
                              "refunds": refunds, "revenue": sales - refunds}
    cost = sum(l.unit_cost_cents * l.quantity for s in result["sales"] for l in s.lines)
    assert cost == sum(cents(r["Cost of goods"]) for r in sold)
    assert [s.skip for s in result["skipped"]] == ["cancelled receipt"]


def test_excel_french_orders_add_up_to_the_file():
    with open(DATA / "excel_fr_orders.csv", encoding="cp1252", newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    result = load("excel_fr_orders.csv", EXCEL_FR)
    assert result["format"] == "orders" and not result["problems"]
    assert len(result["sales"]) == len({r["order_ref"] for r in rows})
    lines = [l for s in result["sales"] for l in s.lines]
    assert len(lines) == len(rows)
    written = [r["unit_price"].replace("\u00a0", "").replace(" ", "").replace("€", "")
               .replace(",", ".") for r in rows]
    assert [l.unit_price_cents for l in lines] == [
        int(Decimal(w) * 100) if w else None for w in written]
    assert lines[3].unit_price_cents == 101500        # `1 015,00` with a no-break space
    assert lines[4].unit_price_cents is None          # empty: the catalogue price
    first = result["sales"][0]
    assert first.created_at == datetime(2025, 12, 31, 9, 15)    # 31/12/2025 09:15
    assert result["sales"][4].created_at == datetime(2026, 1, 15)


def test_shopify_products_map_to_products():
    result = load("shopify_products.csv", SHOPIFY)
    products = result["other"]
    assert not result["problems"]
    by_sku = {p.sku: p for p in products if not p.skip}
    assert sorted(by_sku) == ["BOOK-07", "CANDLE-1", "CARD-05", "MUG-01", "MUG-02",
                              "POST-9", "TOTE-02", "shopify-carnet-a5-a5"]
    assert by_sku["MUG-02"].name == "Speckled Mug - Sand"         # carried from line 2
    assert by_sku["MUG-02"].category == "Ceramics"
    assert by_sku["TOTE-02"].category == "Tote Handbags"          # from Product Category
    assert by_sku["TOTE-02"].cost_cents is None                   # cost unknown
    assert by_sku["POST-9"].archived is True
    gift = [p for p in products if p.skip]
    assert [p.name for p in gift] == ["Carte cadeau - 25 €"] and "gift card" in gift[0].skip
    assert sum(1 for p in products if not p.skip) == 8


# ---- awkward cases -------------------------------------------------------------------

def test_shopify_offsets_become_shop_time():
    new_york = Context(locale="en_US", timezone="America/New_York", tax_rates_bp=(550,))
    sales = {s.source_id: s for s in load("shopify_orders.csv", new_york)["sales"]}
    # 2025-03-01 00:20:37 +0100 is 28 February 18:20:37 in New York
    assert sales["5550000001"].created_at == datetime(2025, 2, 28, 18, 20, 37)
    paris = {s.source_id: s for s in load("shopify_orders.csv", SHOPIFY)["sales"]}
    # across the night Paris changed to summer time: +0100 then +0200, 55 minutes apart
    gap = paris["5550000003"].created_at - paris["5550000002"].created_at
    assert gap.total_seconds() == 45 * 60 + 35 + 60 * 60  # wall clock moved an hour


def test_shopify_multi_row_orders_refunds_and_made_up_skus():
    sales = {s.source_id: s for s in load("shopify_orders.csv", SHOPIFY)["sales"]}
    first = sales["5550000001"]
    assert [l.product.sku for l in first.lines] == ["MUG-01", "BOOK-07"]
    assert [l.tax_rate_bp for l in first.lines] == [2000, 550]   # from `TVA 20%`, `TVA 5.5%`
    assert first.order_discount_cents == 600 and first.customer.email == "claire.exemple@example.com"
    assert sales["5550000006"].customer.email == "lea.martin@example.com"
    assert sales["5550000006"].lines[0].discount_cents == 360
    assert sales["5550000003"].customer is None                  # walk-in
    assert sales["5550000003"].lines[1].product.sku == "shopify-emballage-cadeau"
    whole = sales["5550000004"].refunds[0]
    assert whole.amount_cents == 3100 and whole.lines == [(0, 1), (1, 2)]
    assert whole.created_at == sales["5550000004"].created_at and "no refund date" in whole.reason
    part = sales["5550000008"].refunds[0]
    assert part.amount_cents == 1800 and part.lines == []         # by amount
    assert part.created_at == datetime(2025, 4, 8, 10, 0) and "cancellation" in part.reason
    assert sales["5550000002"].lines[-1].product.sku == "SHIPPING"


def test_square_zones_symbols_and_refund_rows():
    result = load("square_items_detail.csv", SQUARE)
    sales = {s.source_id: s for s in result["sales"]}
    # 23:30 Pacific on the 15th is 02:30 on the 16th in the shop's New York time
    assert sales["TxEEEE0005"].created_at == datetime(2025, 6, 16, 2, 30)
    assert sales["TxDDDD0004"].lines[0].unit_price_cents == 125000   # "$1,250.00"
    assert sales["TxBBBB0002"].lines[0].discount_cents == 160        # "-$1.60"
    assert sales["TxAAAA0001"].customer.till_id == "square:CUST0000000000000000000001"
    assert sales["TxCCCC0003"].lines[0].product.sku == "square-custom-amount"
    assert sales["TxCCCC0003"].lines[0].product.category == "Uncategorised"  # "None"
    refund, = result["refunds"]
    assert (refund.sale_ref, refund.skus, refund.amount_cents) == (
        "square:TxAAAA0001", [("CRO-1", 1)], 368)


def test_square_fractional_quantity_is_refused(tmp_path):
    text = (DATA / "square_items_detail.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    lines[2] = lines[2].replace(",1.0,Regular,CRO-1", ",0.5,Regular,CRO-1")
    (tmp_path / "s.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with open_table(tmp_path / "s.csv") as table:
        problems = [str(i) for i in by_name("square_items").records(table, SQUARE)
                    if isinstance(i, Problem)]
    assert problems == ["line 3: Qty: a fractional quantity (0.5): Larder counts whole "
                        "items; sell by the piece or by a fixed weight"]


def test_loyverse_refund_matched_and_phone_is_walk_in():
    result = load("loyverse_receipts_by_item.csv", LOYVERSE)
    refund, = result["refunds"]
    assert refund.sale_ref == "loyverse:1-1001" and refund.created_at == datetime(2025, 6, 15, 9, 30)
    assert "does not say which sale" in refund.reason
    sales = {s.source_id: s for s in result["sales"]}
    assert sales["2-0007"].customer is None            # contact is a phone number
    assert sales["1-1002"].lines[1].product.sku == "loyverse-sprudelwasser"


def test_dates_that_contradict_the_locale_are_refused():
    # 03/06/2025 is ambiguous; 14/06/2025 proves day/month: a US shop must not guess
    us = Context(locale="en_US", timezone="Europe/Berlin", default_tax_rate_bp=1900,
                 tax_rates_bp=(700,))
    problems = [str(p) for p in load("loyverse_receipts_by_item.csv", us)["problems"]]
    assert problems == [
        "line 7: Date: this file writes dates day/month/year (line 7: 14/06/2025 10:05), but "
        "the shop's date format (English (United States) (en_US)) is month/day/year, so "
        "dates such as 03/06/2025 08:15 (line 2) cannot be read safely; change the shop's "
        "locale in Settings or export the dates as 2025-12-31"]


def test_every_sample_is_recognised_by_its_columns():
    expected = {"shopify_orders.csv": "shopify_orders",
                "shopify_products.csv": "shopify_products",
                "square_items_detail.csv": "square_items",
                "sumup_sales_2023_en.csv": "sumup_sales",
                "sumup_sales_2024_de.csv": "sumup_sales",
                "loyverse_receipts_by_item.csv": "loyverse_receipts",
                "excel_fr_orders.csv": "orders", "excel_fr_customers.csv": "customers"}
    for name, fmt in expected.items():
        with open_table(DATA / name) as table:
            assert detect(table.header).NAME == fmt, name
            # by name, never position: the same columns in reverse order
            assert detect(list(reversed(table.header))).NAME == fmt, name
    with open_table(DATA / "loyverse_receipts.csv") as table:
        assert detect(table.header) is None
        assert "Receipts by item" in unrecognised(table.header)


def test_larder_products_layout_in_a_decimal_comma_shop(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes("sku;name;category;price;stock;cost\r\nMUG-01;Tasse é;Maison;7,50;3;"
                     "2,10\r\n".encode("cp1252"))
    with open_table(path) as table:
        product, = by_name("products").records(table, EXCEL_FR)
    assert (product.name, product.price_cents, product.cost_cents, product.stock) == (
        "Tasse é", 750, 210, 3)


def test_excel_french_files_say_what_was_read():
    with open_table(DATA / "excel_fr_orders.csv") as table:
        assert (table.encoding, table.delimiter) == ("Windows-1252", ";")
    customers = load("excel_fr_customers.csv", EXCEL_FR)["other"]
    assert [(c.name, c.city) for c in customers][:1] == [("Éloïse Exemple", "Besançon")]
    assert customers[6].city == "Saint-Étienne" and customers[2].created_at is None
    assert customers[0].created_at == datetime(2025, 12, 31)


def test_an_xlsx_orders_sheet_gives_the_same_records(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["order_ref", "created_at", "customer_email", "sku", "quantity", "unit_price"])
    sheet.append(["X-1", datetime(2025, 12, 31, 9, 15), "a@example.com", "MUG-01", 2, 7.5])
    sheet.append(["X-1", datetime(2025, 12, 31, 9, 15), "a@example.com", "BOOK-07", 1.0, "24,00 €"])
    sheet.append(["X-2", "31/12/2025", None, "CARD-05", 3, 1.234])
    book.save(tmp_path / "o.xlsx")
    result = load_path(tmp_path / "o.xlsx", EXCEL_FR)
    first, = result["sales"][:1]
    assert [(l.quantity, l.unit_price_cents) for l in first.lines] == [(2, 750), (1, 2400)]
    assert first.created_at == datetime(2025, 12, 31, 9, 15)
    assert [str(p) for p in result["problems"]] == [
        "line 4: unit_price: at most two decimals"]  # the forms' words


def load_path(path, context):
    with open_table(path) as table:
        items = list(detect(table.header).records(table, context))
    return {"sales": [i for i in items if isinstance(i, SaleRecord)],
            "problems": [i for i in items if isinstance(i, Problem)]}


def test_a_near_miss_of_larder_layout_says_which_column():
    header = ["sku", "name", "category", "price", "stock", "colour"]
    assert detect(header) is None
    assert unrecognised(header) == ("Larder's products columns, but also unknown column(s): "
                                    "'colour'; the optional ones are: cost, tax_rate, "
                                    "reorder_at, barcode")


def test_context_from_the_shops_settings(tmp_path):
    from webapp import create_app

    from webapp import settings

    app = create_app({"LARDER_TOKEN": "t"}, data_dir=tmp_path)
    with app.app_context():
        context = Context.from_settings()
        wanted = tuple(settings.get(name) for name in ("locale", "timezone", "currency",
                                                       "default_tax_rate_bp"))
    assert (context.locale, context.timezone, context.currency,
            context.default_tax_rate_bp) == wanted
    assert context.decimal in (".", ",") and wanted[3] in context.tax_rates_bp


def test_shopify_rows_of_an_order_apart_from_its_first_row(tmp_path):
    lines = (DATA / "shopify_orders.csv").read_text(encoding="utf-8").splitlines()
    moved = [lines[0], lines[1], lines[3], lines[2]] + lines[4:]   # #1001's 2nd row after #1002
    (tmp_path / "o.csv").write_text("\n".join(moved) + "\n", encoding="utf-8")
    with open_table(tmp_path / "o.csv") as table:
        problems = [str(i) for i in by_name("shopify_orders").records(table, SHOPIFY)
                    if isinstance(i, Problem)]
    assert problems == ["line 4: Financial Status: order #1001: its first row (with the "
                        "status, totals and date) is missing or not next to its other rows"]


@pytest.mark.parametrize("name, context", [
    ("shopify_orders.csv", SHOPIFY), ("square_items_detail.csv", SQUARE),
    ("excel_fr_orders.csv", EXCEL_FR), ("loyverse_receipts_by_item.csv", LOYVERSE)])
@pytest.mark.parametrize("encoding, delimiter", [("utf-8-sig", ";"), ("utf-16", "\t"),
                                                 ("cp1252", ",")])
def test_the_same_file_resaved_by_a_spreadsheet_gives_the_same_records(
        tmp_path, name, context, encoding, delimiter):
    source = "cp1252" if name.startswith("excel") else "utf-8"
    with open(DATA / name, encoding=source, newline="") as f:
        rows = list(csv.reader(f, delimiter=";" if name.startswith("excel") else ","))
    resaved = tmp_path / "resaved.csv"
    with open(resaved, "w", encoding=encoding, newline="") as f:
        csv.writer(f, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    original, again = load(name, context), load_resaved(resaved, context)

    def seen(result):
        return ([(s.ref, s.created_at, s.customer and s.customer.email, s.payment_method,
                  [(l.product.sku, l.product.name, l.quantity, l.unit_price_cents,
                    l.tax_rate_bp, l.discount_cents) for l in s.lines])
                 for s in result["sales"]],
                [(r.amount_cents, r.created_at) for r in result["refunds"]])
    assert seen(again) == seen(original) and original["sales"]


def load_resaved(path, context):
    with open_table(path) as table:
        items = list(detect(table.header).records(table, context))
    out = {"sales": [i for i in items if isinstance(i, SaleRecord) and not i.skip],
           "refunds": [i for i in items if isinstance(i, RefundRecord)]}
    out["refunds"] += [r for s in out["sales"] for r in s.refunds]
    return out


def test_one_huge_order_is_a_line_not_a_memory_hog(tmp_path):
    from webapp.imports.formats.common import consecutive

    path = tmp_path / "o.csv"
    path.write_text("order_ref,sku\n" + "X-1,A\n" * 12 + "X-2,B\n", encoding="utf-8")
    with open_table(path) as table:
        groups = list(consecutive(table, lambda cells: cells[0], limit=10))
    assert [str(groups[0][1])] == ["line 2: row: 12 rows for one order ('X-1'); at most 10"]
    assert groups[1] == ("X-2", [(14, ["X-2", "B"])])


def test_refund_matching_keeps_a_bounded_memory():
    from webapp.imports.formats.common import RefundMatcher
    from webapp.imports.records import LineRecord, ProductRecord

    matcher = RefundMatcher(keep=4)
    for n in range(10):
        sale = SaleRecord(1, "sumup", f"T{n}", datetime(2025, 1, 1), [
            LineRecord(1, ProductRecord(1, f"sku-{n}", "x"), 1, 100)])
        matcher.sold(sale)
    assert len(matcher.latest) == 4
    assert matcher.match([("sku-9", 1)], None) == "sumup:T9"
    assert matcher.match([("sku-0", 1)], None) == ""


def test_shopify_shipping_untaxed_as_in_the_us(tmp_path):
    rows = file_rows("shopify_orders.csv")
    header = list(rows[0])
    order = {k: "" for k in header}
    order.update({"Name": "#2001", "Email": "pat@example.com", "Financial Status": "paid",
                  "Currency": "USD", "Subtotal": "20.00", "Shipping": "5.00", "Taxes": "1.60",
                  "Total": "26.60", "Discount Amount": "0.00",
                  "Created at": "2025-05-01 10:00:00 -0400", "Lineitem quantity": "1",
                  "Lineitem name": "Tote", "Lineitem price": "20.00", "Lineitem sku": "TOTE-02",
                  "Lineitem taxable": "true", "Payment Method": "Shopify Payments",
                  "Refunded Amount": "0.00", "Id": "77", "Tax 1 Name": "NY State Tax 8%",
                  "Tax 1 Value": "1.60"})
    with open(tmp_path / "us.csv", "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, header)
        writer.writeheader()
        writer.writerow(order)
    with open_table(tmp_path / "us.csv") as table:
        sale, = by_name("shopify_orders").records(table, SQUARE)
    assert not sale.prices_include_tax                    # Subtotal + Shipping + Taxes = Total
    assert [(l.product.sku, l.tax_rate_bp) for l in sale.lines] == [("TOTE-02", 800),
                                                                   ("SHIPPING", 0)]
    assert priced(sale).total_cents == 2660 and priced(sale).tax_cents == 160
