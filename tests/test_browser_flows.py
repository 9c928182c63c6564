"""Issue 12's flows in a real Chromium (tests/browser.py), axe-core on every page visited:
a refund from the order page, a staff account refused on the System page (and shown
neither its link nor other days' figures), light and dark colours (system setting and
the switch), and every page at 800 x 600 without scrolling sideways."""
from browser import assert_accessible  # the fixtures (browser, desk): conftest.py
from webapp.extensions import db
from webapp.models import Product


def sold(shop, sku="SKU-001", quantity=3):
    """A processed sale of `quantity` x `sku`: (order id, its line's id)."""
    from webapp import ordering

    with shop.app_context():
        order = ordering.create_order({"lines": [{"sku": sku, "quantity": quantity}]})
        ordering.process_order(order.id)
        return order.id, order.lines[0].id


def stock(shop, sku="SKU-001"):
    with shop.app_context():
        return db.session.execute(db.select(Product.stock).filter_by(sku=sku)).scalar()


def test_a_refund_from_the_order_page(desk, shop):
    order_id, line_id = sold(shop)
    assert stock(shop) == 7
    page = desk.visit(f"/orders/{order_id}")
    page.fill(f"[name=qty_{line_id}]", "1")
    page.fill("[name=reason]", "dented tin")
    page.check("[name=restock]")
    page.click("button:text('Refund these items')")
    page.wait_for_selector("td:text('dented tin')")
    assert_accessible(page)
    assert "at most 2" in page.inner_text("main")  # what is left to refund
    assert stock(shop) == 8  # the dented one back on the shelf


def sign_in_as(desk, username, password="correct horse"):
    """Sign the page out of the owner's session and in with an account's password."""
    desk.context.clear_cookies()
    page = desk.visit("/login")
    page.fill("#f-username", username)
    page.fill("#f-password", password)
    page.click("button:text('Sign in')")
    page.wait_for_selector("h1:text('Dashboard')")
    return page


def test_staff_are_refused_the_system_page_and_not_shown_it(desk, shop):
    from webapp.auth import add_user

    with shop.app_context():
        add_user("sam", "correct horse", "staff")
    page = sign_in_as(desk, "sam")
    assert_accessible(page)
    menu = page.inner_text("nav.main")
    for hidden in ("System", "Settings", "Users", "Backups", "Import", "Reports"):
        assert hidden not in menu, hidden
    assert "Sell" in menu and "This month" not in page.inner_text("main")
    response = page.goto(desk.base + "/system/")
    assert response.status == 403
    assert "Your account cannot see the System page." in page.inner_text("main")
    assert_accessible(page)  # the refusal is a page like the others


def background(page):
    """The page's background lightness, 0 (black) to 255 (white)."""
    rgb = page.evaluate("getComputedStyle(document.body).backgroundColor")
    r, g, b = (int(x) for x in rgb[rgb.index("(") + 1:].rstrip(")").split(",")[:3])
    return (r + g + b) / 3


def test_dark_colours_follow_the_system_and_the_switch(desk, shop):
    order_id, _ = sold(shop)
    desk.page.emulate_media(color_scheme="dark")
    for path in ("/", "/products/", f"/orders/{order_id}", "/customers/1/edit", "/system/"):
        page = desk.visit(path)  # axe's contrast check in dark colours
        assert background(page) < 80, path
    desk.page.emulate_media(color_scheme="light")
    page = desk.visit("/products/")
    assert background(page) > 180
    # The switch: auto -> dark, kept on the next page (and before it paints).
    page.click("[data-theme-switch]")
    assert page.get_attribute("html", "data-theme") == "dark" and background(page) < 80
    page = desk.visit("/customers/")
    assert page.get_attribute("html", "data-theme") == "dark" and background(page) < 80
    page.click("[data-theme-switch]")  # dark -> light, whatever the system says
    desk.page.emulate_media(color_scheme="dark")
    page = desk.visit("/")
    assert background(page) > 180


def test_every_page_fits_800_by_600_without_scrolling_sideways(desk, shop):
    order_id, _ = sold(shop)
    desk.page.set_viewport_size({"width": 800, "height": 600})
    paths = ["/", "/orders/new", "/orders/", f"/orders/{order_id}", "/products/",
             "/products/SKU-001", "/products/SKU-001/edit", "/products/new", "/customers/",
             "/customers/1", "/customers/1/edit", "/customers/1/merge", "/customers/new",
             "/reports/", "/end-of-day", "/import/", "/system/", "/tasks/", "/outbox/",
             "/schedules/", "/cache/", "/backups/", "/settings/", "/users/"]
    too_wide = []
    for path in paths:
        page = desk.visit(path)
        width, room = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        if width > room:
            too_wide.append((path, width))
    assert not too_wide, f"wider than 800 px: {too_wide}"
