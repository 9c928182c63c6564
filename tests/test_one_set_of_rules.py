"""One set of rules: the same value given to the form, the JSON API (create and PATCH)
and the CSV import is accepted by all of them or refused by all with the same reason.

Before, they disagreed: the forms took "a@b..c" and "ann@example.com." that the CSV
import refused; the CSV import said "missing value" or "bad price '1.005' (at most two
decimals)" where the form said "is required" or "at most two decimals"; the API refused
a stock of 7.0 that the form and the CSV took as "7.0".
"""
import csv
import html
import io
import re

import pytest
from sqlalchemy import delete

from conftest import csrf_from
from webapp.extensions import db
from webapp.models import Customer, Product

BASE_PRODUCT = {"sku": "BASE", "name": "Bread", "category": "Bakery", "price": "2.50",
                "stock": "10"}
BASE_CUSTOMER = {"email": "base@example.com", "name": "Ann", "country": "France",
                 "city": "Lyon"}

# (field, value as typed, the same value as a JSON number where one exists)
PRODUCT_CASES = [
    ("sku", "ok-1"), ("sku", "../x"), ("sku", "a b"), ("sku", "x" * 65), ("sku", ""),
    ("name", ""), ("name", "  "), ("name", "n" * 201), ("name", "Rye & <b>"),
    ("category", "c" * 101), ("category", ""),
    ("price", "4.20", 4.2), ("price", "1.005"), ("price", "-1", -1), ("price", "abc"),
    ("price", ""), ("price", "1000000.01"), ("price", "1000000", 1000000), ("price", "0", 0),
    ("stock", "7", 7), ("stock", "7.0", 7.0), ("stock", "1.5", 1.5), ("stock", "-1", -1),
    ("stock", ""), ("stock", "1000001", 1000001), ("stock", "lots"),
    ("cost", "1.10", 1.1), ("cost", ""), ("cost", "-0.01"), ("cost", "1.001"),
    ("tax_rate", "20", 20), ("tax_rate", "5.5", 5.5), ("tax_rate", "7.7", 7.7),
    ("tax_rate", ""), ("tax_rate", "101"), ("tax_rate", "5.555"), ("tax_rate", "abc"),
    ("tax_rate", "-1", -1),
    ("reorder_at", "3", 3), ("reorder_at", ""), ("reorder_at", "-1", -1),
    ("reorder_at", "2.5", 2.5),
]
CUSTOMER_CASES = [
    ("email", "cy@example.com"), ("email", "CY@Example.COM"), ("email", "a@b..c"),
    ("email", "a@.b.c"), ("email", "cy@example.com."), ("email", "no-at-sign.com"),
    ("email", "two@@b.co"), ("email", "c@nodot"), ("email", ""), ("email", "a b@c.de"),
    ("name", ""), ("name", "n" * 201), ("country", "c" * 101), ("country", ""),
    ("city", ""), ("city", "c" * 101),
]


def _case(case):
    field, text = case[0], case[1]
    return field, text, (case[2] if len(case) > 2 else text)


def _form_reason(response, field):
    """None when the form was accepted (a redirect), else the reason shown at the field."""
    if response.status_code == 302:
        return None
    assert response.status_code == 400, response.status_code
    page = response.get_data(as_text=True)
    # The error in the field's own block, after its control (the field() macro).
    found = re.search(rf'name="{field}"(?:(?!</div>).)*?<span [^>]*class="error">([^<]*)'
                      r'</span>', page, re.S)
    assert found, f"no reason shown at {field}"
    return html.unescape(found.group(1))


def _api_reason(response, field):
    if response.status_code in (200, 201):
        return None
    assert response.status_code == 400, (response.status_code, response.get_data())
    return response.json["fields"][field]


def _csv_reason(page, field):
    """None when the file was imported, else the reason given for its line 2."""
    if "Imported." in page:
        return None
    page = html.unescape(page)
    found = re.search(rf"<li>line 2: {field}: ([^<]*)</li>", page)
    assert found, f"no reason for {field} in the import page"
    return found.group(1)


def _csv(row):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(list(row))
    writer.writerow(list(row.values()))
    return out.getvalue()


def _upload(browser, token, kind, text):
    """The Import page: the preview, then "Import these" when it shows no problem (the
    jobs run in-process here); the last page shown, as text."""
    response = browser.post("/import/", data={"csrf_token": token, "kind": kind,
                                              "file": (io.BytesIO(text.encode()), "rows.csv")},
                            content_type="multipart/form-data")
    assert response.status_code == 303, response.status_code
    url = response.headers["Location"]
    page = browser.get(url).get_data(as_text=True)
    if "Import these" in page:
        done = browser.post(url + "/confirm", data={"csrf_token": token})
        page = browser.get(done.headers["Location"]).get_data(as_text=True)
    return page


def _forget(app, model, column, value):
    """Remove what an accepted channel created, so the next channel starts alike."""
    with app.app_context():
        db.session.execute(delete(model).where(column == value))
        db.session.commit()


@pytest.mark.parametrize("case", PRODUCT_CASES, ids=lambda c: f"{c[0]}={c[1][:12]!r}")
def test_products_form_api_and_csv_agree(app, owner_browser, client, case):
    field, text, number = _case(case)
    token = csrf_from(owner_browser, "/products/new")
    row = {**BASE_PRODUCT, "sku": "ONE", field: text}
    stored_sku = row["sku"].strip()
    reasons = {}

    response = owner_browser.post("/products/new", data={"csrf_token": token, **row})
    reasons["form"] = _form_reason(response, field)
    _forget(app, Product, Product.sku, stored_sku)

    for name, value in (("api", text), ("api number", number)):
        response = client.post("/api/products", json={**row, field: value})
        reasons[name] = _api_reason(response, field)
        _forget(app, Product, Product.sku, stored_sku)

    # PATCH: only this field, over a valid stored product: the same rules apply.
    for name, value in (("patch", text), ("patch number", number)):
        assert client.post("/api/products", json={**BASE_PRODUCT}).status_code == 201
        response = client.patch("/api/products/BASE", json={field: value})
        reasons[name] = _api_reason(response, field)
        _forget(app, Product, Product.sku, stored_sku if field == "sku" and
                reasons[name] is None else "BASE")

    reasons["csv"] = _csv_reason(_upload(owner_browser, token, "products", _csv(row)), field)

    assert len(set(reasons.values())) == 1, reasons


@pytest.mark.parametrize("case", CUSTOMER_CASES, ids=lambda c: f"{c[0]}={c[1][:12]!r}")
def test_customers_form_api_and_csv_agree(app, owner_browser, client, case):
    field, text, _ = _case(case)
    token = csrf_from(owner_browser, "/customers/new")
    row = {**BASE_CUSTOMER, "email": "one@example.com", field: text}
    stored_email = row["email"].strip().lower()
    reasons = {}

    response = owner_browser.post("/customers/new", data={"csrf_token": token, **row})
    reasons["form"] = _form_reason(response, field)
    _forget(app, Customer, Customer.email, stored_email)

    response = client.post("/api/customers", json=row)
    reasons["api"] = _api_reason(response, field)
    _forget(app, Customer, Customer.email, stored_email)

    reasons["csv"] = _csv_reason(_upload(owner_browser, token, "customers", _csv(row)), field)

    assert len(set(reasons.values())) == 1, reasons


def test_the_rules_give_the_same_stored_values(app, owner_browser, client):
    """Accepted alike is stored alike: the three ways store the same product."""
    token = csrf_from(owner_browser, "/products/new")
    row = {"name": " Rye ", "category": "Bakery", "price": "+3.5", "stock": "7.0",
           "cost": "1.1", "tax_rate": "5.50", "reorder_at": "2"}
    assert owner_browser.post("/products/new",
                              data={"csrf_token": token, "sku": "F-1", **row}).status_code == 302
    assert client.post("/api/products", json={"sku": "A-1", **row}).status_code == 201
    assert "Imported." in _upload(owner_browser, token, "products", _csv({"sku": "C-1", **row}))
    stored = {sku: {k: v for k, v in client.get(f"/api/products/{sku}").json.items()
                    if k not in ("sku", "updated_at")} for sku in ("F-1", "A-1", "C-1")}
    assert stored["F-1"] == stored["A-1"] == stored["C-1"] == {
        "name": "Rye", "category": "Bakery", "price": "3.50", "stock": 7, "cost": "1.10",
        "tax_rate": "5.5", "reorder_at": 2, "barcode": None, "archived": False}


@pytest.mark.parametrize("text, expected", [("5.5", 550), ("5.5 %", 550), ("20%", 2000),
                                            ("0", 0), ("100", 10000), ("7.70", 770)])
def test_tax_rates_are_read_as_percent(text, expected):
    from webapp.validation import parse_rate

    assert parse_rate(text) == expected


@pytest.mark.parametrize("text", ["5%%", "%", "100.01", "-1", "5.555", "nan", "1e3", "", True])
def test_bad_tax_rates_are_refused(text):
    from webapp.validation import parse_rate

    with pytest.raises(ValueError):
        parse_rate(text)


def test_a_decimal_comma_file_is_judged_by_the_same_rules(tmp_path):
    """The shop's locale is read out of the numbers first (7,50 is 7.50 in a French shop);
    then the rules and their words are the forms' own."""
    from webapp.imports.formats import Context, by_name
    from webapp.imports.reading import open_table
    from webapp.imports.records import Problem

    path = tmp_path / "p.csv"
    path.write_bytes("sku;name;category;price;stock;cost;tax_rate;reorder_at\r\n"
                     "A-1;Tasse;Maison;7,50;1 000;2,10;5,5 %;2\r\n"
                     "A-2;Tasse;Maison;1,005;1,5;-1;5,555;x\r\n".encode("cp1252"))
    with open_table(path) as table:
        items = list(by_name("products").records(table, Context(locale="fr_FR")))
    good = items[0]
    assert (good.price_cents, good.stock, good.cost_cents, good.tax_rate_bp) == (
        750, 1000, 210, 550)
    assert [str(p) for p in items[1:] if isinstance(p, Problem)] == [
        "line 3: price: at most two decimals",
        "line 3: stock: a whole number from 0 to 1,000,000",
        "line 3: cost: must not be negative",
        "line 3: tax_rate: a percent with at most two decimals",
        "line 3: reorder_at: a whole number from 0 to 1,000,000",
    ]
