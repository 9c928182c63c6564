"""The Import page over real HTTP (Waitress), with a real worker where jobs run: upload,
preview, confirm, progress, cancel; bad files, CSRF, size limit, hostile file names."""
import csv
import io
import os
import re
from pathlib import Path

import pytest
import requests

from conftest import TOKEN
from worker_proc import WorkerProcess, wait_for

SAMPLES = Path(__file__).resolve().parent / "data" / "imports"
FINISHED = ("SUCCESS", "FAILURE")


def make_app(data_dir, **config):
    from webapp import create_app

    return create_app({"LARDER_TOKEN": TOKEN, **config}, data_dir=data_dir)


class Browser:
    """A cookie session as the desktop window has one (?token= once), so forms need
    their CSRF token like in a browser."""

    def __init__(self, base):
        self.base = base
        self.session = requests.Session()
        assert self.session.get(f"{base}/?token={TOKEN}", timeout=10).ok

    def get(self, path, **kw):
        return self.session.get(self.base + path, timeout=30, **kw)

    def post(self, path, **kw):
        return self.session.post(self.base + path, timeout=60, allow_redirects=False, **kw)

    def token(self, path):
        match = re.search(r'name="csrf_token" value="([^"]+)"', self.get(path).text)
        assert match, path
        return match.group(1)

    def upload(self, content, filename, **fields):
        data = {"csrf_token": self.token("/import/"), **fields}
        return self.post("/import/", data=data, files={"file": (filename, content)})

    def status(self, job_id):
        return self.get(f"/api/tasks/{job_id}").json()

    def wait(self, job_id, timeout=120):
        seen = []

        def done():
            body = self.status(job_id)
            seen.append(body["progress"])
            return body if body["state"] in FINISHED else None

        return wait_for(done, timeout=timeout, interval=0.1, what=job_id), seen


def job_of(response):
    assert response.status_code == 303, response.text[:500]
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


@pytest.fixture
def served(data_dir):
    from desktop.server import ServerThread

    servers = []

    def start(**config):
        app = make_app(data_dir, **config)
        server = ServerThread(app).start()
        servers.append(server)
        return app, Browser(server.url)

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def worker(data_dir):
    proc = WorkerProcess(data_dir)
    yield proc.wait_ready()
    proc.stop()


def stats(browser):
    return browser.session.get(browser.base + "/api/stats",
                               headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).json()


def orders_in(app):
    from webapp.extensions import db
    from webapp.models import Order

    with app.app_context():
        return db.session.execute(db.select(db.func.count()).select_from(Order)).scalar()


def uploads(data_dir):
    return sorted(p.name for p in (data_dir / "uploads").iterdir())


def test_shopify_export_previewed_then_imported_with_progress(served, worker):
    app, browser = served()
    sample = (SAMPLES / "shopify_orders.csv").read_bytes()
    preview = job_of(browser.upload(sample, "shopify_orders.csv"))
    final, _ = browser.wait(preview)
    assert final["state"] == "SUCCESS", final
    page = browser.get(f"/import/{preview}").text
    assert "Shopify orders export, 8 orders, 13 lines, 2 refunds" in page
    assert "Read as UTF-8" in page
    assert "would be new" in page and "<th>orders</th><td>6</td>" in page
    assert "order 5550000005: voided" in page  # skipped, with the reason
    assert "Import these" in page and "Nothing has been saved yet" in page
    before = stats(browser)
    assert orders_in(app) == 0 and before["revenue"] == 0  # a preview writes nothing

    token = browser.token(f"/import/{preview}")
    real = job_of(browser.post(f"/import/{preview}/confirm", data={"csrf_token": token}))
    assert real != preview
    final, seen = browser.wait(real)
    assert final["state"] == "SUCCESS" and final["progress"] == 100, final
    assert seen == sorted(seen)  # never goes backwards
    assert "Imported." in browser.get(f"/import/{real}").text
    # tests/data/imports/EXPECTED.md: 6 orders, 191.90 of sales less 49.00 refunded.
    after = stats(browser)
    assert (after["orders"], after["revenue"], after["customers"]) == (6, 142.9, 3), after

    again = job_of(browser.upload(sample, "shopify_orders.csv"))  # the same export
    assert browser.wait(again)[0]["state"] == "SUCCESS"
    page = browser.get(f"/import/{again}").text
    assert "<th>orders</th><td>0</td><td>0</td><td>6</td>" in page  # 6 unchanged


def test_broken_file_lists_its_bad_lines_and_writes_nothing(served, worker):
    app, browser = served()
    rows = ["sku,name,category,price,stock"] + [
        f"S-{i},Thing {i},Misc,{'lots' if i % 2 else '1.00'},3" for i in range(1, 502)]
    preview = job_of(browser.upload("\n".join(rows).encode(), "products.csv"))
    final, _ = browser.wait(preview)
    assert final["state"] == "FAILURE"
    page = browser.get(f"/import/{preview}").text
    assert "Nothing was imported" in page
    assert "<li>line 2: price: not a number: &#39;lots&#39;</li>" in page  # S-1's row
    assert "…and 51 more." in page  # 251 bad rows, 200 shown
    assert "Import these" not in page
    assert stats(browser)["products"] == 0


def big_shopify_file(orders):
    header = (SAMPLES / "shopify_orders.csv").read_text(encoding="utf-8").splitlines()[0]
    columns = header.split(",")
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    for n in range(orders):
        writer.writerow({
            "Name": f"#{100000 + n}", "Financial Status": "paid", "Currency": "EUR",
            "Subtotal": "18.00", "Shipping": "0.00", "Taxes": "3.00", "Total": "18.00",
            "Discount Amount": "0.00", "Created at": "2025-04-05 08:00:00 +0200",
            "Lineitem quantity": "1", "Lineitem name": "Speckled Mug",
            "Lineitem price": "18.00", "Lineitem sku": "MUG-01", "Lineitem taxable": "true",
            "Payment Method": "Cash", "Id": str(7000000000 + n), "Lineitem discount": "0.00",
            "Tax 1 Name": "TVA 20%", "Tax 1 Value": "3.00"})
    return out.getvalue().encode()


@pytest.mark.slow
def test_cancel_a_running_import_writes_nothing(served, worker):
    app, browser = served()
    preview = job_of(browser.upload(big_shopify_file(200_000), "big.csv"))
    final, _ = browser.wait(preview, timeout=600)
    assert final["state"] == "SUCCESS", final
    token = browser.token(f"/import/{preview}")
    real = job_of(browser.post(f"/import/{preview}/confirm", data={"csrf_token": token}))
    wait_for(lambda: browser.status(real)["state"] in ("STARTED", "PROGRESS"),
             timeout=60, what="the import to start")
    page = browser.get(f"/import/{real}").text
    assert "Cancel" in page and '<progress max="100"' in page
    assert browser.post(f"/import/{real}/cancel",
                        data={"csrf_token": token}).status_code == 303
    final, _ = browser.wait(real, timeout=600)
    assert final["state"] == "FAILURE" and "Cancelled" in final["error"], final
    assert "Cancelled: nothing was imported." in browser.get(f"/import/{real}").text
    assert orders_in(app) == 0
    assert stats(browser)["products"] == 0


def test_forms_refused_without_csrf_token(served, data_dir):
    app, browser = served()
    response = browser.post("/import/", files={"file": ("a.csv", b"sku,name\n")})
    assert response.status_code == 400
    assert "The form has expired or was not sent by Larder" in response.text
    assert uploads(data_dir) == []
    with app.app_context():
        from webapp.background import jobs

        job, _ = jobs.submit("import", "Preview of a.csv", {"upload": "0" * 32 + ".csv",
                                                            "file": "a.csv", "dry_run": True})
    for action in ("confirm", "cancel"):
        assert browser.post(f"/import/{job.id}/{action}").status_code == 400
    assert uploads(data_dir) == []  # no cancel flag either


def test_oversized_upload_refused_with_a_plain_message(served, data_dir):
    app, browser = served(MAX_CONTENT_LENGTH=1024 * 1024)
    assert "up to 1 MB" in browser.get("/import/").text
    response = browser.upload(b"sku,name\n" + b"x" * (2 * 1024 * 1024), "big.csv")
    assert response.status_code == 413
    assert "The file is too large: Larder takes files of up to 1 MB." in response.text
    assert "Traceback" not in response.text
    assert uploads(data_dir) == []


def test_file_name_with_dots_and_slashes_stays_inside_the_data_dir(served, data_dir):
    app, browser = served()
    response = browser.upload(b"sku,name,category,price,stock\nA-1,Apple,Produce,0.50,10\n",
                              "../../x.csv")
    job_id = job_of(response)
    stored = uploads(data_dir)
    assert len(stored) == 1 and re.fullmatch(r"[0-9a-f]{32}\.csv", stored[0]), stored
    assert not (data_dir.parent.parent / "x.csv").exists()
    assert not (data_dir.parent / "x.csv").exists()
    assert "Preview of x.csv" in browser.get(f"/import/{job_id}").text


def test_unknown_format_and_missing_file_are_said_plainly(served, data_dir):
    app, browser = served()
    page = browser.get("/import/").text
    assert "Recognise it for me" in page and "Shopify orders export" in page
    response = browser.upload(b"a,b\n", "a.csv", format="../../etc")
    assert response.status_code == 400 and "is not one Larder knows" in response.text
    response = browser.post("/import/", data={"csrf_token": browser.token("/import/")})
    assert response.status_code == 400 and "choose a file to import" in response.text
    response = browser.upload(b"", "empty.csv")
    assert response.status_code == 400 and "the file is empty" in response.text
    assert uploads(data_dir) == []
    assert browser.get("/import/" + "f" * 32).status_code == 404


def test_inbox_recognises_dropped_files_by_their_columns(app, data_dir):
    from webapp.inbox_sync import sync_inbox

    inbox = data_dir / "inbox"
    (inbox / "export 2025-04.csv").write_bytes((SAMPLES / "shopify_orders.csv").read_bytes())
    (inbox / "stock.txt").write_text("sku,name,category,price,stock\nA-1,Apple,Produce,0.50,x\n")
    (inbox / "notes.pdf").write_bytes(b"%PDF-1.4")  # not a table: left alone
    for path in inbox.iterdir():
        os.utime(path, (1, 1))  # settled long ago
    with app.app_context():
        report = sync_inbox()
        assert orders_in(app) == 6
    assert [(i["file"], i["format"]) for i in report["imported"]] == [
        ("export 2025-04.csv", "shopify_orders")]
    assert report["failed"] == [{"file": "stock.txt", "errors": 1}]
    assert (inbox / "done" / "export 2025-04.csv").exists()
    assert "line 2: stock:" in (inbox / "failed" / "stock.txt.errors.txt").read_text()
    assert (inbox / "notes.pdf").exists()
    assert list((inbox / ".importing").glob("*.csv")) == []


def test_waiting_job_page_refreshes_itself_and_is_cancelled_before_it_runs(served, data_dir):
    app, browser = served()  # no worker: the preview waits in the queue
    job_id = job_of(browser.upload((SAMPLES / "shopify_orders.csv").read_bytes(), "s.csv"))
    page = browser.get(f"/import/{job_id}").text
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert '<progress max="100" value="0">' in page and "<button>Cancel</button>" in page
    assert 'src="/static/import.js"' in page and "<script>" not in page  # CSP: no inline
    token = browser.token(f"/import/{job_id}")
    assert browser.post(f"/import/{job_id}/cancel", data={"csrf_token": token}).status_code == 303
    page = browser.get(f"/import/{job_id}").text
    assert "Cancelling…" in page and "<button>Cancel</button>" not in page
    assert (data_dir / "uploads" / f"{job_id}.cancel").exists()
    proc = WorkerProcess(data_dir).wait_ready()  # the worker comes: it ends it, unread
    try:
        final, _ = browser.wait(job_id)
    finally:
        proc.stop()
    assert final["state"] == "FAILURE" and final["error"] == "Cancelled: nothing was imported."
    assert "Cancelled: nothing was imported." in browser.get(f"/import/{job_id}").text


def test_a_german_shop_reads_the_bad_lines_in_german(served, worker):
    """The worker says the bad rows in the shop's language (German here), and the job's
    stored result keeps those words: the page shows them as they were written."""
    import html

    from webapp import settings
    from webapp.extensions import db

    app, browser = served()
    with app.app_context():
        settings.save({"locale": "de_DE"})
        db.session.commit()
    rows = "sku,name,category,price,stock\nS-1,Brot,Backwaren,viel,3\nS-2,Milch,Milch,-2,3\n"
    preview = job_of(browser.upload(rows.encode(), "products.csv"))
    final, _ = browser.wait(preview)
    assert final["state"] == "FAILURE"
    page = html.unescape(browser.get(f"/import/{preview}").text)
    assert "<li>Zeile 2: price: keine Zahl: 'viel'</li>" in page
    assert "<li>Zeile 3: price: darf nicht negativ sein</li>" in page
    sumup = (SAMPLES / "sumup_sales_2023_en.csv").read_text(encoding="utf-8")
    till = job_of(browser.upload(sumup.replace(",2,Kaffee ,", ",zwei,Kaffee ,").encode(),
                                 "sumup.csv"))
    assert browser.wait(till)[0]["state"] == "FAILURE"
    page = html.unescape(browser.get(f"/import/{till}").text)
    assert ("<li>Zeile 2: Quantity: keine Menge: 'zwei' (erwartet eine ganze Zahl wie 2)"
            "</li>") in page

    with app.app_context():  # written in German, shown as written
        settings.save({"locale": "en_GB"})
        db.session.commit()
    page = html.unescape(browser.get(f"/import/{preview}").text)
    assert "Zeile 2: price: keine Zahl: 'viel'" in page and "Nothing was imported" in page
