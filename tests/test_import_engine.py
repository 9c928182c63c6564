"""The import engine (webapp/imports/engine.py) on the sample exports of tests/data/imports:
after an import the REPORT's order count, revenue and tax equal the sums of the file's
own columns (summed here with the csv module); importing again changes nothing; a later
export that overlaps adds only what is new; a broken file names every bad line and
writes nothing; a cancelled import and a dry run write nothing."""
import csv
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from webapp import day_close, reports, settings
from webapp.extensions import db
from webapp.imports.engine import ImportFailed, import_file
from webapp.models import Customer, Order, OrderLine, Product, Refund

DATA = Path(__file__).parent / "data" / "imports"

SHOPS = {  # the shop each sample was made for (tests/data/imports/EXPECTED.md)
    "shopify": {"locale": "fr_FR", "timezone": "Europe/Paris", "currency": "EUR",
                "prices_include_tax": True, "default_tax_rate_bp": 2000},
    "square": {"locale": "en_US", "timezone": "America/New_York", "currency": "USD",
               "prices_include_tax": False, "default_tax_rate_bp": 800},
    "sumup": {"locale": "de_CH", "timezone": "Europe/Zurich", "currency": "CHF",
              "prices_include_tax": True, "default_tax_rate_bp": 810},
    "loyverse": {"locale": "de_DE", "timezone": "Europe/Berlin", "currency": "EUR",
                 "prices_include_tax": True, "default_tax_rate_bp": 1900},
}


def cents(text):
    text = (text or "0").replace("$", "").replace(",", "").strip() or "0"
    return int(Decimal(text) * 100)


def rows_of(path, encoding="utf-8", delimiter=","):
    with open(path, encoding=encoding, newline="") as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def shop(app, name):
    with app.app_context():
        settings.save(SHOPS[name])
        db.session.commit()


def report(app, tmp_path):
    with app.app_context():
        return reports.build_report(date(2020, 1, 1), date(2026, 12, 31), "json",
                                    tmp_path / "report.json")


def figures(app, tmp_path):
    totals = report(app, tmp_path)
    return {"orders": totals["orders"], "revenue": totals["revenue_cents"],
            "tax": totals["tax_cents"]}


def counts(app):
    with app.app_context():
        return {model.__name__: db.session.query(model).count()
                for model in (Order, OrderLine, Product, Customer, Refund)}


def run(app, path, **kw):
    with app.app_context():
        return import_file(path, **kw)


# ---- each format: the report equals the file's own sums ---------------------------

def shopify_sums(path):
    orders = {}
    for r in rows_of(path):
        orders.setdefault(r["Name"], r)   # the order's fields are on its first row
    kept = [o for o in orders.values()
            if o["Financial Status"] not in ("voided", "expired", "pending", "authorized")
            and "Bogus" not in o["Payment Method"]
            and not (o["Cancelled at"] and cents(o["Refunded Amount"]) == 0)]
    refunded = sum(cents(o["Refunded Amount"]) for o in kept)
    # The export gives no refund tax: the sales' tax is checked as the report's tax plus
    # the refunds' tax (below).
    return {"orders": len(kept), "revenue": sum(cents(o["Total"]) for o in kept) - refunded,
            "tax": sum(cents(o["Taxes"]) for o in kept)}


def square_sums(path):
    rows = rows_of(path)
    pay = [r for r in rows if r["Event Type"] == "Payment"]
    return {"orders": len({r["Transaction ID"] for r in pay}),
            "revenue": sum(cents(r["Net Sales"]) + cents(r["Tax"]) for r in rows),
            "tax": sum(cents(r["Tax"]) for r in rows)}


def sumup_sums(path):
    rows = rows_of(path)
    de = "Typ" in rows[0]
    kind, sale, tx, gross, tax = (("Typ", "Verkauf", "Transaktionsnummer", "Preis (brutto)",
                                   "Steuer") if de else
                                  ("Type", "Sales", "Transaction ID", "Price (Gross)", "Tax"))
    return {"orders": len({r[tx] for r in rows if r[kind] == sale}),
            "revenue": sum(cents(r[gross]) for r in rows),
            "tax": sum(cents(r[tax]) for r in rows)}


def loyverse_sums(path):
    rows = [r for r in rows_of(path) if r["Status"] == "Closed"]
    return {"orders": len({r["Receipt number"] for r in rows if r["Receipt type"] == "Sale"}),
            "revenue": sum(cents(r["Net sales"]) for r in rows),  # prices include tax
            "tax": sum(cents(r["Taxes"]) for r in rows)}


SAMPLES = [("shopify_orders.csv", "shopify", shopify_sums),
           ("square_items_detail.csv", "square", square_sums),
           ("sumup_sales_2023_en.csv", "sumup", sumup_sums),
           ("sumup_sales_2024_de.csv", "sumup", sumup_sums),
           ("loyverse_receipts_by_item.csv", "loyverse", loyverse_sums)]


@pytest.mark.parametrize("name, shop_name, sums", SAMPLES)
def test_each_sample_reports_the_files_own_totals_and_reimports_to_no_change(
        app, tmp_path, name, shop_name, sums):
    shop(app, shop_name)
    wanted = sums(DATA / name)
    plan = run(app, DATA / name)
    assert plan.written and plan.problem_count == 0
    assert plan.counts["orders"]["new"] == wanted["orders"]
    got = figures(app, tmp_path)
    if shop_name == "shopify":
        with app.app_context():
            refunded_tax = db.session.query(db.func.sum(Refund.tax_cents)).scalar()
        got["tax"] += refunded_tax
    assert got == wanted
    before = counts(app)

    again = run(app, DATA / name)
    assert again.counts["orders"]["new"] == again.counts["orders"]["updated"] == 0
    assert again.counts["orders"]["unchanged"] == wanted["orders"]
    assert again.counts["refunds"]["new"] == 0
    assert all(again.counts[k]["new"] == 0 for k in ("products", "customers"))
    assert counts(app) == before
    assert figures(app, tmp_path)["revenue"] == (
        got["revenue"] if shop_name != "shopify" else wanted["revenue"])


def test_the_plan_says_what_it_found(app):
    shop(app, "shopify")
    plan = run(app, DATA / "shopify_orders.csv", dry_run=True)
    assert plan.summary.startswith("Shopify orders export, 8 orders, ")
    assert plan.summary.endswith("2025-03-01 to 2025-04-06")
    assert plan.encoding == "UTF-8" and plan.format == "shopify_orders"
    assert sorted(s.split(": ", 2)[2] for s in plan.skipped) == [
        "test order (paid with Shopify's test gateway)", "voided"]
    assert plan.skipped_count == 2 and plan.counts["orders"]["skipped"] == 2


def test_square_customers_are_kept_by_their_till_id(app):
    shop(app, "square")
    run(app, DATA / "square_items_detail.csv")
    with app.app_context():
        people = db.session.query(Customer).all()
        assert people and all(c.email is None and c.till_id.startswith("square:CUST")
                              for c in people)
        dee = next(c for c in people if c.name == "Dee Example")
        assert {o.ref for o in db.session.query(Order).filter_by(customer_id=dee.id)}
        assert dee.to_dict()["till_id"] == dee.till_id


def test_refunds_are_dated_when_they_happened(app):
    shop(app, "square")
    run(app, DATA / "square_items_detail.csv")
    refund_rows = [r for r in rows_of(DATA / "square_items_detail.csv")
                   if r["Event Type"] == "Refund"]
    with app.app_context():
        refunds = db.session.query(Refund).all()
        assert [(r.created_at.date().isoformat(), r.order.ref) for r in refunds] == [
            (r["Date"], "square:" + r["Transaction ID"]) for r in refund_rows]


# ---- overlapping exports ---------------------------------------------------------

def test_a_later_export_that_overlaps_adds_only_the_new_sales(app, tmp_path):
    shop(app, "sumup")
    path = DATA / "sumup_sales_2023_en.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    first, later = tmp_path / "march_a.csv", tmp_path / "march_b.csv"
    first.write_text(header + "".join(body[:3]), encoding="utf-8")   # two sales
    later.write_text(header + "".join(body[2:]), encoding="utf-8")   # overlaps by one
    plan = run(app, first)
    assert plan.counts["orders"]["new"] == 2
    plan = run(app, later)
    assert plan.counts["orders"] == {"new": 2, "updated": 0, "unchanged": 1, "skipped": 0}
    assert figures(app, tmp_path) == sumup_sums(path)


# ---- nothing written --------------------------------------------------------------

def test_a_broken_file_names_every_bad_line_and_writes_nothing(app, tmp_path):
    shop(app, "square")
    rows = (DATA / "square_items_detail.csv").read_text(encoding="utf-8").splitlines()
    header = rows[0].split(",")
    broken = [rows[0]]
    for i, row in enumerate(rows[1:], 2):
        cells = next(csv.reader([row]))
        if i == 2:
            cells[header.index("Qty")] = "two"
        if i == 4:
            cells[header.index("Gross Sales")] = "$1.2.3"
        broken.append(",".join(f'"{c}"' for c in cells))
    broken.append('"2025-06-17","oops"')   # a row of the wrong width
    path = tmp_path / "broken.csv"
    path.write_text("\n".join(broken) + "\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as failed:
        run(app, path)
    problems = failed.value.plan.problems
    # Line 9 refunds the sale of line 2, which could not be read: it says so.
    assert [p.split(":")[0] for p in problems] == [
        "line 2", "line 4", "line 9", f"line {len(broken)}"]
    assert problems[0].startswith("line 2: Qty: ") and "Gross Sales" in problems[1]
    assert problems[2].endswith("(perhaps its lines are among the bad lines above)")
    assert counts(app) == dict.fromkeys(counts(app), 0)


def test_a_sale_that_does_not_add_up_is_refused_with_its_line(app, tmp_path):
    shop(app, "shopify")
    text = (DATA / "shopify_orders.csv").read_text(encoding="utf-8")
    path = tmp_path / "wrong_total.csv"
    path.write_text(text.replace(",54.00,0.00,6.53,54.00,", ",54.00,0.00,6.53,55.00,", 1),
                    encoding="utf-8")
    with pytest.raises(ImportFailed) as failed:
        run(app, path)
    assert failed.value.plan.problems == [
        "line 2: total: order 5550000001: the file says 55.00, its lines come to 54.00"]
    assert counts(app)["Order"] == 0


def test_cancelled_import_writes_nothing(app, tmp_path):
    shop(app, "shopify")
    plan = run(app, DATA / "shopify_orders.csv", cancelled=lambda: True)
    assert plan.cancelled and not plan.written
    assert counts(app) == dict.fromkeys(counts(app), 0)


def test_dry_run_writes_nothing_and_says_what_would_be_new(app):
    shop(app, "loyverse")
    plan = run(app, DATA / "loyverse_receipts_by_item.csv", dry_run=True)
    assert not plan.written and plan.counts["orders"]["new"] == 3
    assert plan.counts["refunds"]["new"] == 1
    assert counts(app) == dict.fromkeys(counts(app), 0)
    assert "dry run: nothing was written" in plan.text()


def test_progress_goes_to_the_end(app):
    shop(app, "square")
    seen = []
    run(app, DATA / "square_items_detail.csv", progress=seen.append)
    assert seen and seen[-1] == 1.0


@pytest.mark.parametrize("locale", ["de_CH", "en_CH"])
def test_a_closed_day_is_refused_with_the_line(app, locale):
    shop(app, "sumup")
    with app.app_context():
        settings.save({"locale": locale})
        day_close.close_day(date(2023, 3, 16), now=datetime(2026, 1, 1))
    with pytest.raises(ImportFailed) as failed:
        run(app, DATA / "sumup_sales_2023_en.csv")
    if locale == "en_CH":  # English words: as they always read
        assert failed.value.plan.problems == [
            "line 5: date: the business day 2023-03-16 is closed (Z-report done); nothing "
            "can be added to it",
            "line 7: refund: refunds sale TX0000CCC3, which is neither in this file nor in "
            "Larder (perhaps its lines are among the bad lines above)"]
        return
    # A Swiss shop (de_CH): the problems read in German, the columns as the file has them.
    assert failed.value.plan.problems == [
        "Zeile 5: date: der Geschäftstag 2023-03-16 ist abgeschlossen (Z-Bericht erstellt); "
        "es kann nichts mehr hinzugefügt werden",
        "Zeile 7: refund: erstattet den Verkauf TX0000CCC3, der weder in dieser Datei noch "
        "in Larder ist (vielleicht sind seine Zeilen unter den fehlerhaften Zeilen oben)"]
    assert counts(app)["Order"] == 0


# ---- Excel's French files: semicolons, Windows-1252 "é", 31/12/2025, 7,50 -------------

def test_excel_french_files_import(app, tmp_path):
    shop(app, "shopify")  # fr_FR, Europe/Paris
    products = tmp_path / "produits.csv"
    products.write_bytes("sku;name;category;price;stock\n"
                         "MUG-01;Mug moucheté;Céramique;18,00;10\n"
                         "MUG-02;Mug sable;Céramique;18,00;5\n"
                         "BOOK-07;Livre : Cuisine du marché;Livres;24,00;3\n"
                         "CARD-05;Carte de vœux;Papeterie;3,50;40\n"
                         "TOTE-02;Sac en toile;Sacs;7,50;8\n".replace("œ", "oe")
                         .encode("cp1252"))
    plan = run(app, products)
    assert plan.encoding == "Windows-1252" and plan.counts["products"]["new"] == 5
    customers = run(app, DATA / "excel_fr_customers.csv")
    assert customers.counts["customers"]["new"] == 8
    orders = run(app, DATA / "excel_fr_orders.csv")
    rows = rows_of(DATA / "excel_fr_orders.csv", encoding="cp1252", delimiter=";")
    assert orders.counts["orders"]["new"] == len({r["order_ref"] for r in rows})
    with app.app_context():
        assert db.session.query(Product).filter_by(sku="TOTE-02").one().price_cents == 750
        eloise = db.session.query(Customer).filter_by(
            email="eloise.exemple@example.com").one()
        assert eloise.name == "Éloïse Exemple" and eloise.city == "Besançon"
        assert eloise.created_at == datetime(2025, 12, 31)
        first = db.session.query(Order).filter_by(ref="X-2001").one()
        assert first.created_at == datetime(2025, 12, 31, 9, 15)
        assert first.total_cents == 2 * 1800 + 2400
    assert run(app, DATA / "excel_fr_orders.csv").counts["orders"]["unchanged"] == len(
        {r["order_ref"] for r in rows})


def test_a_till_customer_without_email_shows_on_the_pages(app, client):
    shop(app, "square")
    run(app, DATA / "square_items_detail.csv")
    with app.app_context():
        dee = db.session.query(Customer).filter_by(name="Dee Example").one()
        order = db.session.query(Order).filter_by(customer_id=dee.id).first()
        till, order_id = dee.till_id, order.id
    page = client.get("/customers/").get_data(as_text=True)
    assert f"no e-mail (till customer {till})" in page and "None" not in page
    detail = client.get(f"/orders/{order_id}").get_data(as_text=True)
    assert "Dee Example" in detail and "&lt;None&gt;" not in detail
    assert client.get(f"/api/orders/{order_id}").get_json()["customer_email"] is None


@pytest.mark.slow
def test_a_million_line_orders_file_streams_in_bounded_memory(tmp_path):
    """bench/import_big.py's engine case as a check: 1,000,000 lines in a child process,
    every order written, peak memory under the issue's 300 MB, the file's reader process
    too (its speed: the bench)."""
    import json
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    from bench.import_big import make_larder, prepare

    base = tmp_path / "data"
    base.mkdir()
    prepare(base, tmp_path)
    big = tmp_path / "orders.csv"
    make_larder(big, 1_000_000, excel=False)
    out = subprocess.run([sys.executable, str(root / "bench" / "import_big.py"), "--child",
                          "new", str(base), str(big)], capture_output=True, text=True,
                         timeout=1800)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["written"] == {"orders new": 500_000, "lines": 1_000_000, "problems": 0}
    assert result["peak_mb"] < 300
    assert 0 < result["reader_mb"] < 300   # read by a child process (pipeline.py)


# ---- the preview does not hold up the till ------------------------------------------

def test_a_preview_lets_the_till_record_a_sale_meanwhile(tmp_path):
    """While a dry run of a 6,000-line file is half way (its progress callback), the till
    records an order over real HTTP (Waitress, its own connection) at once: the preview
    works on a snapshot, so it holds no write lock. Before, the preview held SQLite's
    write lock from its first chunk on, and the order waited out the busy timeout (here
    2 s) and failed. The preview still counts exactly what the import then does."""
    from conftest import TOKEN, http_session
    from webapp import create_app

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    app = create_app({"TESTING": True, "LARDER_TOKEN": TOKEN,
                      "LARDER_SQLITE_BUSY_TIMEOUT_MS": 2_000,
                      "CELERY_OVERRIDES": {"task_always_eager": True}}, data_dir=data_dir)
    products = tmp_path / "products.csv"
    products.write_text("sku,name,category,price,stock\nSKU-1,Mug,Cups,4.50,100000\n")
    customers = tmp_path / "customers.csv"
    customers.write_text("email,name,country\nann@example.com,Ann,France\n")
    orders = tmp_path / "orders.csv"
    orders.write_text("order_ref,created_at,customer_email,sku,quantity\n" + "".join(
        f"X-{n:05d},2025-03-01T10:{n % 60:02d}:00,ann@example.com,SKU-1,{1 + k}\n"
        for n in range(3_000) for k in range(2)))
    run(app, products)
    run(app, customers)
    answers = []
    with http_session(app) as http:
        def halfway(fraction):
            if not answers and fraction < 0.99:
                answers.append(http.post(http.base + "/api/orders", timeout=30, json={
                    "customer_email": "ann@example.com",
                    "lines": [{"sku": "SKU-1", "quantity": 1}]}))

        preview = run(app, orders, dry_run=True, progress=halfway)
    assert answers and answers[0].status_code == 201, answers and answers[0].text
    assert preview.counts["orders"]["new"] == 3_000 and not preview.written
    assert counts(app)["Order"] == 1   # the till's sale; nothing from the preview
    assert not [p.name for p in (data_dir / "uploads").iterdir() if "preview" in p.name]
    done = run(app, orders)
    assert done.counts == preview.counts and counts(app)["Order"] == 3_001
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# ---- a big import sets the secondary indexes aside and builds them again -------------

def _index_sql(app):
    with app.app_context():
        return sorted(db.session.execute(db.text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
            "tbl_name IN ('orders', 'order_lines')")).all())


def _orders_file(path, orders, bad_last=False):
    path.write_text("order_ref,created_at,customer_email,sku,quantity\n" + "".join(
        f"X-{n:05d},2025-03-01T10:{n % 60:02d}:00,ann@example.com,SKU-1,{1 + n % 3 + k}\n"
        for n in range(orders) for k in range(2)) + ("X-99999,2025-03-01,,SKU-1,x\n"
                                                    if bad_last else ""))
    return path


@pytest.mark.parametrize("bad_last", [False, True])
def test_a_big_import_builds_the_indexes_again_and_keeps_all_or_nothing(
        app, tmp_path, monkeypatch, bad_last):
    """With the threshold lowered (bulk.MIN_LINES: 200,000 lines in real use), a 3,000-order
    file is imported with the orders' secondary indexes set aside (seen from inside the
    import) and they are all back, the same, after the commit, and after a refusal; the
    orders and lines are all there, ids in file order (explicit ids after the first
    chunk)."""
    from webapp.imports import bulk

    monkeypatch.setattr(bulk, "MIN_LINES", 0)
    (tmp_path / "p.csv").write_text("sku,name,category,price,stock\nSKU-1,Mug,Cups,4.50,9\n")
    (tmp_path / "c.csv").write_text("email,name,country\nann@example.com,Ann,France\n")
    run(app, tmp_path / "p.csv")
    run(app, tmp_path / "c.csv")
    before = _index_sql(app)
    assert {name for name, _ in before} >= {"ix_orders_figures", "ix_order_lines_figures"}
    during = []

    def look(fraction):
        if not during:
            during.append(db.session.execute(db.text(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
                "tbl_name IN ('orders', 'order_lines') AND sql IS NOT NULL")).scalar())

    path = _orders_file(tmp_path / "orders.csv", 3_000, bad_last)
    if bad_last:
        with pytest.raises(ImportFailed):
            run(app, path, progress=look)
        assert counts(app)["Order"] == 0
    else:
        run(app, path, progress=look)
    assert during == [0]            # set aside while the rows went in
    assert _index_sql(app) == before
    if bad_last:
        return
    with app.app_context():
        rows = db.session.execute(db.text(
            "SELECT o.id, o.ref, l.quantity FROM orders o JOIN order_lines l "
            "ON l.order_id = o.id ORDER BY o.id, l.id")).all()
        assert db.session.execute(db.text("PRAGMA integrity_check")).scalar() == "ok"
    assert [(r.id, r.ref, r.quantity) for r in rows] == [
        (n + 1, f"X-{n:05d}", 1 + n % 3 + k) for n in range(3_000) for k in range(2)]


# ---- the pricing shortcuts give tax.price_order's figures ----------------------------

def test_the_imports_pricing_shortcuts_give_the_same_figures():
    """tax.allocate's two-part path and tax.one_rate_figures (the engine prices most
    orders with it, without Line objects) against the general rule, on random orders."""
    import random

    from webapp.tax import Line, allocate, one_rate_figures, price_order

    def largest_remainder(total, weights):  # the rule, written out plainly
        whole = sum(weights)
        parts = [total * w // whole for w in weights]
        order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
        for i in order[:total - sum(parts)]:
            parts[i] += 1
        return parts

    rng = random.Random(11)
    for _ in range(20_000):
        weights = [rng.choice([0, 1, 3, rng.randint(0, 10**6)]) for _ in range(2)]
        total = rng.choice([0, 1, -1, rng.randint(-10**6, 10**6)])
        if sum(weights):
            assert allocate(total, weights) == largest_remainder(total, weights)
        lines = [Line(rng.randint(1, 9), rng.randint(0, 10**5), 2000, rng.choice([0, 0, 7]))
                 for _ in range(rng.randint(1, 4))]
        included = rng.random() < 0.5
        amounts = [q * u - d for q, u, _, d in lines]
        if min(amounts) < 0:
            continue
        want = price_order(lines, included)
        gross, total, tax, shares = one_rate_figures(
            amounts, sum(q * u for q, u, _, _ in lines), 2000, included)
        assert (gross, total, tax) == (want.gross_cents, want.total_cents, want.tax_cents)
        assert [(a - t if included else a, t) for a, t in zip(amounts, shares)] == [
            tuple(line) for line in want.lines]


# ---- a big file is read in a child process (imports/pipeline.py) ----------------------

@pytest.mark.parametrize("name, shop_name", [(name, shop_name) for name, shop_name, _ in SAMPLES]
                         + [("excel_fr_customers.csv", "shopify"),
                            ("shopify_products.csv", "shopify"),
                            ("excel_fr_orders.csv", "shopify")])  # refused: unknown skus
def test_reading_in_a_child_process_gives_the_same_import(app, tmp_path, monkeypatch,
                                                          name, shop_name):
    """Every sample, with pipeline.MIN_BYTES lowered so that even it is read by a forked
    child: the same plan (counts, skipped, notes, problems: a refused file too) and the
    same rows written."""
    from webapp.imports import pipeline

    def outcome(**kw):
        try:
            return run(app, DATA / name, **kw).to_dict()
        except ImportFailed as failed:
            return failed.plan.to_dict()

    shop(app, shop_name)
    alone = outcome(dry_run=True)
    monkeypatch.setattr(pipeline, "MIN_BYTES", 0)
    assert outcome(dry_run=True) == alone
    assert outcome()["counts"] == alone["counts"]


def test_a_cancelled_import_read_by_a_child_ends_the_child(app, tmp_path, monkeypatch):
    import multiprocessing

    from webapp.imports import pipeline

    monkeypatch.setattr(pipeline, "MIN_BYTES", 0)
    (tmp_path / "p.csv").write_text("sku,name,category,price,stock\nSKU-1,Mug,Cups,4.50,9\n")
    (tmp_path / "c.csv").write_text("email,name,country\nann@example.com,Ann,France\n")
    run(app, tmp_path / "p.csv")
    run(app, tmp_path / "c.csv")
    path = _orders_file(tmp_path / "orders.csv", 20_000)
    children = []

    def cancel():
        children.append(len(multiprocessing.active_children()))
        return True

    plan = run(app, path, cancelled=cancel)
    assert plan.cancelled and children == [1]  # asked while the child was reading
    assert counts(app)["Order"] == 0 and multiprocessing.active_children() == []


def test_a_sale_at_the_very_start_of_a_day_counts_on_that_day(app, tmp_path):
    """Imported orders are written straight to the driver: their time must be stored in
    the same text as every other write, or a sale at exactly 00:00:00 compares as before
    the day's start (SQLite compares the text) and lands in the day before."""
    from larder_files import import_csv

    with app.app_context():
        import_csv("products", "sku,name,category,price,stock\nA-1,Apple,Produce,2.00,10\n")
        import_csv("orders", "order_ref,created_at,customer_email,sku,quantity\n"
                              "X-1,2025-03-02T00:00:00,,A-1,1\n"
                              "X-2,2025-03-01T23:59:59,,A-1,2\n")
        for day, orders in ((date(2025, 3, 1), 1), (date(2025, 3, 2), 1)):
            totals = reports.build_report(day, day, "json", tmp_path / f"{day}.json")
            assert totals["orders"] == orders, day
        totals = reports.build_report(date(2025, 3, 2), date(2025, 3, 2), "json",
                                      tmp_path / "again.json")
        assert totals["revenue_cents"] == 200


# ---- the problems in the shop's language (docs/interface.md, "Languages") -------------

def _bad_files(tmp_path):
    """A SumUp export with a bad quantity and a bad amount (read by imports/values.py),
    and a products file with a bad price and stock (judged by the shared rules)."""
    sumup = tmp_path / "sumup.csv"
    text = (DATA / "sumup_sales_2023_en.csv").read_text(encoding="utf-8")
    sumup.write_text(text.replace(",2,Kaffee ,", ",zwei,Kaffee ,")
                     .replace(",18.50,", ",18.5.0,"), encoding="utf-8")
    products = tmp_path / "products.csv"
    products.write_text("sku,name,category,price,stock\nA-1,Apple,Produce,abc,10\n"
                        "A-2,Pear,Produce,-2,-1\n", encoding="utf-8")
    return sumup, products


def _problems(app, path):
    with pytest.raises(ImportFailed) as failed:
        run(app, path)
    return failed.value.plan.problems


ENGLISH = [
    ["line 2: Quantity: not a quantity: 'zwei' (expected a whole number like 2)",
     "line 4: Price (Gross): not an amount: '18.5.0' (digits grouped wrongly; expected like "
     "1,234.50 or 1 234,50)"],
    ["line 2: price: not a number: 'abc'", "line 3: price: must not be negative",
     "line 3: stock: a whole number from 0 to 1,000,000"]]
GERMAN = [
    ["Zeile 2: Quantity: keine Menge: 'zwei' (erwartet eine ganze Zahl wie 2)",
     "Zeile 4: Price (Gross): kein Betrag: '18.5.0' (Ziffern falsch gruppiert; erwartet wie "
     "1,234.50 oder 1 234,50)"],
    ["Zeile 2: price: keine Zahl: 'abc'", "Zeile 3: price: darf nicht negativ sein",
     "Zeile 3: stock: eine ganze Zahl von 0 bis 1.000.000"]]


@pytest.mark.parametrize("locale, expected", [("en_GB", ENGLISH), ("de_DE", GERMAN)])
def test_problems_are_said_in_the_shops_language_by_a_child_reader_too(
        app, tmp_path, monkeypatch, locale, expected):
    """The same bad rows, read in this process and by a forked child (pipeline.py): the
    child's problems are said in the shop's language like the others; an English shop
    reads them word for word as before."""
    from webapp.imports import pipeline

    shop(app, "sumup")
    with app.app_context():
        settings.save({"locale": locale})
        db.session.commit()
    files = _bad_files(tmp_path)
    alone = [_problems(app, path) for path in files]
    monkeypatch.setattr(pipeline, "MIN_BYTES", 0)
    assert [_problems(app, path) for path in files] == alone == expected


@pytest.mark.parametrize("locale, skipped", [
    ("fr_FR", ["line 9: order 5550000005: voided",
               "line 11: order 5550000007: test order (paid with Shopify's test gateway)"]),
    ("de_AT", ["Zeile 9: Bestellung 5550000005: annulliert",
               "Zeile 11: Bestellung 5550000007: Testbestellung (mit dem Test-Gateway von "
               "Shopify bezahlt)"])])
def test_skipped_sales_are_said_in_the_shops_language(app, locale, skipped):
    shop(app, "shopify")
    with app.app_context():
        settings.save({"locale": locale})
        db.session.commit()
    assert run(app, DATA / "shopify_orders.csv", dry_run=True).skipped == skipped
