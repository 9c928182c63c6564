"""Cached views are never stale: every page that shows a change refreshes at once."""
from conftest import csrf_from


def get(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.headers.get("X-Cache"), response.get_data(as_text=True)


LIST_VARIANTS = ["/products/", "/products/?page=2", "/products/?category=Dairy",
                 "/products/?q=Product%20004", "/products/?category=Dairy&q=004"]


def test_list_variants_are_cached_per_query_string(client, shop):
    for url in LIST_VARIANTS:
        assert get(client, url)[0] == "MISS"
    for url in LIST_VARIANTS:
        assert get(client, url)[0] == "HIT"
    # The same arguments in another order are the same page.
    assert get(client, "/products/?q=004&category=Dairy")[0] == "HIT"


def test_product_edit_refreshes_every_page_that_shows_it(client, shop):
    client.post("/api/orders", json={"customer_email": "ann@example.com",
                                     "lines": [{"sku": "SKU-004", "quantity": 2}]})
    urls = LIST_VARIANTS + ["/products/SKU-004", "/", "/api/stats"]
    for url in urls:
        get(client, url)
    assert all(get(client, url)[0] == "HIT" for url in urls)

    assert client.patch("/api/products/SKU-004",
                        json={"name": "Renamed Loaf"}).status_code == 200
    # Sorted by name, "Renamed Loaf" moves to the end of the list: page 2.
    for url, shows in [("/products/", False), ("/products/?page=2", True),
                       ("/products/?category=Dairy", True),
                       ("/products/?q=Product%20004", False),  # the search no longer matches
                       ("/products/SKU-004", True), ("/", True)]:
        state, html = get(client, url)
        assert state == "MISS", url
        assert ("Renamed Loaf" in html) == shows, url
    assert "Renamed Loaf" in get(client, "/products/?q=Renamed")[1]


def test_stock_change_by_an_order_refreshes_lists(client, shop):
    assert "<dd>10</dd>" in get(client, "/products/SKU-000")[1]
    get(client, "/products/")
    client.post("/api/orders", json={"customer_email": "ann@example.com",
                                     "lines": [{"sku": "SKU-000", "quantity": 3}]})
    assert "<dd>7</dd>" in get(client, "/products/SKU-000")[1]
    state, html = get(client, "/products/")
    assert state == "MISS" and '<td class="num">7</td>' in html


def test_new_order_changes_stats_and_dashboards_at_once(app, client, owner_browser, shop):
    from webapp.auth import add_user

    with app.app_context():
        add_user("sam", "password1")
    staff = app.test_client()
    token = csrf_from(staff, "/login")
    staff.post("/login", data={"csrf_token": token, "username": "sam", "password": "password1"})

    assert client.get("/api/stats").json["orders"] == 0
    assert client.get("/api/stats").headers["X-Cache"] == "HIT"
    get(owner_browser, "/")
    get(staff, "/")
    assert get(staff, "/")[0] == "HIT"

    response = client.post("/api/orders", json={
        "customer_email": "bob@example.com", "lines": [{"sku": "SKU-009", "quantity": 2}]})
    assert response.status_code == 201
    stats = client.get("/api/stats")
    assert stats.headers["X-Cache"] == "MISS"
    assert stats.json["orders"] == 1 and stats.json["revenue"] == 21.0
    for browser in (owner_browser, staff):
        state, html = get(browser, "/")
        assert state == "MISS" and "21.00" in html


def test_dashboard_is_cached_per_user(app, owner_browser, shop):
    from webapp.auth import add_user

    with app.app_context():
        add_user("sam", "password1")
    staff = app.test_client()
    token = csrf_from(staff, "/login")
    staff.post("/login", data={"csrf_token": token, "username": "sam", "password": "password1"})
    owner_state, owner_page = get(owner_browser, "/")
    assert get(owner_browser, "/")[0] == "HIT"
    staff_state, staff_page = get(staff, "/")
    assert staff_state == "MISS"  # not the owner's cached page
    assert "Signed in as owner" in owner_page and "Signed in as sam" in staff_page
    assert "Signed in as owner" not in get(staff, "/")[1]


def test_memoized_stats_are_deleted_on_change(app, client, shop):
    from webapp import stats
    from webapp.extensions import cache

    with app.app_context():
        before = stats.summary()
        key = stats.summary.make_cache_key(stats.summary.uncached)
        assert cache.get(key) == before
    client.post("/api/orders", json={"customer_email": "cy@example.com",
                                     "lines": [{"sku": "SKU-000", "quantity": 1}]})
    with app.app_context():
        assert cache.get(stats.summary.make_cache_key(stats.summary.uncached)) is None
        assert stats.summary()["orders"] == before["orders"] + 1


def test_cache_page_reports_and_clears(owner_browser, client, shop):
    get(client, "/products/")
    get(client, "/products/")
    page = owner_browser.get("/cache/").get_data(as_text=True)
    assert "in Larder&#39;s data folder" in page  # plain words, not the class name (issue 12)
    hits = int(page.split('id="hits">')[1].split("<")[0])
    assert hits >= 1
    token = csrf_from(owner_browser, "/cache/")
    for area in ("products", "customers", "stats"):
        response = owner_browser.post("/cache/clear", data={"csrf_token": token, "area": area})
        assert response.status_code == 302
    assert get(client, "/products/")[0] == "MISS"
    get(client, "/api/stats")
    owner_browser.post("/cache/clear", data={"csrf_token": token, "area": "all"})
    assert get(client, "/api/stats")[0] == "MISS"
    bad = owner_browser.post("/cache/clear", data={"csrf_token": token, "area": "../etc"})
    assert bad.status_code == 400


def test_a_settings_change_refreshes_every_page_that_shows_money(app, client, owner_browser,
                                                                 anon_client, shop):
    """Money is written in the shop's currency: a new one shows on every cached page, the
    staff's dashboards included (the owner's is also refreshed by their own activity)."""
    from webapp.auth import add_user

    with app.app_context():
        add_user("sam", "correct horse")
    assert anon_client.post("/login", data={
        "csrf_token": csrf_from(anon_client, "/login"), "username": "sam",
        "password": "correct horse"}).status_code == 302
    client.post("/api/orders", json={"customer_email": "ann@example.com",
                                     "lines": [{"sku": "SKU-004", "quantity": 2}]})
    urls = LIST_VARIANTS + ["/products/SKU-004", "/"]
    for url in urls:
        assert "€" in get(client, url)[1], url
    assert "€" in get(anon_client, "/")[1]
    assert all(get(client, url)[0] == "HIT" for url in urls)
    assert get(anon_client, "/")[0] == "HIT"
    form = {"csrf_token": csrf_from(owner_browser, "/settings/"), "shop_name": "",
            "shop_address": "", "shop_tax_number": "", "currency": "GBP", "locale": "en_GB",
            "timezone": "", "prices_include_tax": "yes", "default_tax_rate": "20",
            "day_starts_at": "00:00", "payment_methods": "cash\ncard", "confirm":
            "currency=GBP"}
    assert owner_browser.post("/settings/", data=form).status_code == 302
    for who, url in [(client, url) for url in urls] + [(anon_client, "/")]:
        state, html = get(who, url)
        assert state == "MISS" and "£" in html and "€" not in html, url


def test_a_restart_with_a_new_currency_in_the_environment_remakes_cached_pages(
        app, data_dir, shop, monkeypatch):
    """Settings from the environment or larder.toml change only at a restart, when no
    version is bumped: they are part of the page keys."""
    from conftest import TOKEN, http_session
    from webapp import create_app

    with http_session(app) as http:
        assert "€3.50" in http.get(http.base + "/products/").text
        assert "€3.50" in http.get(http.base + "/products/SKU-002").text
        assert "€0.00" in http.get(http.base + "/").text  # the dashboard, cached
    monkeypatch.setenv("LARDER_CURRENCY", "GBP")  # then Larder starts again
    again = create_app({"TESTING": True, "LARDER_TOKEN": TOKEN}, data_dir=data_dir)
    with http_session(again) as http:
        assert "£3.50" in http.get(http.base + "/products/").text
        assert "£3.50" in http.get(http.base + "/products/SKU-002").text
        assert "£0.00" in http.get(http.base + "/").text
