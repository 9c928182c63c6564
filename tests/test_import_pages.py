"""The Import page in-process (jobs run eagerly): Larder's own columns through the
form, and the first-run demo button. Over HTTP with a real worker: test_import_page.py."""
import io

from sqlalchemy import func, select

from conftest import csrf_from
from webapp.extensions import db
from webapp.models import Order


def upload(browser, token, kind, text, filename="data.csv"):
    """The old form's fields (`kind`): still accepted, as a forced format."""
    return browser.post("/import/", data={"csrf_token": token, "kind": kind,
                                          "file": (io.BytesIO(text.encode()), filename)},
                        content_type="multipart/form-data")


def job_page(browser, response):
    """Jobs run in-process here (eager): the page they redirect to is finished."""
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return response.headers["Location"], browser.get(response.headers["Location"])


def test_upload_previews_then_imports_larder_columns(owner_browser, client):
    token = csrf_from(owner_browser, "/import/")
    url, page = job_page(owner_browser, upload(
        owner_browser, token, "products",
        "\ufeffsku,name,category,price,stock\nA-1,Apple,Produce,0.50,10\n"))
    html = page.get_data(as_text=True)
    assert "Larder products file" in html and "Import these" in html
    assert client.get("/api/stats").json["products"] == 0  # only a preview so far
    _, done = job_page(owner_browser, owner_browser.post(url + "/confirm",
                                                         data={"csrf_token": token}))
    assert "Imported." in done.get_data(as_text=True)
    assert client.get("/api/stats").json["products"] == 1


def test_upload_with_bad_rows_imports_nothing_and_lists_them(owner_browser, client):
    token = csrf_from(owner_browser, "/import/")
    _, page = job_page(owner_browser, upload(
        owner_browser, token, "products",
        "sku,name,category,price,stock\nA-1,Apple,Produce,0.50,10\n"
        "B-2,<b>Bread</b>,Bakery,-1,3\nC-3,Cheese,Dairy,2.00,lots\n"))
    html = page.get_data(as_text=True)
    assert "Nothing was imported" in html
    assert "line 3: price:" in html and "line 4: stock:" in html
    assert "<b>Bread" not in html  # whatever a row holds is escaped
    assert "Import these" not in html
    assert client.get("/api/stats").json["products"] == 0


def test_upload_needs_a_file_and_a_known_kind(owner_browser):
    token = csrf_from(owner_browser, "/import/")
    response = owner_browser.post("/import/", data={"csrf_token": token, "kind": "products"})
    assert response.status_code == 400
    assert "choose a file to import" in response.get_data(as_text=True)
    response = upload(owner_browser, token, "../../etc", "x")
    assert response.status_code == 400
    assert "is not one Larder knows" in response.get_data(as_text=True)


def test_demo_button_loads_once(owner_browser, client, app):
    token = csrf_from(owner_browser, "/import/")
    response = owner_browser.post("/import/demo", data={"csrf_token": token, "orders": "300"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    with app.app_context():  # demo orders, less the cancelled ones (not sales)
        sales = db.session.execute(select(func.count()).where(
            Order.status != "cancelled")).scalar()
    assert 280 < sales <= 300
    assert client.get("/api/stats").json["orders"] == sales
    again = owner_browser.post("/import/demo", data={"csrf_token": token, "orders": "300"})
    assert again.status_code == 400 and "--replace" in again.get_data(as_text=True)
    bad = owner_browser.post("/import/demo", data={"csrf_token": token, "orders": "many"})
    assert bad.status_code == 400
    assert client.get("/api/stats").json["orders"] == sales


def test_workbook_sheet_chosen_by_name(owner_browser, client, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Notes"
    book.active.append(["nothing to import here"])
    sheet = book.create_sheet("Stock")
    sheet.append(["sku", "name", "category", "price", "stock"])
    sheet.append(["A-1", "Apple", "Produce", 0.5, 10])
    path = tmp_path / "stock.xlsx"
    book.save(path)
    token = csrf_from(owner_browser, "/import/")

    def send(sheet_name):
        return owner_browser.post("/import/", data={
            "csrf_token": token, "sheet": sheet_name,
            "file": (io.BytesIO(path.read_bytes()), "stock.xlsx")},
            content_type="multipart/form-data")

    url, page = job_page(owner_browser, send("Stock"))
    html = page.get_data(as_text=True)
    assert "Larder products file" in html and "Read as Excel workbook" in html
    assert "Import these" in html
    _, page = job_page(owner_browser, send("Stok"))
    html = page.get_data(as_text=True)
    assert "Nothing was imported" in html and "Stok" in html
    assert client.get("/api/stats").json["products"] == 0
