"""The Import page: CSV upload through the form and the first-run demo button."""
import io

from sqlalchemy import func, select

from conftest import csrf_from
from webapp.extensions import db
from webapp.models import Order


def upload(browser, token, kind, text, filename="data.csv"):
    return browser.post("/import/", data={"csrf_token": token, "kind": kind,
                                          "file": (io.BytesIO(text.encode()), filename)},
                        content_type="multipart/form-data")


def test_upload_imports_and_reports_counts(owner_browser, client):
    token = csrf_from(owner_browser, "/import/")
    response = upload(owner_browser, token, "products",
                      "\ufeffsku,name,category,price,stock\nA-1,Apple,Produce,0.50,10\n")
    assert response.status_code == 200
    assert "Imported 1 products rows: 1 new, 0 updated, 0 unchanged." in response.get_data(as_text=True)
    assert client.get("/api/stats").json["products"] == 1
    again = upload(owner_browser, token, "products",
                   "sku,name,category,price,stock\nA-1,Apple,Produce,0.50,10\n")
    assert "0 new, 0 updated, 1 unchanged" in again.get_data(as_text=True)


def test_upload_with_bad_rows_imports_nothing_and_lists_them(owner_browser, client):
    token = csrf_from(owner_browser, "/import/")
    response = upload(owner_browser, token, "products",
                      "sku,name,category,price,stock\nA-1,Apple,Produce,0.50,10\n"
                      "B-2,<b>Bread</b>,Bakery,-1,3\nC-3,Cheese,Dairy,2.00,lots\n")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Nothing was imported" in html
    assert "line 3: price:" in html and "line 4: stock:" in html
    assert "<b>Bread" not in html  # whatever a row holds is escaped
    assert client.get("/api/stats").json["products"] == 0


def test_upload_needs_a_file_and_a_known_kind(owner_browser):
    token = csrf_from(owner_browser, "/import/")
    response = owner_browser.post("/import/", data={"csrf_token": token, "kind": "products"})
    assert response.status_code == 400 and "choose a CSV file" in response.get_data(as_text=True)
    response = upload(owner_browser, token, "../../etc", "x")
    assert response.status_code == 400 and "Unknown kind" in response.get_data(as_text=True)


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
