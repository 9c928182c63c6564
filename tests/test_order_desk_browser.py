"""The order desk in a real Chromium (tests/browser.py): a sale with three lines by
keyboard only, then the order in the database and its receipt; axe-core clean on the
desk and the receipt; no request off 127.0.0.1 (the `desk` fixture checks every page)."""
import re

import pytest

from browser import assert_accessible, screenshot  # the fixtures (browser, desk): conftest.py


def tab_to(page, selector, limit=60):
    """Press Tab (as a keyboard-only cashier would) until `selector` has the focus."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    pytest.fail(f"Tab never reached {selector}")


def focused(page):
    return page.evaluate("document.activeElement.id || document.activeElement.name")


def retype(page, text):
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def lines(page):
    return page.eval_on_selector_all(
        "#lines tr", "rows => rows.map(r => [r.querySelector('input[type=hidden]').value,"
                     " r.querySelector('.desk-qty').value])")


def test_a_sale_by_keyboard_only(desk, shop):
    from webapp.extensions import db
    from webapp.models import Order

    page = desk.visit("/orders/new")
    assert focused(page) == "find"  # ready for the scanner
    summary = page.locator("#desk-summary")
    assert summary.get_attribute("aria-live") == "polite"

    # 1. a name: choose from the list with the arrow keys
    page.keyboard.type("Product 01")
    page.locator("#find-results [role=option]").nth(9).wait_for()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert page.get_attribute("#find", "aria-expanded") == "true"
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#lines tr').length === 1")
    assert lines(page) == [["SKU-011", "1"]]  # quantity 1 unless typed
    # 2. a scanner: the code typed fast, then Enter; the same code again: one more of it
    page.keyboard.type("SKU-020\n", delay=5)
    page.wait_for_function("() => document.querySelectorAll('#lines tr').length === 2")
    page.keyboard.type("SKU-020\n", delay=5)
    page.wait_for_function("() => document.querySelector('#qty1').value === '2'")
    # 3. one match for the name typed: added at once
    page.keyboard.type("Product 005")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#lines tr').length === 3")
    assert focused(page) == "find" and page.input_value("#find") == ""
    assert lines(page) == [["SKU-011", "1"], ["SKU-020", "2"], ["SKU-005", "1"]]

    # quantity of the first line; Enter there prices, it does not record
    tab_to(page, "#qty0")
    retype(page, "11")
    page.keyboard.press("Enter")
    note = page.locator("#lines tr").first.locator(".desk-note")
    note.filter(has_text="Only 10 in stock").wait_for()  # said on the line, before recording
    retype(page, "3")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#lines tr .desk-note').textContent === ''")
    assert page.url.endswith("/orders/new")
    # a line added by mistake, removed by keyboard
    page.keyboard.press("Shift+Tab")
    tab_to(page, "#find")
    page.keyboard.type("SKU-029\n", delay=5)
    page.wait_for_function("() => document.querySelectorAll('#lines tr').length === 4")
    tab_to(page, "#lines tr:nth-child(4) .desk-remove")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#lines tr').length === 3")

    # order discount, payment (arrow keys in the radio group), customer by name
    tab_to(page, "#discount")
    page.keyboard.type("10%")
    page.keyboard.press("Enter")
    tab_to(page, "input[name=payment_method]:checked")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.value") == "card"
    tab_to(page, "#customer")
    page.keyboard.type("bo")
    page.locator("#customer-results [role=option]").first.wait_for()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert page.input_value("#customer") == "bob@example.com"
    assert page.url.endswith("/orders/new")

    # the total the server worked out, shown (and announced) before recording
    page.wait_for_function("() => document.querySelector('#desk-summary').textContent"
                           ".startsWith('Total') && !document.querySelector('[aria-invalid]')")
    shown_total = page.text_content("#total-total")
    assert shown_total == page.text_content("#desk-summary").split(",")[0].removeprefix("Total ")
    assert_accessible(page)  # with lines, lists and totals on it
    screenshot(page, "order-desk")

    tab_to(page, "#record")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # focus is visible
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert re.search(r"/orders/\d+/receipt$", page.url)
    flash = page.text_content(".flash")
    ref = re.fullmatch(r"Order (W\d{6}-[0-9A-F]{8}) recorded", flash.strip()).group(1)
    assert_accessible(page)
    screenshot(page, "receipt")

    with shop.app_context():
        order = db.session.execute(db.select(Order).filter_by(ref=ref)).scalar_one()
        assert [(line.product.sku, line.quantity) for line in order.lines] == [
            ("SKU-011", 3), ("SKU-020", 2), ("SKU-005", 1)]
        assert order.customer.email == "bob@example.com"
        assert (order.payment_method, order.discount_percent_bp) == ("card", 1000)
        assert order.status == "processed"
        total = order.total_cents
    assert shown_total == f"€{total / 100:,.2f}"  # what was shown is what was recorded
    receipt = page.text_content(".receipt")
    for part in (ref, "Product 011", "Product 020", "Product 005", "Bob", shown_total, "Card"):
        assert part in receipt, part
    # printed: the receipt alone
    page.emulate_media(media="print")
    assert not page.is_visible("header.top") and not page.is_visible(".receipt-actions")
    assert page.is_visible(".receipt")


def test_a_scanned_barcode_adds_its_product(desk, shop):
    """A scanner types the product's barcode (not its SKU) and Enter: the line is added,
    and the same scan again adds one more (docs/orders.md)."""
    from webapp import catalog

    with shop.app_context():
        catalog.update_product("SKU-012", {"barcode": "4006381333931"})
    page = desk.visit("/orders/new", check=False)
    page.keyboard.type("4006381333931\n", delay=5)
    page.wait_for_function("() => document.querySelectorAll('#lines tr').length === 1")
    page.keyboard.type("4006381333931\n", delay=5)
    page.wait_for_function("() => document.querySelector('#qty0').value === '2'")
    assert lines(page) == [["SKU-012", "2"]]
    assert focused(page) == "find" and page.input_value("#find") == ""


def test_enter_never_records_a_half_filled_sale(desk, shop):
    from webapp.extensions import db
    from webapp.models import Order

    page = desk.visit("/orders/new")
    page.keyboard.press("Enter")  # nothing typed
    page.keyboard.type("no such product\n")
    page.locator("#error-find").filter(has_text="No product matches").wait_for()
    tab_to(page, "#discount")
    page.keyboard.type("5\n")
    tab_to(page, "#record")
    page.keyboard.press("Enter")  # no line: refused on the page
    page.locator("#error-find").filter(has_text="Add at least one product").wait_for()
    assert page.url.endswith("/orders/new")
    with shop.app_context():
        assert db.session.execute(db.select(db.func.count(Order.id))).scalar() == 0


def test_without_scripts_enter_adds_and_does_not_record(browser, live_server, shop):
    """The desk as a plain form: JavaScript off, Enter in the search field adds."""
    from conftest import TOKEN
    from webapp.extensions import db
    from webapp.models import Order

    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/?token={TOKEN}")
        page.goto(f"{live_server.url}/orders/new")
        page.fill("#find", "SKU-004")
        with page.expect_navigation():
            page.press("#find", "Enter")
        assert page.input_value("input[name=sku0]") == "SKU-004"
        page.fill("#discount", "1.00")
        with page.expect_navigation():
            page.press("#discount", "Enter")
        assert "€4.50" in page.text_content("#total-total")  # 5.50 - 1.00
        with shop.app_context():
            assert db.session.execute(db.select(db.func.count(Order.id))).scalar() == 0
        with page.expect_navigation():
            page.click("#record")
        assert page.url.endswith("/receipt") and "recorded" in page.text_content(".flash")
    finally:
        context.close()


def test_the_desk_fits_800_by_600(desk):
    page = desk.visit("/orders/new", check=False)
    page.set_viewport_size({"width": 800, "height": 600})
    for code in ("SKU-011", "SKU-020", "SKU-005"):
        page.keyboard.type(code + "\n", delay=5)
    page.wait_for_function("() => document.querySelectorAll('#lines tr').length === 3")
    page.wait_for_function("() => document.querySelector('#total-total').textContent !== ''")
    widths = page.evaluate("() => [document.querySelector('#desk').scrollWidth,"
                           " document.querySelector('#desk').clientWidth]")
    assert widths[0] <= widths[1], widths  # the desk itself never scrolls sideways


def test_a_customer_added_inline_by_keyboard(desk, shop):
    from webapp.extensions import db
    from webapp.models import Customer

    page = desk.visit("/orders/new", check=False)
    page.keyboard.type("SKU-001\n", delay=5)
    page.wait_for_function("() => document.querySelectorAll('#lines tr').length === 1")
    tab_to(page, ".desk-new-customer summary")
    page.keyboard.press("Enter")  # opens "New customer"
    tab_to(page, "#new_email")
    page.keyboard.type("dee@example")
    tab_to(page, "#new_name")
    page.keyboard.type("Dee\n")  # Enter adds the customer, and records nothing
    page.locator("#error-new_email").filter(has_text="Not an email address").wait_for()
    assert page.get_attribute("#new_email", "aria-invalid") == "true"
    tab_to(page, "#new_email")
    page.keyboard.press("End")  # Tab selected what is there
    page.keyboard.type(".com")
    tab_to(page, "#new_country")
    page.keyboard.type("France\n")
    page.wait_for_function("() => document.querySelector('#customer').value === 'dee@example.com'")
    assert not page.is_visible("#new_email")  # closed again
    assert_accessible(page)
    with shop.app_context():
        assert db.session.execute(db.select(Customer.name).filter_by(
            email="dee@example.com")).scalar() == "Dee"
