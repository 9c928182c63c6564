"""The fast path (webapp/fast_path.py) answers cached pages exactly as Flask would, and
never with a stale page, another user's page, or a page for a request Flask refuses.

Side by side: `app` (the fast path on, the default) and `plain` (LARDER_FAST_PATH off) on
the same data dir, cache and secret key get the same requests; status, body and headers
must be equal, and the fast path must really have answered the ones it may answer."""
import subprocess
import sys

import pytest

from conftest import TOKEN, csrf_from
from webapp import create_app
from webapp.auth import add_user, set_disabled
from webapp.extensions import db
from worker_proc import ROOT, child_env

PASSWORD = "correct horse"
PAGES = ["/products/", "/products/?page=2&category=Dairy", "/products/SKU-004",
         "/customers/", "/", "/api/stats"]


@pytest.fixture
def plain(data_dir, shop):
    app = create_app({"TESTING": True, "LARDER_TOKEN": TOKEN, "LARDER_FAST_PATH": False,
                      "CELERY_OVERRIDES": {"task_always_eager": True}}, data_dir=data_dir)
    assert "larder_fast_path" not in app.extensions
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def accounts(app):
    with app.app_context():
        add_user("sam", PASSWORD)
        add_user("mia", PASSWORD, role="manager")


def cookie_of(app, username):
    browser = app.test_client()
    token = csrf_from(browser, "/login")
    assert browser.post("/login", data={"csrf_token": token, "username": username,
                                        "password": PASSWORD}).status_code == 302
    return {"Cookie": f"session={browser.get_cookie('session').value}"}


def owner_cookie(app):
    browser = app.test_client()
    assert browser.get(f"/?token={TOKEN}").status_code == 302
    return {"Cookie": f"session={browser.get_cookie('session').value}"}


BEARER = {"Authorization": f"Bearer {TOKEN}"}


def served(app):
    return app.extensions["larder_fast_path"].served


def fetch(app, url, headers):
    return app.test_client(use_cookies=False).get(url, headers=headers)


def side_by_side(app, plain, url, headers):
    """(response, whether the fast path answered it); both paths' answers are equal."""
    before = served(app)
    fast = fetch(app, url, headers)
    answered = served(app) > before
    slow = fetch(plain, url, headers)
    assert fast.status_code == slow.status_code, url
    assert fast.get_data() == slow.get_data(), url

    def comparable(response):  # a written session's signature holds the second it was made
        return sorted((k, v if k != "Set-Cookie" else v.split("=")[0])
                      for k, v in response.headers.items())

    assert comparable(fast) == comparable(slow), url
    return fast, answered


@pytest.mark.parametrize("who", ["bearer", "owner cookie", "staff", "manager"])
def test_cached_pages_are_the_same_on_both_paths(app, plain, shop, accounts, who):
    headers = {"bearer": lambda: BEARER, "owner cookie": lambda: owner_cookie(app),
               "staff": lambda: cookie_of(app, "sam"),
               "manager": lambda: cookie_of(app, "mia")}[who]()
    for url in PAGES:
        first = fetch(app, url, headers)  # a miss (Flask), and the menu rendered once
        if first.status_code != 200:
            assert (who, url, first.status_code) == ("staff", "/api/stats", 403)
            assert not side_by_side(app, plain, url, headers)[1]  # Flask refuses
            continue
        assert first.headers["X-Cache"] == "MISS" and first.headers["ETag"]
        response, answered = side_by_side(app, plain, url, headers)
        assert answered, (who, url)
        assert response.status_code == 200 and response.headers["X-Cache"] == "HIT"
        # and the 304 of both paths
        tag = {**headers, "If-None-Match": response.headers["ETag"]}
        not_modified, answered = side_by_side(app, plain, url, tag)
        assert answered and not_modified.status_code == 304 and not_modified.get_data() == b""


def test_staff_never_get_the_owners_pages(app, plain, shop, accounts):
    """The owner's copies (costs, their dashboard) are cached first; staff asking the same
    URLs get their own."""
    staff = cookie_of(app, "sam")
    for url in ["/", "/products/", "/products/SKU-004"]:
        fetch(app, url, BEARER)
        assert fetch(app, url, BEARER).headers["X-Cache"] == "HIT"
    page = fetch(app, "/", staff)
    assert page.headers["X-Cache"] == "MISS"  # not the owner's copy
    assert "Signed in as sam" in page.get_data(as_text=True)
    assert "Cost" in fetch(app, "/products/SKU-004", BEARER).get_data(as_text=True)
    for url in ["/", "/products/SKU-004"]:
        fetch(app, url, staff)
        response, answered = side_by_side(app, plain, url, staff)
        assert answered
        html = response.get_data(as_text=True)
        assert "Signed in as owner" not in html and "Cost" not in html, url


@pytest.mark.parametrize("headers, status", [
    ({}, 302),  # no token, no session: the sign-in page
    ({"Authorization": "Bearer wrong"}, 401),
    ({"Cookie": "session=forged.value.here"}, 302),
    ({**BEARER, "Host": "evil.example"}, 400),
])
def test_a_cached_page_is_never_given_without_the_token(app, plain, shop, headers, status):
    for url in PAGES:
        fetch(app, url, BEARER)
        assert fetch(app, url, BEARER).headers["X-Cache"] == "HIT"
        response, answered = side_by_side(app, plain, url, headers)
        assert not answered and response.status_code == (
            401 if url.startswith("/api/") and status == 302 else status), url
        assert b"Product 004" not in response.get_data()


def test_a_link_with_the_token_signs_in_through_flask(app, plain, shop):
    fetch(app, "/products/", BEARER)
    response, answered = side_by_side(app, plain, f"/products/?token={TOKEN}", {})
    assert not answered and response.status_code == 302 and "Set-Cookie" in response.headers


def test_sessions_that_ended_get_no_cached_page(app, plain, shop, accounts):
    staff = cookie_of(app, "sam")
    for _ in range(2):
        assert fetch(app, "/", staff).status_code == 200
    assert served(app) >= 1
    with app.app_context():
        set_disabled("sam")  # signed out everywhere
    response, answered = side_by_side(app, plain, "/", staff)
    assert not answered and response.status_code == 302


def test_a_session_flask_must_write_goes_to_flask(app, plain, shop, accounts):
    """A staff session seen more than a minute ago is rewritten (its idle clock); a
    message waiting in the session is shown once, on a cached page too."""
    browser = app.test_client()
    token = csrf_from(browser, "/login")
    browser.post("/login", data={"csrf_token": token, "username": "sam",
                                 "password": PASSWORD})
    for _ in range(2):
        browser.get("/products/")
    serializer = app.session_interface.get_signing_serializer(app)
    data = serializer.loads(browser.get_cookie("session").value)
    data["seen"] -= 120
    stale = {"Cookie": f"session={serializer.dumps(data)}"}
    response, answered = side_by_side(app, plain, "/products/", stale)
    assert not answered and "Set-Cookie" in response.headers

    data["seen"] += 120
    data["_flashes"] = [("message", "Product SKU-004 saved.")]
    flashed = {"Cookie": f"session={serializer.dumps(data)}"}
    response, answered = side_by_side(app, plain, "/products/", flashed)
    assert not answered and response.headers["X-Cache"] == "HIT"
    assert "Product SKU-004 saved." in response.get_data(as_text=True)
    assert "Set-Cookie" in response.headers  # the message is taken out of the session


def test_an_edit_is_seen_at_once_on_the_fast_path(app, shop):
    fetch(app, "/products/SKU-004", BEARER)
    fetch(app, "/products/", BEARER)
    old = fetch(app, "/products/SKU-004", BEARER)
    assert old.headers["X-Cache"] == "HIT"
    browser = app.test_client()
    browser.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {TOKEN}"
    assert browser.patch("/api/products/SKU-004",
                         json={"name": "Renamed Loaf"}).status_code == 200
    for url in ["/products/SKU-004", "/products/?page=2"]:
        new = fetch(app, url, BEARER)
        assert new.headers["X-Cache"] == "MISS" and "Renamed Loaf" in new.get_data(as_text=True)
        again = fetch(app, url, {**BEARER, "If-None-Match": old.headers["ETag"]})
        assert again.status_code == 200 and again.headers["X-Cache"] == "HIT"
        assert "Renamed Loaf" in again.get_data(as_text=True)


EDIT_IN_ANOTHER_PROCESS = r"""
import sys
from webapp import catalog, create_app
from webapp.caching import products_changed
app = create_app({"TESTING": True, "LARDER_TOKEN": "other"}, data_dir=sys.argv[1])
with app.app_context():
    catalog.update_product("SKU-004", {"name": "Edited Elsewhere"})
    products_changed()
"""


def test_a_change_made_by_another_process_is_seen_at_once(app, data_dir, shop):
    """Versions are read from the shared cache on every request, not kept in this one."""
    for _ in range(2):
        before = fetch(app, "/products/SKU-004", BEARER)
    count = served(app)
    assert before.headers["X-Cache"] == "HIT" and count >= 1
    subprocess.run([sys.executable, "-c", EDIT_IN_ANOTHER_PROCESS, str(data_dir)], cwd=ROOT,
                   env=child_env(), check=True, timeout=120, capture_output=True)
    for url in ["/products/SKU-004", "/products/?q=Edited"]:
        fetch(app, url, BEARER)
        after = fetch(app, url, BEARER)
        assert "Edited Elsewhere" in after.get_data(as_text=True), url
    assert served(app) > count


def test_hooks_added_later_turn_the_fast_path_off(app, plain, shop):
    """The desktop window adds a request log: the fast path cannot know what a new hook
    does, so hits go to Flask (and are logged)."""
    seen = []
    app.after_request(lambda response: seen.append(response.status_code) or response)
    fetch(app, "/products/", BEARER)
    assert fetch(app, "/products/", BEARER).headers["X-Cache"] == "HIT"
    assert served(app) == 0 and seen == [200, 200]


def test_the_window_app_keeps_the_fast_path_and_logs_its_answers(app, shop, caplog):
    """The launcher adds its routes and request log to the app it serves in the window:
    the cached pages' fast path must still answer there (a Flask hook added after
    create_app would turn it off), and the log must see those answers too."""
    from desktop.launcher import add_desktop_routes

    add_desktop_routes(app, [])
    fetch(app, "/products/", BEARER)  # a miss, through Flask
    before = served(app)
    with caplog.at_level("INFO", logger="larder.requests"):
        assert fetch(app, "/products/", BEARER).headers["X-Cache"] == "HIT"
    assert served(app) == before + 1
    assert "GET /products/ 200" in caplog.text


def test_a_page_stored_again_under_its_key_is_sent_as_stored(app, plain):
    """What the fast path sends for a page is kept per process (filled menu and banner,
    ETag), but only for that very page: anything stored under the same key (the cache
    overwritten, a page remade) is what the next hit sends, as Flask would."""
    from werkzeug.datastructures import MultiDict

    from webapp import caching
    from webapp.extensions import cache

    fetch(app, "/products/?page=2&category=Dairy", BEARER)  # stored
    first, answered = side_by_side(app, plain, "/products/?page=2&category=Dairy", BEARER)
    assert answered
    with app.app_context():
        key = caching.PAGE_KEYS["products.index"](
            "/products/", MultiDict([("page", "2"), ("category", "Dairy")]), {}, "owner", None)
        page = cache.cache.get(key)
        assert isinstance(page, str) and "Product" in page
        cache.cache.set(key, page.replace("Product", "Item"))
    again, answered = side_by_side(app, plain, "/products/?page=2&category=Dairy", BEARER)
    assert answered and b"Item" in again.get_data()
    assert again.headers["ETag"] != first.headers["ETag"]
