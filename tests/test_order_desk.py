"""The order desk over real HTTP (Waitress on 127.0.0.1): the draft-pricing endpoint,
the product and customer searches, the page as a plain form (no script), and the receipt
and invoice after recording. The browser tests are in test_order_desk_browser.py."""
import re

import pytest

from conftest import http_session


@pytest.fixture
def api(shop):
    with http_session(shop) as session:
        yield session


def price(api, body):
    return api.post(f"{api.base}/api/orders/price", json=body, timeout=10)


def order_count(app):
    from webapp.extensions import db
    from webapp.models import Order

    with app.app_context():
        return db.session.execute(db.select(db.func.count(Order.id))).scalar()


def test_price_is_the_servers_own_pricing(api, shop):
    from webapp import tax

    body = {"lines": [{"sku": "SKU-001", "quantity": 3}, {"sku": "SKU-004", "quantity": "2",
                                                            "discount": "0.50"}],
            "discount": "10%", "payment_method": "card", "customer_email": "ann@example.com"}
    answer = price(api, body)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    # prices 2.50 and 5.50, the shop's default 20 % tax, included in prices
    expected = tax.price_order([tax.Line(3, 250, 2000), tax.Line(2, 550, 2000, 50)], True,
                               discount_percent_bp=1000)
    cents = lambda text: round(float(text) * 100)  # noqa: E731
    assert [cents(data["totals"][k]) for k in ("gross", "discount", "tax", "total")] == [
        expected.gross_cents, expected.discount_cents, expected.tax_cents, expected.total_cents]
    assert [cents(line["amount"]) for line in data["lines"]] == [
        line.total_cents for line in expected.lines]
    assert data["totals"]["text"]["total"] == f"€{expected.total_cents / 100:.2f}"
    assert data["totals"]["text"]["summary"] == f"Total €{expected.total_cents / 100:.2f}, 5 items"
    assert data["customer"] == {"name": "Ann", "email": "ann@example.com"}
    assert [line["name"] for line in data["lines"]] == ["Product 001", "Product 004"]
    assert order_count(shop) == 0  # priced, not recorded


def test_price_says_out_of_stock_on_the_line(api):
    data = price(api, {"lines": [{"sku": "SKU-002", "quantity": 7},
                                 {"sku": "SKU-002", "quantity": 4}]}).json()
    assert [line["stock_note"] for line in data["lines"]] == ["Only 10 in stock"] * 2
    assert data["stock"] == {"SKU-002": "Only 10 in stock"}
    assert price(api, {"lines": [{"sku": "SKU-003", "quantity": 10}]}).json()["stock"] == {}


@pytest.mark.parametrize("body, field, words", [
    ({"lines": [{"sku": "SKU-001", "quantity": "lots"}]}, "lines[0].quantity",
     "A whole number from 1 to 100,000"),
    ({"lines": [{"sku": "SKU-001", "quantity": 10**30}]}, "lines[0].quantity",
     "A whole number from 1 to 100,000"),
    ({"lines": [{"sku": "SKU-001", "quantity": -1}]}, "lines[0].quantity", "A whole number"),
    ({"lines": [{"sku": "NOPE", "quantity": 1}]}, "lines[0].sku", "No product has this SKU"),
    ({"lines": []}, "lines", "At least one line is required"),
    ({"lines": [{"sku": "SKU-001", "quantity": 1}], "discount": "9999"}, "discount",
     "The order discount is more than the order"),
    ({"lines": [{"sku": "SKU-001", "quantity": 1}], "discount": "ten%"}, "discount",
     "A percent from 0 to 100"),
    ({"lines": [{"sku": "SKU-001", "quantity": 1}], "discount": "1e400"}, "discount", ""),
    ({"lines": [{"sku": "SKU-029", "quantity": 100_000}] * 10}, "lines", "The order's total is above"),
    ({"lines": [{"sku": "SKU-001", "quantity": 1}] * 501}, "lines", "At most 500 lines"),
    ({"lines": [{"sku": "SKU-001", "quantity": 1}], "customer_email": "nobody@example.com"},
     "customer_email", "No customer with email"),
    ({"lines": [{"sku": "SKU-001", "quantity": 1}], "payment_method": "gold"},
     "payment_method", "One of: cash, card"),
    ({"lines": [{"sku": "SKU-001", "quantity": 1}], "colour": "red"}, "fields", "Unknown: colour"),
])
def test_price_refuses_bad_input_in_plain_words(api, shop, body, field, words):
    answer = price(api, body)
    assert answer.status_code == 400, answer.text
    data = answer.json()
    assert data["fields"][field].startswith(words), data
    assert data["error"].startswith("This order cannot be priced.")
    assert "lines[" not in data["error"] and "Traceback" not in answer.text
    assert order_count(shop) == 0


def test_price_refuses_what_is_not_an_order(api):
    for raw, kind in ((b"\xff\xfe", "application/json"), (b"[1, 2]", "application/json"),
                      (b"lines=1", "application/x-www-form-urlencoded")):
        answer = api.post(f"{api.base}/api/orders/price", data=raw, timeout=10,
                          headers={"Content-Type": kind})
        assert answer.status_code == 400 and answer.json()["error"], raw


def test_searches_find_products_and_customers(api):
    found = api.get(f"{api.base}/api/products", params={"q": "SKU-012"}, timeout=10).json()
    assert found["exact"] == "SKU-012" and found["products"][0]["name"] == "Product 012"
    assert found["products"][0]["price_text"] == "€13.50"
    typed = api.get(f"{api.base}/api/products", params={"q": "sku-012"}, timeout=10).json()
    assert typed["exact"] == "SKU-012"  # a code typed by hand, in another case
    names = api.get(f"{api.base}/api/products", params={"q": "Product 01"}, timeout=10).json()
    assert names["exact"] is None and len(names["products"]) == 10
    assert api.get(f"{api.base}/api/products", params={"q": "100%"}, timeout=10).json() == {
        "exact": None, "products": []}  # % is a character, not a wildcard
    who = api.get(f"{api.base}/api/customers", params={"q": "BO"}, timeout=10).json()
    assert who == {"customers": [{"name": "Bob", "email": "bob@example.com", "city": "Lyon"}]}
    by_email = api.get(f"{api.base}/api/customers", params={"q": "cy@"}, timeout=10).json()
    assert [c["name"] for c in by_email["customers"]] == ["Cy"]


def form_page(api, data=None):
    """The desk as a browser without scripts uses it: GET, or POST its form."""
    if data is None:
        page = api.get(f"{api.base}/orders/new", timeout=10)
    else:
        page = api.post(f"{api.base}/orders/new", data=data, timeout=30, allow_redirects=False)
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    return page, hidden


def test_the_desk_works_as_a_plain_form(api, shop):
    page, hidden = form_page(api)
    # Enter in a field submits the form's first button: "Add", never "Record sale".
    first = re.search(r"<form[^>]*id=\"desk\".*?<button([^>]*)>", page.text, re.S).group(1)
    assert 'value="add"' in first
    base = {"csrf_token": hidden["csrf_token"], "once": hidden["once"]}
    page, hidden = form_page(api, {**base, "action": "add", "find": "SKU-020"})  # scanned
    assert page.status_code == 200 and hidden["sku0"] == "SKU-020"
    assert 'id="qty0" name="qty0" value="1"' in page.text  # quantity 1 by default
    page, hidden = form_page(api, {**base, **hidden, "qty0": "1", "action": "add",
                                   "find": "SKU-020"})  # the same again: 2 of it
    assert 'name="qty0" value="2"' in page.text
    page, _ = form_page(api, {**base, "sku0": "SKU-020", "qty0": "2", "action": "add",
                              "find": "Product 00"})  # a name: choose from a list
    picks = re.findall(r'name="pick" value="([^"]+)"', page.text)
    assert picks[:3] == ["SKU-000", "SKU-001", "SKU-002"]
    page, hidden = form_page(api, {**base, "sku0": "SKU-020", "qty0": "2", "pick": "SKU-003"})
    assert hidden["sku1"] == "SKU-003"
    page, hidden = form_page(api, {**base, "sku0": "SKU-020", "qty0": "2", "sku1": "SKU-003",
                                   "qty1": "1", "action": "add", "find": "no such thing"})
    assert "No product matches" in page.text and 'aria-invalid="true"' in page.text
    page, hidden = form_page(api, {**base, "sku0": "SKU-020", "qty0": "2", "sku1": "SKU-003",
                                   "qty1": "1", "action": "remove-0"})
    assert "sku0" not in hidden and hidden["sku1"] == "SKU-003"
    assert "€4.50" in page.text  # the total, before recording: 1 x 4.50
    assert order_count(shop) == 0
    # an error is next to its field, in plain words
    page, _ = form_page(api, {**base, "sku1": "SKU-003", "qty1": "lots", "action": "record"})
    assert page.status_code == 400
    assert re.search(r'id="qty1"[^>]*aria-invalid="true" aria-describedby="error-qty1"',
                     page.text)
    assert '<p class="field-error" id="error-qty1">A whole number from 1 to 100,000</p>' in page.text
    assert "lines[" not in page.text
    # more than there is in stock: said on the line, not recorded
    page, _ = form_page(api, {**base, "sku1": "SKU-003", "qty1": "11", "action": "record"})
    assert page.status_code == 400 and "Only 10 in stock: lower the quantity" in page.text
    # a customer by name; then recorded
    done, _ = form_page(api, {**base, "sku1": "SKU-003", "qty1": "2", "customer_email": "Bob",
                              "payment_method": "card", "action": "record"})
    assert done.status_code == 302 and re.fullmatch(r"/orders/\d+/receipt",
                                                    done.headers["Location"])
    receipt = api.get(api.base + done.headers["Location"], timeout=10).text
    assert re.search(r"Order W\d{6}-[0-9A-F]{8} recorded", receipt)
    assert "Bob (bob@example.com)" in receipt and "Card" in receipt
    assert order_count(shop) == 1


def test_a_customer_added_at_the_desk(api, shop):
    _, hidden = form_page(api)
    base = {"csrf_token": hidden["csrf_token"], "once": hidden["once"], "sku0": "SKU-001"}
    page, _ = form_page(api, {**base, "action": "customer", "new_email": "dee@example",
                              "new_name": "Dee", "new_country": ""})
    assert page.status_code == 400
    assert 'id="error-new_email">Not an email address' in page.text
    assert 'id="error-new_country">Required' in page.text
    page, hidden = form_page(api, {**base, "action": "customer", "new_email": "dee@example.com",
                                   "new_name": "Dee", "new_country": "France"})
    assert page.status_code == 200 and 'value="dee@example.com"' in page.text
    assert hidden["sku0"] == "SKU-001"  # the sale goes on


def test_receipt_has_the_shops_details_and_the_invoice(api, shop):
    from webapp import settings
    from webapp.extensions import db
    from webapp.models import Order

    with shop.app_context():
        settings.save({"shop_name": "Corner Larder", "shop_address": "1 Rue Neuve\n69001 Lyon",
                       "shop_tax_number": "FR12345678901"})
    created = api.post(f"{api.base}/api/orders", timeout=30, json={
        "lines": [{"sku": "SKU-001", "quantity": 2}, {"sku": "SKU-002", "quantity": 1}],
        "discount": "1.00", "payment_method": "cash"}).json()
    receipt = api.get(f"{api.base}/orders/{created['id']}/receipt", timeout=10)
    assert receipt.status_code == 200
    text = receipt.text
    for part in ("Corner Larder", "1 Rue Neuve\n69001 Lyon", "Tax number FR12345678901",
                 created["ref"], "Walk-in sale", "Product 001", "Product 002", "€8.50",
                 "-€1.00", "€7.50", "Tax included at 20 % (on €6.25)", "€1.25", "Cash",
                 f'href="/orders/{created["id"]}/invoice.pdf"', "desk.css"):
        assert part in text, part
    with shop.app_context():
        assert db.session.get(Order, created["id"]).total_cents == 750
    pdf = api.get(f"{api.base}/orders/{created['id']}/invoice.pdf", timeout=30)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    from io import BytesIO

    from pypdf import PdfReader

    words = "".join(p.extract_text() for p in PdfReader(BytesIO(pdf.content)).pages)
    assert "Corner Larder" in words and created["ref"] in words
    assert api.get(f"{api.base}/orders/999/receipt", timeout=10).status_code == 404
    assert api.get(f"{api.base}/orders/999/invoice.pdf", timeout=10).status_code == 404


def test_print_css_shows_only_the_receipt(api):
    css = api.get(f"{api.base}/static/desk.css", timeout=10).text
    media = css[css.index("@media print"):]
    assert "nav" in media and "display: none" in media and ".receipt-actions" in media


def test_the_order_page_links_its_receipt_and_invoice(api):
    created = api.post(f"{api.base}/api/orders", timeout=30, json={
        "lines": [{"sku": "SKU-001", "quantity": 1}]}).json()
    page = api.get(f"{api.base}/orders/{created['id']}", timeout=10).text
    assert f'href="/orders/{created["id"]}/receipt"' in page
    assert f'href="/orders/{created["id"]}/invoice.pdf"' in page
