"""The interface (issue 12, "Look and structure"; docs/interface.md): the menu with the
current page marked, put in after the page cache; a message after every change, on
cached pages too; a label for every field and errors tied to their field; plain words on
every page (no developer terms); the System page; light and dark; page sizes."""
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import TOKEN, csrf_from, http_session

STATIC = Path(__file__).resolve().parent.parent / "webapp" / "static"
# The pages this part of the issue restyled (the order desk, customers, orders list,
# reports and dashboard are made in other parts): each field there has a label.
MINE = ("/products", "/settings", "/backups", "/import", "/end-of-day", "/tasks", "/outbox",
        "/schedules", "/cache", "/system", "/login", "/logout")
# Words a shop owner should never read on a page (class, library and method names).
BANNED = ("memoize", "versioned", "backend", "celery", "beat", "cachelib", "diskcache",
          "webapp.", "traceback", "task_id", "kombu", "sqlalchemy", "jinja", "werkzeug")


def text_of(html):
    """What a person reads: no tags, scripts or styles."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S | re.I)
    return re.sub(r"<[^>]+>", " ", html)


class Fields(HTMLParser):
    """The form controls of a page and the labels that name them."""

    def __init__(self):
        super().__init__()
        self.controls, self.label_for, self.open_labels = [], set(), 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "label":
            self.open_labels += 1
            if attrs.get("for"):
                self.label_for.add(attrs["for"])
        elif tag in ("input", "select", "textarea"):
            if attrs.get("type") in ("hidden", "submit", "button"):
                return
            self.controls.append((attrs, self.open_labels > 0))

    def handle_endtag(self, tag):
        if tag == "label":
            self.open_labels -= 1

    def unlabelled(self):
        return [a.get("name") for a, inside in self.controls
                if not inside and a.get("id") not in self.label_for and not a.get("aria-label")]


def unlabelled(html):
    parser = Fields()
    parser.feed(html)
    return parser.unlabelled()


def owner_pages(app):
    """Every GET page of the URL map that takes no argument, plus the product pages."""
    paths = {"/products/SKU-001", "/products/SKU-001/edit", "/products/SKU-001/delete",
             "/products/SKU-001/restore"}
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static" \
                and not rule.rule.startswith("/api/"):
            paths.add(rule.rule)
    return sorted(paths)


def sign_in_staff(app, client, name="sam"):
    from webapp.auth import add_user

    with app.app_context():
        add_user(name, "correct horse")
    token = csrf_from(client, "/login")
    assert client.post("/login", data={"csrf_token": token, "username": name,
                                       "password": "correct horse"}).status_code == 302


# ---- plain words, labels and sizes on every page ------------------------------------

def test_every_page_speaks_plainly_labels_its_fields_and_stays_small(shop):
    """Over real HTTP (Waitress), as the owner: each GET page from the URL map."""
    with http_session(shop) as http:
        pages = owner_pages(shop)
        assert "/system/" in pages and "/cache/" in pages and "/settings/" in pages
        seen = 0
        for path in pages:
            response = http.get(http.base + path)
            if response.status_code != 200 or "text/html" not in response.headers["Content-Type"]:
                continue
            seen += 1
            html = response.text
            words = text_of(html).lower()
            assert not [w for w in BANNED if w in words], (path, [w for w in BANNED if w in words])
            if path.startswith(MINE):
                assert not unlabelled(html), (path, unlabelled(html))
            assert len(response.content) < 100_000, (path, len(response.content))
            assert "<script>" not in html and " style=" not in html, path  # CSP: none inline
        assert seen >= 15


def test_the_cache_page_says_what_clearing_does_not_how(client):
    page = client.get("/cache/").get_data(as_text=True)
    assert "Clear the saved copies of product pages" in page
    assert "in Larder&#39;s data folder on this computer" in page
    for word in ("versioned", "delete_memoized", "DiskCache", "Backend"):
        assert word not in page


# ---- the menu -------------------------------------------------------------------------

def current_links(html):
    return re.findall(r'<a href="([^"]+)" aria-current="page">([^<]+)</a>', html)


def test_the_current_page_is_marked_for_eye_and_screen_reader(client, shop):
    for path, link in (("/products/", ("/products/", "Products")),
                       ("/products/SKU-001", ("/products/", "Products")),
                       ("/orders/new", ("/orders/new", "Sell")),
                       ("/orders/", ("/orders/", "Orders")),
                       ("/end-of-day", ("/end-of-day", "End of day")),
                       ("/system/", ("/system/", "System")),
                       ("/tasks/", ("/system/", "System")),
                       ("/cache/", ("/system/", "System"))):
        for _ in range(2):  # a cached page (HIT the second time) is marked the same
            html = client.get(path).get_data(as_text=True)
            assert current_links(html) == [link], (path, current_links(html))
    html = client.get("/system/").get_data(as_text=True)
    assert '<summary class="current">Back office</summary>' in html  # inside the menu
    html = client.get("/products/").get_data(as_text=True)
    assert "<summary>Back office</summary>" in html
    # Daily work in front, the back office under one menu, in this order.
    nav = html.split('<nav class="main"')[1].split("</nav>")[0]
    front, office = nav.split("<details")
    assert re.findall(r">([^<]+)</a>", front) == ["Dashboard", "Sell", "Orders", "Products",
                                                  "Customers", "Reports"]
    assert re.findall(r">([^<]+)</a>", office) == ["Import", "End of day", "Backups",
                                                   "Settings", "Users", "System",
                                                       "Account"]


def test_owner_links_are_put_in_after_the_cache(app, shop, owner_browser, anon_client):
    assert 'href="/system/">System</a>' in owner_browser.get("/products/").text
    sign_in_staff(app, anon_client)
    anon_client.get("/products/")
    staff = anon_client.get("/products/")
    assert staff.headers["X-Cache"] == "HIT"  # a cached page (the role is in its key)
    for link in ("/system/", "/settings/", "/backups/", "/import/", "/users/", "/reports/"):
        assert f'href="{link}"' not in staff.text, link
    assert 'href="/orders/new">Sell</a>' in staff.text
    assert anon_client.get("/system/").status_code == 403
    owner = owner_browser.get("/products/")
    assert owner.headers["X-Cache"] == "HIT" and 'href="/backups/">Backups</a>' in owner.text
    assert 'href="/users/">Users</a>' in owner.text
    # Signed out: no menu at all.
    signed_out = app.test_client().get("/login").text
    assert 'aria-current' not in signed_out and "Back office" not in signed_out


# ---- messages after every change --------------------------------------------------------

def flashes(html):
    return re.findall(r'<p class="flash" role="status">([^<]*)</p>', html)


def post(browser, form_url, url, data=None):
    data = {"csrf_token": csrf_from(browser, form_url), **(data or {})}
    response = browser.post(url, data=data)
    assert response.status_code in (302, 303), (url, response.status_code, response.text[:800])
    return response.headers["Location"]


def shown_once(browser, location, message):
    """The message is on the page the change leads to (cached or not), and only once."""
    page = browser.get(location).get_data(as_text=True)
    assert message in flashes(page), (location, flashes(page))
    assert message not in flashes(browser.get(location).get_data(as_text=True))


def test_a_message_after_every_change(app, shop, owner_browser):
    b = owner_browser
    b.get("/products/SKU-001")  # cached before the change: the message still shows
    form = {"sku": "SKU-001", "name": "Rye", "category": "Bakery", "price": "2.50",
            "stock": "5"}
    where = post(b, "/products/SKU-001/edit", "/products/SKU-001/edit", form)
    shown_once(b, where, "Product SKU-001 saved.")
    assert b.get(where).headers["X-Cache"] == "HIT"

    where = post(b, "/products/new", "/products/new", {**form, "sku": "NEW-1"})
    shown_once(b, where, "Product NEW-1 added.")
    where = post(b, "/products/NEW-1/delete", "/products/NEW-1/delete")
    shown_once(b, where, "Product NEW-1 deleted.")

    b.post("/api/orders", json={"lines": [{"sku": "SKU-002", "quantity": 1}]},
           headers={"Authorization": f"Bearer {TOKEN}"})
    where = post(b, "/products/SKU-002/delete", "/products/SKU-002/delete")
    shown_once(b, where, "Product SKU-002 archived.")
    where = post(b, "/products/SKU-002/restore", "/products/SKU-002/restore")
    shown_once(b, where, "Product SKU-002 restored: it is back in the product list.")

    where = post(b, "/cache/", "/cache/clear", {"area": "products"})
    shown_once(b, where, "The saved copies of product pages are cleared.")
    where = post(b, "/backups/", "/backups/")
    page = b.get(where).get_data(as_text=True)
    assert any(m.startswith("Backup made and checked") for m in flashes(page))
    where = post(b, "/schedules/", "/schedules/daily-cleanup/run")
    shown_once(b, where, "Started now: Tidy up: remove old report files, emails, uploads and "
                         "finished jobs. Its progress is shown below.")
    where = post(b, "/end-of-day", "/end-of-day/close",
                 {"date": "2020-01-01", "confirm": "yes"})
    page = b.get(where).get_data(as_text=True)
    assert any(m.startswith("The day 2020-01-01 is closed") for m in flashes(page))


def test_messages_are_escaped(app):
    from flask import flash

    @app.get("/_say")
    def say():
        flash("<b>bold</b>")
        return "ok"

    browser = app.test_client()
    browser.get(f"/?token={TOKEN}")
    browser.get("/_say")
    page = browser.get("/products/").get_data(as_text=True)
    assert flashes(page) == ["&lt;b&gt;bold&lt;/b&gt;"]


# ---- forms: label above, required mark, the error next to its field -----------------

def test_a_field_error_is_next_to_its_field_and_tied_to_it(shop, owner_browser):
    token = csrf_from(owner_browser, "/products/new")
    response = owner_browser.post("/products/new", data={
        "csrf_token": token, "sku": "bad sku!", "name": "", "category": "Bakery",
        "price": "2.50", "stock": "1"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    block = re.search(r'<div class="field">\s*<label for="f-sku">SKU <span class="required" '
                      r'aria-hidden="true">\*</span></label>\s*<input type="text" '
                      r'id="f-sku" aria-describedby="f-sku-hint f-sku-error" '
                      r'aria-invalid="true" required[^>]*name="sku" value="bad sku!">'
                      r'.*?<span id="f-sku-error" class="error">([^<]+)</span>', html, re.S)
    assert block and "letters, digits" in block[1]
    assert 'id="f-name-error" class="error">is required</span>' in html
    assert 'id="f-category" aria-invalid' not in html  # a good field is not marked
    assert "Nothing was saved" in html and 'role="alert"' in html
    assert '<datalist id="categories"><option value="Bakery">' in html  # existing ones


def test_empty_lists_say_what_to_do(app, owner_browser):
    page = owner_browser.get("/products/").get_data(as_text=True)
    assert "No products yet." in page and 'href="/products/new">Add the first one' in page
    assert "No background jobs yet. They appear here" in owner_browser.get("/tasks/").text


# ---- System page -------------------------------------------------------------------------

def test_the_system_page_gathers_background_work_in_plain_words(shop, client):
    html = client.get("/system/").get_data(as_text=True)
    for words in ("Background work", "Latest background jobs", "Scheduled jobs",
                  "Back up the shop&#39;s data", "Emails", "Saved copies of pages",
                  "Clear the saved copies of product pages", 'href="/tasks/"',
                  'href="/outbox/"', 'href="/cache/"', 'action="/schedules/daily-backup/run"'):
        assert words in html, words
    for old in ("/tasks/", "/outbox/", "/schedules/", "/cache/"):  # still there, linked
        assert client.get(old).status_code == 200


# ---- light and dark ------------------------------------------------------------------

def test_light_and_dark_follow_the_system_with_a_switch(client):
    css = (STATIC / "larder.css").read_text()
    assert "@media (prefers-color-scheme: dark)" in css
    assert ':root[data-theme="dark"]' in css and ':root:not([data-theme="light"])' in css
    assert ":focus-visible" in css
    js = (STATIC / "larder.js").read_text()
    assert "localStorage" in js and "data-theme" in js
    html = client.get("/system/").get_data(as_text=True)
    head = html.split("</head>")[0]
    assert '<script src="/static/larder.js"></script>' in head  # before the page paints
    assert "data-theme-switch" in html
    assert client.get("/static/larder.css").status_code == 200


def test_icons_are_served_and_shipped(client):
    for name in ("larder.svg", "larder.png", "larder-180.png"):
        assert client.get(f"/static/{name}").status_code == 200, name
    html = client.get("/products/").get_data(as_text=True)
    assert 'rel="icon" href="/static/larder.png"' in html
    assets = Path(__file__).resolve().parent.parent / "desktop" / "assets"
    assert (assets / "larder.ico").read_bytes()[:4] == b"\x00\x00\x01\x00"  # an ICO file


# ---- sorting ------------------------------------------------------------------------------

def test_the_product_list_sorts_on_the_server_by_its_column_headers(shop, client):
    html = client.get("/products/?sort=-price&category=Dairy").get_data(as_text=True)
    skus = re.findall(r'<td><a href="/products/(SKU-\d+)">', html)
    assert skus[:3] == ["SKU-028", "SKU-025", "SKU-022"]  # Dairy, dearest first
    assert '<th scope="col" aria-sort="descending" class="num"><a class="sort" ' \
           'href="/products/?sort=price&amp;category=Dairy">Price</a></th>' in html
    assert '<th scope="col" aria-sort="none"><a class="sort" ' \
           'href="/products/?sort=sku&amp;category=Dairy">SKU</a></th>' in html
    page2 = client.get("/products/?sort=-price").get_data(as_text=True)
    assert 'href="/products/?page=2&amp;sort=-price"' in page2  # the pager keeps the order
    # An unknown column is the default order (by name), not an error.
    plain = client.get("/products/?sort=cost_cents").get_data(as_text=True)
    assert re.findall(r'<td><a href="/products/(SKU-\d+)">', plain)[:2] == ["SKU-000", "SKU-001"]
    assert 'aria-sort="ascending"><a class="sort" href="/products/?sort=-name">Name' in plain


def test_loading_demo_data_says_so(app, owner_browser):
    where = post(owner_browser, "/import/", "/import/demo", {"orders": "40"})
    page = owner_browser.get(where).get_data(as_text=True)
    assert "Demo data loaded: 40 orders." in flashes(page)


@pytest.fixture
def accounts_app(app, shop, owner_browser):
    from webapp.auth import add_user

    with app.app_context():
        add_user("meg", "correct horse", "manager")
    manager, staff = app.test_client(), app.test_client()
    for client, name in ((manager, "meg"), (staff, "sam")):
        if name == "sam":
            sign_in_staff(app, client)
            continue
        token = csrf_from(client, "/login")
        assert client.post("/login", data={"csrf_token": token, "username": name,
                                           "password": "correct horse"}).status_code == 302
    return app, {"owner": owner_browser, "manager": manager, "staff": staff}


def test_the_menu_shows_each_role_exactly_the_pages_it_may_open(accounts_app):
    """One source of truth: a link is in a role's menu when webapp.permissions lets the role
    open it, and every link in the menu opens (no 403 behind a link)."""
    from webapp import permissions
    from webapp.views.chrome import FRONT, OFFICE

    app, clients = accounts_app
    for role, client in clients.items():
        html = client.get("/").get_data(as_text=True)
        nav = html.split('<nav class="main"')[1].split("</nav>")[0]
        shown = re.findall(r'href="([^"]+)"', nav)
        with app.test_request_context():
            from flask import url_for
            expected = [url_for(e) for _, e, _ in FRONT + OFFICE
                        if permissions.allowed(e, role) and e in app.view_functions]
        assert shown == expected, role
        for url in shown:
            if url != "/logout":
                assert client.get(url).status_code == 200, (role, url)
