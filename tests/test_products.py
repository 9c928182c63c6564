"""Product pages and API: paging, filters, search, forms, escaping, errors."""
from conftest import csrf_from


def test_list_paging_and_filters(client, shop):
    page1 = client.get("/products/").get_data(as_text=True)
    assert "Page 1 of 2 (30)" in page1
    assert "Product 000" in page1 and "Product 025" not in page1
    page2 = client.get("/products/?page=2").get_data(as_text=True)
    assert "Product 025" in page2 and "Product 000" not in page2
    dairy = client.get("/products/?category=Dairy").get_data(as_text=True)
    assert "SKU-001" in dairy and "SKU-000" not in dairy
    found = client.get("/products/?q=product 01").get_data(as_text=True)
    assert found.count("<tr><td><a href=\"/products/SKU-01") == 10


def test_bad_page_numbers_fall_back_to_first_page(client, shop):
    for bad in ("abc", "-3", "0"):
        assert client.get(f"/products/?page={bad}").status_code == 200
    assert "No products match" in client.get("/products/?page=99").get_data(as_text=True)


def test_search_treats_wildcards_literally(client, shop):
    assert "No products match" in client.get("/products/?q=%25").get_data(as_text=True)


def test_detail_and_missing(client, shop):
    assert "Product 003" in client.get("/products/SKU-003").get_data(as_text=True)
    missing = client.get("/products/NOPE")
    assert missing.status_code == 404
    assert "There is no product with SKU NOPE" in missing.get_data(as_text=True)


def test_create_edit_delete_through_forms(owner_browser, shop):
    token = csrf_from(owner_browser, "/products/new")
    form = {"csrf_token": token, "sku": "NEW-1", "name": "Sourdough", "category": "Bakery",
            "price": "4.20", "stock": "12"}
    response = owner_browser.post("/products/new", data=form)
    assert response.status_code == 302 and response.headers["Location"] == "/products/NEW-1"
    assert "4.20" in owner_browser.get("/products/NEW-1").get_data(as_text=True)

    response = owner_browser.post("/products/NEW-1/edit", data={**form, "price": "4.50"})
    assert response.status_code == 302
    assert "4.50" in owner_browser.get("/products/NEW-1").get_data(as_text=True)

    response = owner_browser.post("/products/NEW-1/delete", data={"csrf_token": token})
    assert response.status_code == 302
    assert owner_browser.get("/products/NEW-1").status_code == 404


def test_form_validation_errors(owner_browser, shop):
    token = csrf_from(owner_browser, "/products/new")
    response = owner_browser.post("/products/new", data={
        "csrf_token": token, "sku": "SKU-001", "name": "", "category": "X",
        "price": "1.234", "stock": "-1"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    for reason in ("already exists", "is required", "at most two decimals", "from 0 to 1,000,000"):
        assert reason in html


def test_output_is_escaped(client, shop):
    response = client.patch("/api/products/SKU-002", json={"name": "<script>alert(1)</script>"})
    assert response.status_code == 200
    for url in ("/products/", "/products/SKU-002"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_patch_product_api(client, shop):
    response = client.patch("/api/products/SKU-004", json={"price": "9.99", "stock": 7})
    assert response.status_code == 200
    assert response.json["price"] == "9.99" and response.json["stock"] == 7
    assert client.get("/api/products/SKU-004").json["price"] == "9.99"


def test_patch_product_api_errors(client, shop):
    assert client.patch("/api/products/NOPE", json={"stock": 1}).status_code == 404
    response = client.patch("/api/products/SKU-004", data="not json")
    assert response.status_code == 400 and "JSON object" in response.json["error"]
    response = client.patch("/api/products/SKU-004", json={"price": "-1", "colour": "red"})
    assert response.status_code == 400
    assert response.json["fields"] == {"price": "must not be negative", "fields": "unknown: colour"}
    assert client.get("/api/products/SKU-004").json["price"] == "5.50"  # untouched
