"""Refunds found in a till's file (webapp/imports/refund_rows.py), on small hand-made
exports: a refund by item (SumUp, Loyverse) takes the refunded units' share of the line;
a refund by amount (Shopify's Refunded Amount) is shared over what is left of the lines;
anything more than what is left, or a file whose amount or tax the sale cannot give, is
refused with its line; a refund the file does not link is matched to the latest earlier
sale of the same item of the same customer."""
import csv
from datetime import datetime

import pytest

from webapp import settings
from webapp.extensions import db
from webapp.imports.engine import ImportFailed, import_file
from webapp.models import Order, Refund, RefundLine

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
    """[(refund amount, [(sku-less line order, quantity, net, tax, rate)])] in order."""
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
        SUMUP_SHOP) == ["line 2: refund: refunds 1 more of sumup-kaffee than the sale has left "
                        "to refund"]
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
        SUMUP_SHOP) == ["line 2: refund: refunds 1 more of sumup-kaffee than the sale has left "
                        "to refund"]
    assert refund_lines(app) == []


def test_a_refund_whose_amount_or_tax_the_sale_cannot_give_is_refused(app, tmp_path):
    assert refused(app, write(tmp_path / "a.csv", SUMUP_HEAD, SUMUP_SALE + [
        sumup_refund("TX2", 1, "Kaffee", "4.20", "3.89", "0.31", "7.7%")]), SUMUP_SHOP) == [
        "line 4: refund: the file refunds 4.20 (tax 0.31); those items of the sale come to "
        "4.20 (tax 0.30)"]
    assert refused(app, write(tmp_path / "b.csv", SUMUP_HEAD, SUMUP_SALE + [
        sumup_refund("TX2", 1, "Kaffee", "4.25", "3.95", "0.30", "7.7%")]), SUMUP_SHOP) == [
        "line 4: refund: the file refunds 4.25 (tax 0.30); those items of the sale come to "
        "4.20 (tax 0.30)"]
    assert refund_lines(app) == []


def test_a_refund_of_a_sale_that_is_not_sold_any_more_is_refused(app, tmp_path):
    run(app, write(tmp_path / "a.csv", SUMUP_HEAD, SUMUP_SALE), SUMUP_SHOP)
    with app.app_context():
        db.session.query(Order).update({"status": "cancelled"})
        db.session.commit()
    problems = refused(app, write(tmp_path / "b.csv", SUMUP_HEAD, [
        sumup_refund("TX2", 1, "Kaffee", "4.20", "3.90", "0.30", "7.7%")]), SUMUP_SHOP)
    assert problems == ["line 2: refund: sale sumup:TX1 is cancelled, not sold"]
    assert refund_lines(app) == []
