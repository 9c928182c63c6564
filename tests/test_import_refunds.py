"""Refunds found in a till's file (webapp/imports/refund_rows.py), on small hand-made
exports: a refund by item (SumUp, Loyverse) takes the refunded units' share of the line;
a refund by amount (Shopify's Refunded Amount) is shared over what is left of the lines;
anything more than what is left, or a file whose amount or tax the sale cannot give, is
refused with its line; a refund the file does not link is matched to the latest earlier
sale of the same item of the same customer."""
import csv
from pathlib import Path

import pytest

from webapp import settings
from webapp.extensions import db
from webapp.imports.engine import ImportFailed, import_file
from webapp.models import Order, OrderLine, Refund, RefundLine

DATA = Path(__file__).parent / "data" / "imports"

# German-speaking shops (de_CH, de_DE): their problems read in German.
SUMUP_SHOP = {"locale": "de_CH", "timezone": "Europe/Zurich", "currency": "CHF",
              "prices_include_tax": True, "default_tax_rate_bp": 810}
LOYVERSE_SHOP = {"locale": "de_DE", "timezone": "Europe/Berlin", "currency": "EUR",
                 "prices_include_tax": True, "default_tax_rate_bp": 1900}
SHOPIFY_SHOP = {"locale": "fr_FR", "timezone": "Europe/Paris", "currency": "EUR",
                "prices_include_tax": True, "default_tax_rate_bp": 2000}

SUMUP_HEAD = ("Account,Date,Time,Type,Transaction ID,Receipt Number,Payment Method,Quantity,"
              "Description,Currency,Price (Gross),Price (Net),Tax,Tax rate,Transaction refunded")
# Two coffees (8.40 with 0.60 tax at 7.7 %) and a cake (5.20, tax 0.13 at 2.5 %).
SUMUP_SALE = [
    "k@example.ch,16.03.23,14:02,Sales,TX1,S1,Card,2,Kaffee,CHF,8.40,7.80,0.60,7.7%,",
    "k@example.ch,16.03.23,14:02,Sales,TX1,S1,Card,1,Kuchen,CHF,5.20,5.07,0.13,2.5%,"]


def sumup_refund(txn, qty, item, gross, net, tax, rate, time="09:30"):
    return (f"k@example.ch,17.03.23,{time},Refund,{txn},R{txn},Card,{qty},{item},CHF,"
            f"-{gross},-{net},-{tax},{rate},TX1")


def write(path, head, rows):
    path.write_text("\n".join([head, *rows]) + "\n", encoding="utf-8")
    return path


def run(app, path, shop):
    with app.app_context():
        settings.save(shop)
        db.session.commit()
        return import_file(path)


def refused(app, path, shop):
    with pytest.raises(ImportFailed) as failed:
        run(app, path, shop)
    return failed.value.plan.problems


def refund_lines(app):
    """[(amount, net, tax, [(order line id, quantity, net, tax, rate)])] by refund."""
    with app.app_context():
        return [(r.amount_cents, r.net_cents, r.tax_cents,
                 sorted((l.order_line_id, l.quantity, l.net_cents, l.tax_cents, l.tax_rate_bp)
                        for l in db.session.query(RefundLine).filter_by(refund_id=r.id)))
                for r in db.session.query(Refund).order_by(Refund.id)]


# ---- by item (SumUp) ------------------------------------------------------------------

def test_refund_by_item_takes_the_lines_share_and_keeps_its_rate(app, tmp_path):
    plan = run(app, write(tmp_path / "a.csv", SUMUP_HEAD, SUMUP_SALE + [
        sumup_refund("TX2", 1, "Kaffee", "4.20", "3.90", "0.30", "7.7%")]), SUMUP_SHOP)
    assert plan.refunds_found == 1 and plan.counts["refunds"]["new"] == 1
    (amount, net, tax, lines), = refund_lines(app)
    assert (amount, net, tax) == (420, 390, 30)
    assert [l[1:] for l in lines] == [(1, 390, 30, 770)]
    with app.app_context():  # an imported refund is history: it never puts stock back
        assert [r.restocked for r in db.session.query(Refund)] == [False]


def test_the_same_refunds_imported_again_are_counted_unchanged(app, tmp_path):
    """A refund row of its own (SumUp) and the refunds inside a sale's rows (Shopify):
    a second import of the same file writes none again and says they are unchanged."""
    path = write(tmp_path / "a.csv", SUMUP_HEAD, SUMUP_SALE + [
        sumup_refund("TX2", 1, "Kaffee", "4.20", "3.90", "0.30", "7.7%")])
    assert run(app, path, SUMUP_SHOP).counts["refunds"]["new"] == 1
    assert run(app, path, SUMUP_SHOP).counts["refunds"] == {
        "new": 0, "updated": 0, "unchanged": 1, "skipped": 0}
    first = run(app, DATA / "shopify_orders.csv", SHOPIFY_SHOP).counts["refunds"]
    again = run(app, DATA / "shopify_orders.csv", SHOPIFY_SHOP).counts["refunds"]
    assert first["new"] == again["unchanged"] == 2 and again["new"] == 0
    assert len(refund_lines(app)) == 3


def test_a_second_refund_of_the_same_line_takes_what_is_left_then_no_more(app, tmp_path):
    run(app, write(tmp_path / "a.csv", SUMUP_HEAD, SUMUP_SALE + [
        sumup_refund("TX2", 1, "Kaffee", "4.20", "3.90", "0.30", "7.7%")]), SUMUP_SHOP)
    # The last coffee: exactly what is left, so it is taken.
    run(app, write(tmp_path / "b.csv", SUMUP_HEAD, [
        sumup_refund("TX3", 1, "Kaffee", "4.20", "3.90", "0.30", "7.7%", "10:00")]),
        SUMUP_SHOP)
    assert [r[:3] for r in refund_lines(app)] == [(420, 390, 30), (420, 390, 30)]
    # One more coffee than the sale has left.
    assert refused(app, write(tmp_path / "c.csv", SUMUP_HEAD, [
        sumup_refund("TX4", 1, "Kaffee", "4.20", "3.90", "0.30", "7.7%", "11:00")]),
        SUMUP_SHOP) == ["Zeile 2: refund: erstattet 1 mehr von sumup-kaffee, als der Verkauf "
                        "noch zu erstatten hat"]
    assert len(refund_lines(app)) == 2


def test_all_units_of_a_line_at_once_is_allowed_one_more_is_refused(app, tmp_path):
    run(app, write(tmp_path / "a.csv", SUMUP_HEAD, SUMUP_SALE + [
        sumup_refund("TX2", 2, "Kaffee", "8.40", "7.80", "0.60", "7.7%")]), SUMUP_SHOP)
    assert [r[:3] for r in refund_lines(app)] == [(840, 780, 60)]
    with app.app_context():
        db.session.query(RefundLine).delete()
        db.session.query(Refund).delete()
        db.session.commit()
    assert refused(app, write(tmp_path / "b.csv", SUMUP_HEAD, [
        sumup_refund("TX3", 3, "Kaffee", "12.60", "11.70", "0.90", "7.7%")]),
        SUMUP_SHOP) == ["Zeile 2: refund: erstattet 1 mehr von sumup-kaffee, als der Verkauf "
                        "noch zu erstatten hat"]
    assert refund_lines(app) == []


def test_a_refund_of_two_units_takes_back_the_cost_of_two(app, tmp_path):
    """The refund line's cost is the line's unit cost times the units refunded (the
    margin after refunds counts it)."""
    run(app, write(tmp_path / "a.csv", SUMUP_HEAD, SUMUP_SALE), SUMUP_SHOP)
    with app.app_context():  # the coffees cost 1.35 each when they were sold
        db.session.query(OrderLine).filter(OrderLine.quantity == 2).update(
            {"unit_cost_cents": 135})
        db.session.commit()
    run(app, write(tmp_path / "b.csv", SUMUP_HEAD, [
        sumup_refund("TX2", 2, "Kaffee", "8.40", "7.80", "0.60", "7.7%")]), SUMUP_SHOP)
    with app.app_context():
        assert [(l.quantity, l.cost_cents) for l in db.session.query(RefundLine)] == [
            (2, 270)]


def test_one_refund_naming_an_item_twice_takes_no_more_than_the_sale_has(app, tmp_path):
    """Two rows of one refund for the same item (2 + 1 coffees of a sale of 2): what the
    first row took counts against the second."""
    assert refused(app, write(tmp_path / "a.csv", SUMUP_HEAD, SUMUP_SALE + [
        sumup_refund("TX2", 2, "Kaffee", "8.40", "7.80", "0.60", "7.7%"),
        sumup_refund("TX2", 1, "Kaffee", "4.20", "3.90", "0.30", "7.7%")]),
        SUMUP_SHOP) == ["Zeile 4: refund: erstattet 1 mehr von sumup-kaffee, als der Verkauf "
                        "noch zu erstatten hat"]
    assert refund_lines(app) == []


def test_a_refund_whose_amount_or_tax_the_sale_cannot_give_is_refused(app, tmp_path):
    assert refused(app, write(tmp_path / "a.csv", SUMUP_HEAD, SUMUP_SALE + [
        sumup_refund("TX2", 1, "Kaffee", "4.20", "3.89", "0.31", "7.7%")]), SUMUP_SHOP) == [
        "Zeile 4: refund: die Datei erstattet 4.20 (Steuer 0.31); diese Artikel des Verkaufs "
        "ergeben 4.20 (Steuer 0.30)"]
    assert refused(app, write(tmp_path / "b.csv", SUMUP_HEAD, SUMUP_SALE + [
        sumup_refund("TX2", 1, "Kaffee", "4.25", "3.95", "0.30", "7.7%")]), SUMUP_SHOP) == [
        "Zeile 4: refund: die Datei erstattet 4.25 (Steuer 0.30); diese Artikel des Verkaufs "
        "ergeben 4.20 (Steuer 0.30)"]
    assert refund_lines(app) == []


def test_a_refund_of_a_sale_that_is_not_sold_any_more_is_refused(app, tmp_path):
    run(app, write(tmp_path / "a.csv", SUMUP_HEAD, SUMUP_SALE), SUMUP_SHOP)
    with app.app_context():
        db.session.query(Order).update({"status": "cancelled"})
        db.session.commit()
    problems = refused(app, write(tmp_path / "b.csv", SUMUP_HEAD, [
        sumup_refund("TX2", 1, "Kaffee", "4.20", "3.90", "0.30", "7.7%")]), SUMUP_SHOP)
    assert problems == ["Zeile 2: refund: Verkauf sumup:TX1 ist storniert, nicht verkauft"]
    assert refund_lines(app) == []


# ---- by amount (Shopify's Refunded Amount) -----------------------------------------------

def shopify_file(path, refunded, **changes):
    """Order #1008 of the sample: a book (24.00, tax 1.25 at 5.5 %) and a mug (18.00, tax
    3.00 at 20 %), partly refunded by `refunded`."""
    with open(DATA / "shopify_orders.csv", encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        rows = [r for r in reader if r["Name"] == "#1008"]
    rows[0]["Refunded Amount"] = refunded
    rows[0].update(changes)
    with open(path, "w", encoding="utf-8", newline="") as f:
        out = csv.DictWriter(f, reader.fieldnames)
        out.writeheader()
        out.writerows(rows)
    return path


def test_an_english_shop_reads_the_same_refusals_in_english(app, tmp_path):
    """The same refusals as above, in a shop whose words are English (en_CH: the same
    numbers and dates): word for word as they always read."""
    shop = {**SUMUP_SHOP, "locale": "en_CH"}
    assert refused(app, write(tmp_path / "a.csv", SUMUP_HEAD, SUMUP_SALE + [
        sumup_refund("TX2", 1, "Kaffee", "4.20", "3.89", "0.31", "7.7%")]), shop) == [
        "line 4: refund: the file refunds 4.20 (tax 0.31); those items of the sale come to "
        "4.20 (tax 0.30)"]
    run(app, write(tmp_path / "b.csv", SUMUP_HEAD, SUMUP_SALE), shop)
    assert refused(app, write(tmp_path / "c.csv", SUMUP_HEAD, [
        sumup_refund("TX3", 3, "Kaffee", "12.60", "11.70", "0.90", "7.7%")]), shop) == [
        "line 2: refund: refunds 1 more of sumup-kaffee than the sale has left to refund"]
    with app.app_context():
        db.session.query(Order).update({"status": "cancelled"})
        db.session.commit()
    assert refused(app, write(tmp_path / "d.csv", SUMUP_HEAD, [
        sumup_refund("TX2", 1, "Kaffee", "4.20", "3.90", "0.30", "7.7%")]), shop) == [
        "line 2: refund: sale sumup:TX1 is cancelled, not sold"]


def test_refund_by_amount_is_shared_over_the_lines_with_their_tax(app, tmp_path):
    run(app, shopify_file(tmp_path / "a.csv", "18.00"), SHOPIFY_SHOP)
    (amount, net, tax, lines), = refund_lines(app)
    # 18.00 over 24.00 and 18.00 of gross: 10.29 and 7.71; each part's tax is the line's
    # tax times part / gross, rounded: 1.25 * 10.29 / 24 = 0.54, 3.00 * 7.71 / 18 = 1.29.
    assert [l[1:] for l in lines] == [(0, 1029 - 54, 54, 550), (0, 771 - 129, 129, 2000)]
    assert (amount, net, tax) == (1800, 1800 - 183, 183)


def test_a_later_export_refunds_all_that_is_left_but_not_one_cent_more(app, tmp_path):
    run(app, shopify_file(tmp_path / "a.csv", "18.00"), SHOPIFY_SHOP)
    assert refused(app, shopify_file(tmp_path / "b.csv", "42.01"), SHOPIFY_SHOP) == [
        "line 2: refund: refunds 24.01, more than the 24.00 left of the sale"]
    assert len(refund_lines(app)) == 1
    run(app, shopify_file(tmp_path / "c.csv", "42.00"), SHOPIFY_SHOP)
    first, second = refund_lines(app)
    # The difference, 24.00, is exactly what was left of each line.
    assert second[:3] == (2400, 2400 - (125 - 54) - (300 - 129), (125 - 54) + (300 - 129))
    assert [l[1:] for l in second[3]] == [(0, 1371 - 71, 71, 550), (0, 1029 - 171, 171, 2000)]
    with app.app_context():
        lines = db.session.query(RefundLine).all()
        assert sum(l.net_cents + l.tax_cents for l in lines) == 4200
        assert sum(l.tax_cents for l in lines) == 425
    again = run(app, shopify_file(tmp_path / "d.csv", "42.00"), SHOPIFY_SHOP)
    assert again.counts["refunds"]["new"] == 0 and len(refund_lines(app)) == 2


def test_an_export_after_a_refund_by_item_in_larder_refunds_exactly_the_rest(app, tmp_path):
    """The mug was given back at Larder's own desk (a refund by item: its quantity is in
    what is already refunded, beside the money); a later export says 42.00 refunded in
    all. The 24.00 left is the book's, to the cent, and is taken."""
    paid = {"Financial Status": "paid", "Cancelled at": ""}
    run(app, shopify_file(tmp_path / "a.csv", "0.00", **paid), SHOPIFY_SHOP)
    with app.app_context():
        from webapp import refunds

        order = db.session.query(Order).one()
        mug = next(l for l in order.lines if l.net_cents + l.tax_cents == 1800)
        refunds.refund_order(order.id, {"lines": [{"line_id": mug.id, "quantity": mug.quantity}],
                                        "reason": "broken"})
    later = {"Financial Status": "partially_refunded", "Cancelled at": ""}
    run(app, shopify_file(tmp_path / "b.csv", "42.00", **later), SHOPIFY_SHOP)
    first, second = refund_lines(app)
    assert first[0] == 1800 and second[0] == 2400
    assert [l[1:] for l in second[3]] == [(0, 2400 - 125, 125, 550)]


# ---- a refund the file does not link (Loyverse) -------------------------------------------

LOYVERSE_HEAD = ("Date,Receipt number,Receipt type,Category,SKU,Item,Variant,Modifiers applied,"
                 "Quantity,Gross sales,Discounts,Net sales,Cost of goods,Gross profit,Taxes,"
                 "Dining option,POS,Store,Cashier name,Customer name,Customer contacts,Comment,"
                 "Status")


def loyverse_row(when, receipt, kind, sign, name, email):
    return (f"{when},{receipt},{kind},Backwaren,10002,Croissant,,,{sign}1.000,{sign}2.50,0.00,"
            f"{sign}2.50,{sign}0.60,{sign}1.90,{sign}0.16,Vor Ort,POS 1,Café Beispiel,"
            f"Inhaberin,{name},{email},,Closed")


def loyverse_sales(app, tmp_path, *sales):
    run(app, write(tmp_path / "sales.csv", LOYVERSE_HEAD, [
        loyverse_row(when, receipt, "Sale", "", name, email)
        for when, receipt, name, email in sales]), LOYVERSE_SHOP)


def loyverse_refund(tmp_path, when, name="Anna Beispiel", email="anna@example.com"):
    return write(tmp_path / "refund.csv", LOYVERSE_HEAD, [
        loyverse_row(when, "1-1010", "Refund", "-", name, email)])


def refunded_refs(app):
    with app.app_context():
        return [r.order.ref for r in db.session.query(Refund).order_by(Refund.id)]


def test_an_unlinked_refund_goes_to_the_same_customers_latest_earlier_sale(app, tmp_path):
    loyverse_sales(app, tmp_path, ("03/06/2025 08:15", "1-1001", "Anna Beispiel",
                                   "anna@example.com"),
                   ("03/06/2025 09:00", "1-1002", "Cara Muster", "cara@example.com"))
    run(app, loyverse_refund(tmp_path, "03/06/2025 09:30"), LOYVERSE_SHOP)
    assert refunded_refs(app) == ["loyverse:1-1001"]


def test_an_unlinked_refund_at_the_very_second_of_the_sale_is_matched(app, tmp_path):
    loyverse_sales(app, tmp_path, ("03/06/2025 08:15", "1-1001", "Anna Beispiel",
                                   "anna@example.com"))
    run(app, loyverse_refund(tmp_path, "03/06/2025 08:15"), LOYVERSE_SHOP)
    assert refunded_refs(app) == ["loyverse:1-1001"]


def test_an_unlinked_refund_is_not_put_on_another_customers_sale(app, tmp_path):
    loyverse_sales(app, tmp_path, ("03/06/2025 08:15", "1-1001", "Anna Beispiel",
                                   "anna@example.com"),
                   ("03/06/2025 09:00", "1-1002", "Cara Muster", "cara@example.com"))
    # Cara's only sale is after her refund; Anna's earlier sale is not hers.
    problems = refused(app, loyverse_refund(tmp_path, "03/06/2025 08:30", "Cara Muster",
                                            "cara@example.com"), LOYVERSE_SHOP)
    assert problems == [
        "Zeile 2: refund: die Datei sagt nicht, welchen Verkauf dies erstattet, und es wurde "
        "kein früherer Verkauf von 10002 gefunden"] and refunded_refs(app) == []
