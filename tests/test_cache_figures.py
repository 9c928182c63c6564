"""Cache keys and counts (webapp.caching): a new customer, repeated query parameters, an
error page, an evicted version entry and the hit/miss counts never show a stale page."""
from datetime import date

from conftest import csrf_from
from webapp import caching
from webapp.extensions import cache


def state(client, url):
    response = client.get(url)
    return response.status_code, response.headers.get("X-Cache"), response.get_data(as_text=True)


def test_a_new_customer_shows_at_once_in_lists_and_stats(client, owner_browser, shop):
    urls = ["/customers/", "/customers/?q=dora", "/customers/?page=1"]
    for url in urls:
        state(client, url)
    assert all(state(client, url)[1] == "HIT" for url in urls)
    assert client.get("/api/stats").json["customers"] == 3
    assert client.get("/api/stats").headers["X-Cache"] == "HIT"

    token = csrf_from(owner_browser, "/customers/new")
    response = owner_browser.post("/customers/new", data={
        "csrf_token": token, "email": "dora@example.com", "name": "Dora", "country": "Malta"})
    assert response.status_code == 302
    for url in urls:
        code, hit, html = state(client, url)
        assert (code, hit) == (200, "MISS") and "dora@example.com" in html, url
    stats = client.get("/api/stats")
    assert stats.headers["X-Cache"] == "MISS" and stats.json["customers"] == 4


def test_repeated_query_parameters_are_their_own_page(client, shop):
    # The list shows the first category given: Dairy is SKU-001, 004...; Produce 002, 005...
    one = "/products/?category=Dairy"
    both = "/products/?category=Dairy&category=Produce"
    turned = "/products/?category=Produce&category=Dairy"
    assert state(client, one)[1] == "MISS"
    code, hit, html = state(client, both)
    assert (code, hit) == (200, "MISS") and "Product 001" in html  # not the first page again
    assert state(client, both)[1] == "HIT"
    code, hit, html = state(client, turned)
    assert (code, hit) == (200, "MISS")  # a stale Dairy page here was a bug
    assert "Product 002" in html and "Product 001" not in html
    # other names in another order are the same arguments
    assert state(client, "/products/?q=004&category=Dairy")[1] == "MISS"
    assert state(client, "/products/?category=Dairy&q=004")[1] == "HIT"


def test_error_pages_are_never_kept(client, shop):
    for _ in range(2):
        code, hit, _ = state(client, "/products/NO-SUCH-SKU")
        assert code == 404 and hit != "HIT"


def test_hits_and_misses_are_counted_one_by_one(client, shop):
    hits, misses = caching.counters.hits, caching.counters.misses
    state(client, "/products/?page=2")
    state(client, "/products/?page=2")
    state(client, "/products/?page=2")
    assert (caching.counters.hits - hits, caching.counters.misses - misses) == (2, 1)
    with client.application.app_context():
        info = caching.backend_info()
    assert (info["hits"], info["misses"]) == (caching.counters.hits, caching.counters.misses)
    assert info["entries"] >= 1


def test_an_evicted_version_never_serves_old_pages(client, shop):
    app = client.application
    state(client, "/products/")
    assert state(client, "/products/")[1] == "HIT"
    with app.app_context():
        before = caching.area_version("products")
        assert caching.area_version("products") == before  # stable while it lives
        assert caching.bump_version("products") == before + 1
        cache.delete("version/products")
        fresh = caching.area_version("products")
        assert fresh > before + 1  # from the clock again: no number already in a key
        assert caching.area_version("products") == fresh
        cache.delete("version/products")
        assert caching.bump_version("products") > fresh  # inc goes on from the clock too
    assert state(client, "/products/")[1] == "MISS"


def test_dashboard_key_is_per_user_and_per_day(app):
    with app.app_context():
        today = date.today().isoformat()
        assert caching.dashboard_key(7) == f"view/dashboard/user/7/{today}"
        assert caching.dashboard_key(7, "2025-01-02") == "view/dashboard/user/7/2025-01-02"
