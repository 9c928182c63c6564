"""Products' barcodes (docs/products.md): the one rule (EAN-8, UPC-A, EAN-13 with their
check digit; one product per barcode) in the form, the API and the imports; the order
desk finds a product by its barcode (a scanner types it and Enter), over real HTTP; and
a 0.3.0 database upgrades to it."""
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from conftest import csrf_from, http_session
from larder_files import ImportFailed, import_csv

FIXTURES = Path(__file__).parent / "fixtures"
EAN13 = "4006381333931"      # a real EAN-13 (check digit 1)
OTHER_EAN13 = "5901234123457"
UPC_A = "036000291452"       # a UPC-A; scanners may send it as the EAN-13 0036000291452
EAN8 = "96385074"


def set_barcode(app, sku, code):
    from webapp import catalog

    with app.app_context():
        catalog.update_product(sku, {"barcode": code})


@pytest.mark.parametrize("code, reason", [
    ("4006381333932", "check digit"), ("400638133393", "check digit"),
    ("12345", "8, 12 or 13 digits"), ("40063813339310", "8, 12 or 13 digits"),
    ("ABC-123", "8, 12 or 13 digits"), ("４００６３８１３３３９３１", "8, 12 or 13 digits"),
])
def test_a_bad_barcode_is_refused_by_the_api_with_the_reason(client, shop, code, reason):
    answer = client.patch("/api/products/SKU-001", json={"barcode": code})
    assert answer.status_code == 400 and reason in answer.json["fields"]["barcode"]
    assert client.get("/api/products/SKU-001").json["barcode"] is None


def test_good_barcodes_are_kept_and_cleared(client, shop):
    for sku, code in (("SKU-001", EAN13), ("SKU-002", UPC_A), ("SKU-003", EAN8)):
        answer = client.patch(f"/api/products/{sku}", json={"barcode": code})
        assert answer.status_code == 200 and answer.json["barcode"] == code
    spaced = client.patch("/api/products/SKU-004", json={"barcode": "5 901234 123457"})
    assert spaced.json["barcode"] == OTHER_EAN13  # typed from the label, spaces and all
    assert client.patch("/api/products/SKU-004", json={"barcode": ""}).json["barcode"] is None
    made = client.post("/api/products", json={"sku": "NEW-1", "name": "New", "category": "x",
                                               "price": "1", "stock": 1,
                                               "barcode": OTHER_EAN13})
    assert made.status_code == 201 and made.json["barcode"] == OTHER_EAN13


def test_a_duplicate_barcode_is_refused_by_the_api(client, shop):
    set_barcode(shop, "SKU-001", EAN13)
    set_barcode(shop, "SKU-002", UPC_A)
    why = "already used by the product SKU-001 (Product 001): one barcode, one product"
    created = client.post("/api/products", json={"sku": "NEW-1", "name": "New",
                                                  "category": "x", "price": "1", "stock": 1,
                                                  "barcode": EAN13})
    assert created.status_code == 400 and created.json["fields"] == {"barcode": why}
    patched = client.patch("/api/products/SKU-003", json={"barcode": EAN13})
    assert patched.status_code == 400 and patched.json["fields"] == {"barcode": why}
    # the UPC-A written as its EAN-13 is the same code
    same = client.patch("/api/products/SKU-003", json={"barcode": "0" + UPC_A})
    assert same.status_code == 400 and "SKU-002" in same.json["fields"]["barcode"]
    # its own barcode again is no duplicate
    assert client.patch("/api/products/SKU-001", json={"barcode": EAN13, "stock": 9}
                        ).status_code == 200


def test_a_duplicate_barcode_is_refused_by_the_form(owner_browser, shop):
    set_barcode(shop, "SKU-001", EAN13)
    token = csrf_from(owner_browser, "/products/new")
    page = owner_browser.post("/products/new", data={
        "csrf_token": token, "sku": "NEW-1", "name": "New", "category": "Bakery",
        "price": "1.00", "stock": "1", "barcode": EAN13})
    text = page.get_data(as_text=True)
    assert page.status_code == 400
    assert 'id="f-barcode-error"' in text
    assert "already used by the product SKU-001 (Product 001)" in text
    edit = owner_browser.post("/products/SKU-002/edit", data={
        "csrf_token": token, "sku": "SKU-002", "name": "Product 002", "category": "Dairy",
        "price": "3.50", "stock": "10", "barcode": "4006381333932"})
    assert edit.status_code == 400 and "check digit" in edit.get_data(as_text=True)
    form = owner_browser.get("/products/SKU-001/edit").get_data(as_text=True)
    assert f'name="barcode" value="{EAN13}"' in form


def test_a_duplicate_barcode_is_refused_by_the_larder_import(app, shop):
    set_barcode(shop, "SKU-001", EAN13)
    header = "sku,name,category,price,stock,barcode\n"
    with app.app_context():
        with pytest.raises(ImportFailed) as taken:
            import_csv("products", header + f"NEW-1,New,Bakery,1.00,1,{EAN13}\n")
        assert taken.value.errors == [
            "line 2: barcode: already used by the product SKU-001 (Product 001): "
            "one barcode, one product"]
        with pytest.raises(ImportFailed) as twice:  # twice in one file
            import_csv("products", header + f"NEW-1,New,Bakery,1.00,1,{OTHER_EAN13}\n"
                                            f"NEW-2,New 2,Bakery,1.00,1,{OTHER_EAN13}\n")
        assert twice.value.errors == [
            "line 3: barcode: already used by the product NEW-1 (New): one barcode, one product"]
        with pytest.raises(ImportFailed) as bad:
            import_csv("products", header + "NEW-1,New,Bakery,1.00,1,4006381333932\n")
        assert "line 2: barcode: the last digit (the check digit)" in bad.value.errors[0]
        # all rows or none: nothing was written
        from webapp.extensions import db
        from webapp.models import Product

        assert db.session.execute(db.select(Product).filter_by(sku="NEW-1")).scalar() is None
        # the same file with good codes, exported and read back, changes nothing
        done = import_csv("products", header + f"NEW-1,New,Bakery,1.00,1,{OTHER_EAN13}\n"
                                               f"SKU-001,Product 001,Bakery,1.50,10,\n")
        assert (done.created, done.updated) == (1, 1)  # SKU-001's barcode cleared
        from webapp import csv_export

        exported = csv_export.export_csv("products")
        assert f"NEW-1,New,Bakery,1.00,1,,,,{OTHER_EAN13}" in exported.splitlines()
        again = import_csv("products", exported)
        assert (again.created, again.updated) == (0, 0)


def test_shopify_variant_barcodes_are_imported_by_the_same_rule(app, shop, tmp_path):
    from webapp.imports.engine import import_file

    sample = Path(__file__).parent / "data" / "imports" / "shopify_products.csv"
    rows = sample.read_text(encoding="utf-8").splitlines()
    column = rows[0].split(",").index("Variant Barcode")

    def with_barcodes(*codes):
        import csv
        import io

        table = list(csv.reader(io.StringIO(sample.read_text(encoding="utf-8"))))
        for row, code in zip(table[1:], codes):
            row[column] = code
        path = tmp_path / "products_export.csv"
        out = io.StringIO()
        csv.writer(out).writerows(table)
        path.write_text(out.getvalue(), encoding="utf-8")
        return path

    set_barcode(shop, "SKU-001", EAN13)
    with app.app_context():
        with pytest.raises(ImportFailed) as bad:
            import_file(with_barcodes("4006381333932"))
        assert bad.value.plan.problem_lines() == [
            "line 2: Variant Barcode: the last digit (the check digit) does not match the "
            "others: check the code, or scan it"]
        with pytest.raises(ImportFailed) as taken:
            import_file(with_barcodes(OTHER_EAN13, EAN13))
        assert taken.value.plan.problem_lines() == [
            "line 3: barcode: already used by the product SKU-001 (Product 001): "
            "one barcode, one product"]
        import_file(with_barcodes(OTHER_EAN13, "'" + UPC_A))
        from webapp.extensions import db
        from webapp.models import Product

        got = dict(db.session.execute(db.select(Product.sku, Product.barcode).where(
            Product.sku.in_(["MUG-01", "MUG-02"]))).all())
    assert got == {"MUG-01": OTHER_EAN13, "MUG-02": UPC_A}


def test_the_desk_finds_a_product_by_its_barcode_over_http(shop):
    set_barcode(shop, "SKU-007", EAN13)
    set_barcode(shop, "SKU-008", UPC_A)
    with http_session(shop) as api:
        def find(q):
            return api.get(f"{api.base}/api/products", params={"q": q}, timeout=10).json()

        found = find(EAN13)
        assert found["exact"] == "SKU-007"
        assert found["products"][0]["sku"] == "SKU-007"
        assert found["products"][0]["barcode"] == EAN13
        assert find("0" + UPC_A)["exact"] == "SKU-008"  # the UPC-A scanned as an EAN-13
        assert find(UPC_A)["exact"] == "SKU-008"
        assert find(OTHER_EAN13)["exact"] is None

        # the page without script: the scanned code and Enter (the form's Add) adds it
        page = api.get(f"{api.base}/orders/new", timeout=10).text
        import re

        token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
        added = api.post(f"{api.base}/orders/new", timeout=10, data={
            "csrf_token": token, "find": EAN13, "action": "add"})
        assert added.status_code == 200
        assert 'name="sku0" value="SKU-007"' in added.text
        again = api.post(f"{api.base}/orders/new", timeout=10, data={
            "csrf_token": token, "find": EAN13, "action": "add", "sku0": "SKU-007",
            "qty0": "1"})
        assert 'name="qty0" value="2"' in again.text


def test_a_030_database_upgrades_to_barcodes(tmp_path):
    """0.3.0's database (schema 0004) upgrades through 0007: every product starts
    without a barcode, and the database itself keeps one product per barcode."""
    from webapp import catalog, create_app, db_upgrade
    from webapp.extensions import db
    from webapp.models import Product

    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(FIXTURES / "larder-0.3.0.db", data / "larder.db")
    expected = json.loads((FIXTURES / "larder-0.3.0.expected.json").read_text())
    app = create_app({"TESTING": True}, data_dir=data)
    con = sqlite3.connect(data / "larder.db")
    assert con.execute("SELECT version_num FROM alembic_version").fetchone()[0] == \
        db_upgrade.HEAD
    con.close()
    with app.app_context():
        products = db.session.execute(db.select(Product).order_by(Product.id)).scalars().all()
        assert products and all(p.barcode is None for p in products)
        assert sum(p.stock for p in products) == expected["stock_sum"]
        first, second = products[0], products[1]
        catalog.update_product(first.sku, {"barcode": EAN13})
        with pytest.raises(catalog.ValidationError):
            catalog.update_product(second.sku, {"barcode": EAN13})
        db.session.rollback()
        from sqlalchemy.exc import IntegrityError

        with pytest.raises(IntegrityError):  # the unique index, under the rule
            db.session.execute(db.update(Product).where(Product.id == second.id)
                               .values(barcode=EAN13))
            db.session.commit()
        db.session.rollback()
        db.engine.dispose()
