"""Input a shop never sends but a page, a script or a file can: no 500s, clear 400s, and
nothing stored that breaks later reads."""
import csv
import io
import json
import logging
import os
from datetime import date

import pytest
from sqlalchemy import create_engine, event, func, select, text

from larder_files import ImportFailed, import_csv
from webapp import catalog
from webapp.csv_export import export_csv
from webapp.extensions import db
from webapp.inbox_sync import sync_inbox
from webapp.models import Product, User
from webapp.money import (MAX_LINES, MAX_ORDER_CENTS, MAX_PRICE_CENTS, MAX_QUANTITY,
                          MAX_STOCK, NumberError, parse_money, parse_whole)
from webapp.reports import build_report

ANN = "ann@example.com"


def _order(client, *lines):
    return client.post("/api/orders", json={
        "customer_email": ANN, "lines": [{"sku": s, "quantity": q} for s, q in lines]})


# ---- numbers have bounds ---------------------------------------------------------------

def test_numbers_that_would_overflow_sums_are_refused(client, shop):
    for body, field in (({"stock": 10**30}, "stock"), ({"stock": MAX_STOCK + 1}, "stock"),
                        ({"price": "9999999999.99"}, "price"), ({"price": "1e999999999"}, "price"),
                        ({"price": "1000000.01"}, "price")):
        response = client.patch("/api/products/SKU-001", json=body)
        assert response.status_code == 400, body
        assert field in response.json["fields"], body
    # the bounds themselves are accepted
    ok = client.patch("/api/products/SKU-001", json={"price": "1000000.00", "stock": MAX_STOCK})
    assert ok.status_code == 200 and ok.json["price"] == "1000000.00"
    # 10 x 1,000,000.00 fits an order (10,000,000.00); one more unit does not
    assert _order(client, ("SKU-001", 10)).status_code == 201
    too_much = _order(client, ("SKU-001", 10), ("SKU-002", 1))
    assert too_much.status_code == 400 and "10,000,000.00" in too_much.json["fields"]["lines"]
    big = _order(client, ("SKU-002", MAX_QUANTITY + 1))
    assert big.status_code == 400 and "100,000" in big.json["fields"]["lines[0].quantity"]
    for url in ("/", "/api/stats", "/products/", "/orders/"):
        assert client.get(url).status_code == 200, url
    assert client.get("/api/stats").json["revenue"] == 10_000_000.0


def test_bounds_keep_a_lifetime_of_sums_in_64_bits():
    # 2**31 orders (PostgreSQL's ids) at the largest total, and their quantities.
    assert (2**31 - 1) * MAX_ORDER_CENTS < 2**63
    assert (2**31 - 1) * MAX_LINES * MAX_QUANTITY < 2**63
    assert MAX_PRICE_CENTS == 100_000_000 and MAX_STOCK == 1_000_000
    assert (MAX_QUANTITY, MAX_LINES, MAX_ORDER_CENTS) == (100_000, 500, 1_000_000_000)


@pytest.mark.parametrize("text, cents", [("0", 0), ("0.01", 1), ("12.5", 1250), ("1.500", 150),
                                         ("999999.99", 99_999_999), ("1000000", 100_000_000)])
def test_parse_money_edges(text, cents):
    assert parse_money(text) == cents


@pytest.mark.parametrize("text, reason", [
    ("1000000.01", "too large"), ("1e7", "too large"), ("1e999999999", "too large"),
    ("-0.01", "negative"), ("0.001", "two decimals"), ("1e-999999999", "two decimals"),
    ("NaN", "not a number"), ("Infinity", "not a number"), ("1,5", "not a number")])
def test_parse_money_refusals(text, reason):
    with pytest.raises(NumberError, match=reason):
        parse_money(text)


def test_parse_money_limit_is_inclusive():
    assert parse_money("10.00", limit=1000) == 1000
    with pytest.raises(NumberError):
        parse_money("10.01", limit=1000)


@pytest.mark.parametrize("value, result", [(1, 1), (10, 10), ("10", 10), (" 3.0 ", 3),
                                           ("+4", 4), ("0007", 7)])
def test_parse_whole_accepts(value, result):
    assert parse_whole(value, 1, 10) == result


@pytest.mark.parametrize("value", [0, 11, "11", "-1", "1.5", 1.0, True, None, "", "x",
                                   "9" * 5000, "-" + "9" * 5000])
def test_parse_whole_refuses(value):
    with pytest.raises(NumberError):
        parse_whole(value, 1, 10)


def test_imported_files_have_the_same_bounds(app):
    with app.app_context():
        with pytest.raises(ImportFailed) as failed:
            import_csv("products", (
                "sku,name,category,price,stock\n"
                "A-1,A,X,1000000.01,1\n"
                f"A-2,B,X,1,{MAX_STOCK + 1}\n").encode())
        assert failed.value.errors == [
            "line 2: price: too large: at most 1,000,000.00",
            "line 3: stock: a whole number from 0 to 1,000,000"]
        import_csv("products", b"sku,name,category,price,stock\nA-1,A,X,1000000,1\n")
        import_csv("customers", f"email,name,country\n{ANN},Ann,UK\n".encode())
        head = "order_ref,created_at,customer_email,sku,quantity\n"
        many = "".join(f"R2,2025-01-01,{ANN},A-1,1\n" for _ in range(MAX_LINES + 1))
        with pytest.raises(ImportFailed) as failed:
            import_csv("orders", (head + f"R1,2025-01-01,{ANN},A-1,11\n" + many +
                                             f"R3,2025-01-01,{ANN},A-1,100001\n").encode())
        assert failed.value.errors == [  # in file order; the quantity in the API's words
            "line 2: total: order R1: above 10,000,000.00",
            "line 3: order: order R2: 501 lines; at most 500",
            f"line {MAX_LINES + 4}: quantity: a whole number from 1 to 100,000"]


def test_values_stored_before_the_bounds_still_read(client, shop):
    """A row written by an older Larder above today's bounds: pages and the API show it,
    an edit of another field works, an order of it is refused, nothing is a 500."""
    with shop.app_context():
        db.session.execute(text("UPDATE products SET price_cents = 2147483647, "
                                "stock = 2147483647 WHERE sku = 'SKU-001'"))
        db.session.commit()
    for url in ("/products/", "/products/SKU-001", "/products/SKU-001/edit",
                "/api/products/SKU-001", "/", "/api/stats"):
        assert client.get(url).status_code == 200, url
    assert client.get("/api/products/SKU-001").json["price"] == "21474836.47"
    assert client.patch("/api/products/SKU-001", json={"name": "Renamed"}).status_code == 200
    refused = _order(client, ("SKU-001", 1))
    assert refused.status_code == 400 and "total" in refused.json["fields"]["lines"]


# ---- requests a browser never sends ----------------------------------------------------

def test_huge_page_numbers(client, shop):
    for url in ("/products/", "/customers/", "/orders/"):
        for page in ("9223372036854775807", "99999999999999999999", "-5", "x"):
            response = client.get(f"{url}?page={page}")
            assert response.status_code == 200, (url, page)


@pytest.mark.parametrize("method, url", [("patch", "/api/products/SKU-001"),
                                         ("post", "/api/orders"), ("post", "/api/reports")])
def test_json_with_a_lone_surrogate_or_absurd_nesting_is_a_400(client, shop, method, url):
    bodies = ['{"name": "a\\ud800b"}', '{"customer_email": "ann@example.com", "lines": '
              '[{"sku": "SKU-001\\udfff", "quantity": 1}]}', '{"from": "\\ud800"}',
              '{"a\\udc00": 1}', "[" * 100_000 + "]" * 100_000, '{"a":' * 50 + "1" + "}" * 50]
    for body in bodies:
        response = getattr(client, method)(url, data=body, content_type="application/json")
        assert response.status_code == 400, body[:60]
        assert response.json["error"]
    # a proper pair of surrogates is one character, and fine
    ok = client.patch("/api/products/SKU-001", data='{"name": "Cake \\ud83c\\udf82"}',
                      content_type="application/json")
    assert ok.status_code == 200 and ok.json["name"] == "Cake \U0001F382"


def test_first_requests_race_for_the_owner_row(app):
    """Another process creates the owner row between this one's look-up and insert: the
    insert's unique conflict is taken as "it exists now", not a 500."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    other = create_engine(url)
    with app.app_context():
        engine = db.engine

        def meanwhile(conn, cursor, statement, params, context, executemany):
            if statement.startswith("INSERT INTO users") and not fired:
                fired.append(True)
                with other.begin() as c:  # a second connection, committed first
                    c.execute(text("INSERT INTO users (username, password_hash, role, "
                                   "created_at) VALUES ('owner', '', 'owner', "
                                   "CURRENT_TIMESTAMP)"))

        fired = []
        event.listen(engine, "before_cursor_execute", meanwhile)
        try:
            client = app.test_client()
            response = client.get("/api/stats", headers={"Authorization": "Bearer "
                                                         + app.config["LARDER_TOKEN"]})
        finally:
            event.remove(engine, "before_cursor_execute", meanwhile)
        assert fired and response.status_code == 200
        assert db.session.scalar(select(func.count(User.id))) == 1
    other.dispose()


def test_list_cache_keys_encode_their_arguments(client, shop):
    poisoned = client.get("/products/?category=Bakery%26page%3D1")
    assert poisoned.status_code == 200 and "Product 000" not in poisoned.get_data(as_text=True)
    real = client.get("/products/?category=Bakery&page=1")
    assert real.headers["X-Cache"] == "MISS"
    assert "Product 000" in real.get_data(as_text=True)
    assert client.get("/products/?page=1&category=Bakery").headers["X-Cache"] == "HIT"


# ---- SKUs: one rule everywhere ---------------------------------------------------------

@pytest.mark.parametrize("sku", ["../../x", "a/b", "<script>", "-a", ".a", "a b", "é",
                                 "x" * 65, "a?b", "a%2Fb"])
def test_bad_skus_refused_on_every_path(client, app, sku):
    with app.app_context():
        with pytest.raises(catalog.ValidationError) as bad:
            catalog.create_product({"sku": sku, "name": "N", "category": "C", "price": "1",
                                    "stock": "1"})
        assert bad.value.errors["sku"]
        data = io.StringIO()
        csv.writer(data).writerows([["sku", "name", "category", "price", "stock"],
                                    [sku, "N", "C", "1", "1"]])
        with pytest.raises(ImportFailed) as failed:
            import_csv("products", data.getvalue().encode())
        assert failed.value.errors[0].startswith("line 2: sku: ")
        catalog.create_product({"sku": "OK-1", "name": "N", "category": "C", "price": "1",
                                "stock": "1"})
    response = client.patch("/api/products/OK-1", json={"sku": sku})
    assert response.status_code == 400 and "sku" in response.json["fields"]


def test_orders_csv_checks_the_sku_rule(app):
    with app.app_context():
        with pytest.raises(ImportFailed) as failed:
            import_csv("orders", (
                "order_ref,created_at,customer_email,sku,quantity\n"
                f"R1,2025-01-01,{ANN},../../x,1\n").encode())
        assert failed.value.errors == ["line 2: sku: 1 to 64 letters, digits, '.', '_' or "
                                       "'-', starting with a letter or digit"]


# ---- CSV files Larder writes are safe in a spreadsheet ---------------------------------

FORMULAS = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "'=already", "-3.00"]


def test_export_neutralises_text_cells_and_round_trips(app):
    with app.app_context():
        for i, name in enumerate(FORMULAS):
            catalog.create_product({"sku": f"F-{i}", "name": name, "category": "=cmd|x",
                                    "price": "3.00", "stock": "2"})
        catalog.create_customer({"email": "=x@example.com", "name": "@me", "country": "-UK",
                                 "city": "+city"})
        products = export_csv("products")
        rows = list(csv.reader(io.StringIO(products)))[1:]
        assert [r[1] for r in rows] == ["'" + name for name in FORMULAS]
        assert {r[2] for r in rows} == {"'=cmd|x"}
        assert {(r[3], r[4]) for r in rows} == {("3.00", "2")}  # numbers as they are
        customers = list(csv.reader(io.StringIO(export_csv("customers"))))[1]
        assert customers[:4] == ["'=x@example.com", "'@me", "'-UK", "'+city"]
        for kind, data in (("products", products), ("customers", export_csv("customers"))):
            result = import_csv(kind, data.encode())
            assert (result.created, result.updated) == (0, 0), kind
        stored = db.session.execute(select(Product.name).order_by(Product.sku)).scalars().all()
        assert stored == FORMULAS


def test_report_csv_neutralises_text_not_numbers(app, tmp_path):
    with app.app_context():
        catalog.create_product({"sku": "F-1", "name": "=1+2", "category": "-Deli",
                                "price": "3.00", "stock": "5"})
        catalog.create_customer({"email": ANN, "name": "Ann", "country": "@Land",
                                 "city": ""})
        from webapp.ordering import create_order

        create_order({"customer_email": ANN, "lines": [{"sku": "F-1", "quantity": 2}]})
        out = tmp_path / "r.csv"
        build_report(date.today(), date.today(), "csv", out)
    rows = [r for r in csv.reader(io.StringIO(out.read_text("utf-8-sig"))) if r]
    by_section = {r[0]: r for r in rows if r[0] != "section"}
    assert by_section["by_category"] == ["by_category", "'-Deli", "2", "6.00"]
    assert by_section["by_country"] == ["by_country", "'@Land", "1", "6.00"]
    assert by_section["top_products"] == ["top_products", "F-1", "'=1+2", "2", "6.00"]


# ---- inbox and outbox never follow links -----------------------------------------------

@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "secret.csv"
    path.write_text("sku,name,category,price,stock\nroot:x:0:0:root,secret\n")
    os.utime(path, (1, 1))
    return path


def test_inbox_skips_links_and_special_files(app, secret, caplog):
    inbox = os.path.join(app.config["DATA_DIR"], "inbox")
    os.symlink(secret, os.path.join(inbox, "products-link.csv"))
    os.mkfifo(os.path.join(inbox, "orders-fifo.csv"))
    with open(os.path.join(inbox, "customers-x.csv"), "w") as fh:
        fh.write(f"email,name,country\n{ANN},Ann,UK\n")
    os.utime(os.path.join(inbox, "customers-x.csv"), (1, 1))
    with app.app_context(), caplog.at_level(logging.WARNING):
        report = sync_inbox()
    assert [item["file"] for item in report["imported"]] == ["customers-x.csv"]
    assert report["failed"] == []
    assert not os.path.exists(os.path.join(inbox, "failed"))
    assert os.path.islink(os.path.join(inbox, "products-link.csv"))  # left where it was
    assert "products-link.csv: a symbolic link" in caplog.text
    assert "orders-fifo.csv: not a regular file" in caplog.text


def test_outbox_never_shows_a_linked_file(client, app, tmp_path):
    target = tmp_path / "passwd.eml"
    target.write_text("To: root\nSubject: root:x:0:0\n\nsecret\n")
    outbox = os.path.join(app.config["DATA_DIR"], "outbox")
    os.symlink(target, os.path.join(outbox, "leak.eml"))
    assert client.get("/outbox/leak.eml").status_code == 404
    listing = client.get("/outbox/").get_data(as_text=True)
    assert "leak.eml" not in listing and "root:x" not in listing


def test_cleanup_removes_old_files_not_link_targets(app, tmp_path):
    from webapp.cleanup import cleanup

    target = tmp_path / "keep.pdf"
    target.write_bytes(b"x")
    os.utime(target, (1, 1))
    link = os.path.join(app.config["DATA_DIR"], "reports", "old.pdf")
    os.symlink(target, link)
    with app.app_context():
        assert cleanup(days=1)["reports"] == 0
    assert target.exists()


def test_json_helpers_are_used_by_every_get_json(app):
    with app.test_request_context("/", method="POST", data='{"a": "\\ud800"}',
                                  content_type="application/json"):
        from flask import request

        assert request.get_json(silent=True) is None
    assert json.loads('"\\ud800"') == "\ud800"  # (plain json would have let it through)
