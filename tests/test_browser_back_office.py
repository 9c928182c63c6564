"""The orders list, customers, reports and dashboard in a real Chromium (tests/browser.py):
a report from a preset made and downloaded without the page reloading or losing what is
being typed; a customer edited and merged; the dashboard's figures opening their
orders; axe-core on each page's content (main)."""
from datetime import datetime, timedelta

from browser import assert_accessible  # the fixtures (browser, desk): conftest.py
from webapp import caching, settings
from webapp.extensions import db
from webapp.models import Customer, Order


def test_a_preset_report_without_a_reload(desk, tmp_path):
    page = desk.visit("/reports/", check=False)
    assert_accessible(page, "main")
    page.evaluate("window.stillHere = true")
    page.select_option("#r-preset", "last_month")
    first, last = page.input_value("#r-from"), page.input_value("#r-to")
    assert first.endswith("-01") and first[:7] == last[:7]
    page.click("text=Make report")
    link = page.wait_for_selector("#reports tbody tr:first-child td.download a")
    assert "Sales report, " in page.inner_text("#reports tbody tr:first-child")
    # the same words as the server's rows (templates/_jobs.html), in place or reloaded
    assert page.inner_text("#reports tbody tr:first-child td.state") == "done"
    page.fill("#r-to", "2025-12-")  # typing while the list updates
    page.wait_for_timeout(1200)  # two more polls at most
    assert page.evaluate("window.stillHere") is True  # the same page: never reloaded
    assert page.input_value("#r-preset") == "custom"
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == f"larder-report-{first}-to-{last}.pdf"
    assert saved.read_bytes().startswith(b"%PDF")
    # a bad period: the message shows on the page, still no reload
    page.select_option("#r-preset", "custom")
    page.fill("#r-from", "2025-03-10")
    page.fill("#r-to", "2025-03-01")
    page.click("text=Make report")
    page.wait_for_selector("#report-error:not([hidden])")
    assert page.evaluate("window.stillHere") is True


def test_editing_and_merging_customers(desk, shop):
    with shop.app_context():
        db.session.add(Customer(email=None, till_id="square:C9", name="Ann (till)",
                                country="France"))
        db.session.commit()
    page = desk.visit("/customers/", check=False)
    assert_accessible(page, "main")
    page.click("text=Ann")
    page.wait_for_selector("h1:text('Ann')")
    assert_accessible(page, "main")
    page.click("text=Edit")
    page.wait_for_selector("#f-country")
    assert_accessible(page, "main")
    page.fill("#f-country", "FRANCE")
    page.fill("#f-city", "Paris")
    page.click("text=Save")
    page.wait_for_selector("text=Customer Ann saved.")
    page.click("text=Merge a duplicate into this customer")
    page.fill("#m-q", "till")
    page.click("button:text('Find')")
    page.wait_for_selector("text=Merge Ann (till) into Ann")  # the new page, not the old
    assert_accessible(page, "main")
    page.click("text=Merge Ann (till) into Ann")
    page.wait_for_selector("text=Ann (till) was merged into Ann")
    with shop.app_context():
        ann = db.session.execute(db.select(Customer).filter_by(email="ann@example.com")
                                 ).scalar_one()
        assert (ann.country, ann.city, ann.till_id) == ("France", "Paris", "square:C9")


def test_dashboard_figures_open_their_orders(desk, shop):
    with shop.app_context():
        today = settings.today_business_day()
        noon = datetime.combine(today, datetime.min.time()) + timedelta(hours=12)
        db.session.add_all([Order(ref=f"BD{i}", created_at=noon + timedelta(minutes=i),
                                  status=status, total_cents=500, gross_cents=500)
                            for i, status in enumerate(["processed", "imported", "failed"])])
        db.session.commit()
        caching.orders_changed()  # rows written here, not by an order: refresh as one does
    page = desk.visit("/", check=False)
    assert_accessible(page, "main")
    assert page.inner_text("[data-figure=today-orders]") == "2 orders"
    page.click("[data-figure=today-orders]")
    page.wait_for_selector("#orders-count")
    assert page.inner_text("#orders-count").startswith("2 orders")
    assert_accessible(page, "main")
    page.goto(desk.base + "/")
    page.click("[data-hour='12']")
    page.wait_for_selector("text=Only orders made between 12:00 and 12:59")
    assert page.inner_text("#orders-count").startswith("2 orders")
    page.goto(desk.base + "/")
    page.click("summary:text('Revenue by month as a table')")
    assert page.is_visible("table.chart-table")
