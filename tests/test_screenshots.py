"""The main pages of a shop with a year of demo sales, in a real Chromium (tests/browser.py),
axe-core on each: the dashboard (light, dark, and at 800 x 600), a sale with lines
entered on the order desk, its receipt and order page, the orders list, the products, a
customer's page and the end of day. `make screenshots` runs this module (and the
Reports page's, tests/test_browser_reports.py) with LARDER_SCREENSHOTS=docs/img: the
pictures in README.md and docs/interface.md are these pages as these tests saw them."""
import re

import pytest

from browser import assert_accessible, screenshot  # the fixtures (browser, desk): conftest.py
from webapp.extensions import db
from webapp.models import Customer, Order, Product
from worker_proc import WorkerProcess


@pytest.fixture
def demo_shop(shop, data_dir):
    """The test shop replaced by the demo shop-and-café, two years of sales up to now,
    with the background worker running (pages show a banner while it is not). Orders are
    still processed when recorded (the test app's eager tasks)."""
    from webapp.demo_data import load_demo

    with shop.app_context():
        load_demo(orders=12000, days=730, replace=True)
    worker = WorkerProcess(data_dir).wait_ready()
    yield shop
    worker.stop()


def shot(desk, path, name, full_page=False):
    """Open `path` (axe-core checks it), then keep its picture as `name`."""
    page = desk.visit(path)
    screenshot(page, name, full_page=full_page)
    return page


def test_the_main_pages_of_a_real_shop(desk, demo_shop):
    with demo_shop.app_context():
        skus = db.session.execute(
            db.select(Product.sku).where(Product.stock >= 5, Product.cost_cents.is_not(None))
            .order_by(Product.id).limit(3)).scalars().all()
        regular = db.session.execute(
            db.select(Order.customer_id).where(Order.customer_id.is_not(None))
            .group_by(Order.customer_id).order_by(db.func.count().desc()).limit(1)).scalar()
        name = db.session.get(Customer, regular).name

    page = shot(desk, "/", "dashboard")
    assert page.locator("[data-figure=today-orders]").count() == 1
    assert page.locator("svg").count() >= 1  # the chart of the months

    # A sale of three lines on the order desk, scanned by their codes.
    page = desk.visit("/orders/new")
    for count, sku in enumerate(skus, 1):
        page.keyboard.type(f"{sku}\n", delay=5)
        page.wait_for_function("(n) => document.querySelectorAll('#lines tr').length === n",
                               arg=count)
    page.keyboard.type(f"{skus[0]}\n", delay=5)  # scanned again: two of it
    page.wait_for_function("() => document.querySelector('#qty0').value === '2'")
    page.wait_for_function("() => !document.querySelector('[aria-invalid]') &&"
                           " /\\d/.test(document.querySelector('#total-total').textContent)")
    assert_accessible(page)
    assert page.locator("p.banner").count() == 0  # the worker is up
    screenshot(page, "new-sale", full_page=True)
    with page.expect_navigation():
        page.click("#record")
    assert re.search(r"/orders/\d+/receipt$", page.url)
    order_id = int(page.url.rsplit("/", 2)[-2])
    assert_accessible(page)
    screenshot(page, "sale-receipt", full_page=True)

    page = shot(desk, f"/orders/{order_id}", "order")
    assert page.locator("main table").count() >= 1
    page = shot(desk, "/orders/", "orders")
    assert page.locator("main table tbody tr").count() >= 50  # a page of the list
    page = shot(desk, "/products/", "products")
    assert page.locator("main table tbody tr").count() >= 25
    page = shot(desk, f"/customers/{regular}", "customer")
    assert name in page.inner_text("h1")
    shot(desk, "/end-of-day", "end-of-day")

    desk.page.emulate_media(color_scheme="dark")
    page = shot(desk, "/", "dashboard-dark")
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") \
        != "rgb(255, 255, 255)"
    desk.page.emulate_media(color_scheme="light")
    desk.page.set_viewport_size({"width": 800, "height": 600})
    page = shot(desk, "/", "dashboard-800x600")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 800
    assert page.evaluate(ONE_LINE) == [], "a key figure broken over two lines at 800 px"


# The key figures (.big) whose text runs over more than one line: "€8,005.9" then "7".
ONE_LINE = """() => [...document.querySelectorAll('.big')].filter((el) => {
  const range = document.createRange();
  range.selectNodeContents(el);
  return new Set([...range.getClientRects()].map((r) => Math.round(r.bottom))).size > 1;
}).map((el) => el.textContent.trim())"""
