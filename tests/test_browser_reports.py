"""A report from a preset, made by the real background worker and saved to disk, in a real
Chromium (tests/browser.py), issue 12: the Reports page asks for last month's report as a
PDF and as JSON; the rows show it waiting, then done, updated in place (the page is never
reloaded); each finished report is named for people; the downloads are saved to disk
under their names, the PDF is a real PDF whose figures are the JSON report's. axe-core
runs on the page in each state (empty, waiting, done)."""
import json
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfReader

from browser import assert_accessible, screenshot  # the fixtures (browser, desk): conftest.py
from conftest import TOKEN
from worker_proc import WorkerProcess

# The rows' states as the page stores them (data-state): the words shown for them are the
# shop's language, so the test reads the attribute.
WAITING, DONE = "queued", "success"


@pytest.fixture
def app(data_dir):
    """This module's app: tasks go to the real local broker (no eager mode), where the
    worker started by the test takes them; a modest demo shop, so last month has sales."""
    from webapp import create_app
    from webapp.demo_data import load_demo
    from webapp.extensions import db

    app = create_app({"TESTING": True, "LARDER_TOKEN": TOKEN}, data_dir=data_dir)
    with app.app_context():
        load_demo(orders=2500, days=75, replace=True)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def worker(data_dir):
    """Started by the test when it wants it (after a report is waiting), stopped after."""
    started = []

    def start():
        started.append(WorkerProcess(data_dir))
        return started[-1].wait_ready()

    yield start
    for proc in started:
        proc.stop()


# Every change of a report row (its state, from the state cell's class, and its progress
# bar), in the order the page made them: kept on `window`, which lives as long as the page.
WATCH_ROWS = """() => {
  window.rowChanges = [];
  const body = document.querySelector('#reports tbody');
  const note = () => body.querySelectorAll('tr.job').forEach((row) => {
    const bar = row.querySelector('progress');
    const state = row.querySelector('td.state').className.replace('state state-', '');
    window.rowChanges.push([row.getAttribute('data-task-id'), state,
                            bar ? Number(bar.value) : null]);
  });
  new MutationObserver(note).observe(body, {subtree: true, childList: true,
                                            attributes: true, characterData: true});
}"""


def request_report(page, fmt):
    """Choose Last month and `fmt`, press the button: the new row (the first)."""
    page.select_option("#r-preset", "last_month")
    page.select_option("#r-format", fmt)
    before = page.locator("#reports tbody tr.job").count()
    page.click("#report-form button")
    page.wait_for_function("(n) => document.querySelectorAll('#reports tbody tr.job').length > n",
                           arg=before)
    task = page.locator("#reports tbody tr.job").first.get_attribute("data-task-id")
    return page.locator(f'#reports tbody tr[data-task-id="{task}"]')  # this row, always


def wait_done(page, row):
    task = row.get_attribute("data-task-id")
    page.wait_for_function(
        "(id) => { const row = document.querySelector(`tr[data-task-id=\"${id}\"]`);"
        " return row && row.getAttribute('data-state') === 'success'"
        " && row.querySelector('td.download a'); }", arg=task, timeout=60_000)
    return task


def pdf_text(path):
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def test_a_preset_report_made_by_the_worker_and_saved_to_disk(desk, worker, tmp_path):
    page = desk.visit("/reports/")  # axe: the page with no report yet
    page.evaluate("() => { window.sameVisit = 'still here'; }")
    page.evaluate(WATCH_ROWS)
    option = page.locator("#r-preset option[value=last_month]")
    first = date.fromisoformat(option.get_attribute("data-from"))
    last = date.fromisoformat(option.get_attribute("data-to"))
    month = first.strftime("%B %Y")  # the test shop is English: "October 2026"

    pdf_row = request_report(page, "pdf")
    # No worker yet: the report waits, and says so in its row.
    assert pdf_row.get_attribute("data-state") == WAITING
    assert pdf_row.locator("td").nth(1).inner_text() == f"Sales report, {month}, PDF"
    assert_accessible(page)  # waiting

    worker()  # the real worker (python -m desktop worker) on this data folder
    pdf_task = wait_done(page, pdf_row)
    json_row = request_report(page, "json")
    assert json_row.locator("td").nth(1).inner_text() == f"Sales report, {month}, JSON"
    json_task = wait_done(page, json_row)
    assert_accessible(page)  # done, with the download links

    # Both rows changed in place, on the page first opened: waiting to done for the PDF,
    # the progress bar only going up, to 100.
    assert page.evaluate("() => window.sameVisit") == "still here"
    changes = page.evaluate("() => window.rowChanges")
    for task in (pdf_task, json_task):
        seen = [(state, value) for tid, state, value in changes if tid == task]
        assert seen and seen[-1] == (DONE, 100), (task, seen)
        values = [value for _, value in seen]
        assert values == sorted(values), (task, seen)
    states = [state for tid, state, _ in changes if tid == pdf_task]
    assert states[0] == WAITING and states.index(DONE) > 0, states  # (running, if polled)
    assert page.locator("#reports tbody tr.job").count() == 2  # one row each, no reload

    files = {}
    for fmt, row in (("pdf", pdf_row), ("json", json_row)):
        with page.expect_download() as info:
            row.locator("td.download a").click()
        download = info.value
        name = download.suggested_filename
        # A name people can read and file, with the period's days, and nothing else.
        assert name == f"larder-report-{first}-to-{last}.{fmt}", name
        files[fmt] = tmp_path / name
        download.save_as(files[fmt])
        assert download.failure() is None
    assert page.evaluate("() => window.sameVisit") == "still here"

    assert files["pdf"].read_bytes().startswith(b"%PDF-")
    report = json.loads(files["json"].read_text("utf-8"), parse_float=Decimal)
    text = pdf_text(files["pdf"])
    assert month in text  # the period, as people say it
    totals = report["totals"]
    assert totals["orders"] > 0, "last month has sales in the demo shop"
    assert f"Orders {totals['orders']:,}" in text or f"Orders {totals['orders']}" in text
    for key, label in (("revenue", "Revenue"), ("gross", "Gross sales"), ("tax", "Tax"),
                       ("refunds", "Refunds")):
        assert f"{label}\n€{totals[key]:,.2f}" in text or f"{label} €{totals[key]:,.2f}" \
            in text, (key, totals[key])
    assert report["by_payment_method"], "card, cash and voucher in the demo shop"
    for row in report["by_payment_method"]:
        assert f"{row['method']}\n{row['orders']}\n€{row['revenue']:,.2f}" in text, row

    # Opened again (the worker now up: no banner), the server's rows say what the page's
    # script said: both done, named for people, with their links.
    page = desk.visit("/reports/")
    assert page.locator("p.banner").count() == 0
    assert page.locator("#reports tbody tr[data-state=success] td.download a").count() == 2
    assert page.locator("#reports tbody tr.job td:nth-child(2)").all_inner_texts() == [
        f"Sales report, {month}, JSON", f"Sales report, {month}, PDF"]
    page.select_option("#r-preset", "last_month")  # its days filled in, for the picture
    screenshot(page, "reports", full_page=False)
