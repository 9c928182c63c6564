"""Roles (owner, manager, staff): every endpoint has a rule, each role is refused (403)
or let through exactly as the rules say, route by route from the URL map; staff never
see costs or margins, even in pages cached for the owner, nor other days' figures; the
Users page and `larder user ...` manage the accounts."""
import re
from datetime import timedelta

import pytest

from conftest import TOKEN, csrf_from, http_session
from webapp import permissions
from webapp.extensions import db
from webapp.models import Customer, Product, User

ROLES = ("owner", "manager", "staff")
OWNER, MANAGERS, ALL = {"owner"}, {"owner", "manager"}, set(ROLES)
# Who may use the sensitive endpoints, stated here (not read from webapp.permissions):
# the walk below checks the app against this, and against the table for the rest.
EXPECTED = {
    "settings.index": OWNER, "backups.index": OWNER, "backups.make": OWNER,
    "backups.download": OWNER, "backups.restore": OWNER, "users.index": OWNER,
    "users.create": OWNER, "users.disable": OWNER, "users.reset": OWNER,
    "system.index": MANAGERS, "tasks.index": MANAGERS, "outbox.index": MANAGERS, "outbox.show": MANAGERS,
    "schedules.index": MANAGERS, "schedules.run_now": MANAGERS,
    "cache_admin.index": MANAGERS, "cache_admin.clear": MANAGERS,
    "data_import.index": MANAGERS, "data_import.confirm": MANAGERS,
    "data_import.demo": MANAGERS,
    "products.create": MANAGERS, "products.edit": MANAGERS, "products.delete": MANAGERS,
    "api.create_product": MANAGERS, "api.patch_product": MANAGERS,
    "api.delete_product": MANAGERS,
    "orders.refund": MANAGERS, "orders.cancel": MANAGERS, "api.refund_order": MANAGERS,
    "api.cancel_order": MANAGERS, "customers.merge": MANAGERS, "customers.detail": ALL,
    "customers.edit": ALL, "desk.price": ALL, "desk.find_products": ALL,
    "desk.find_customers": ALL, "orders.receipt": ALL, "orders.invoice": ALL,
    "reports.index": MANAGERS, "reports.api_create": MANAGERS, "reports.download": MANAGERS,
    "api.stats_view": MANAGERS,
    "end_of_day.close": MANAGERS, "end_of_day.api_close": MANAGERS,
    "dashboard.index": ALL, "products.index": ALL, "products.detail": ALL,
    "api.get_product": ALL, "customers.index": ALL, "orders.create": ALL,
    "api.create_order": ALL, "orders.detail": ALL, "end_of_day.index": ALL,
}
# What the walk puts in URLs and bodies: real rows where it matters.
URL_VALUES = {"sku": "SKU-001", "order_id": None, "customer_id": 1, "job_id": "no-such-job",
              "name": "no-such-name", "number": 1, "fmt": "json", "task_id": "no-such-task",
              "username": "victim", "filename": "larder.css"}
FORM_VALUES = {"data_import.demo": {"orders": "not a number"}}  # never 20,000 orders


def missing_rules(app):
    return sorted({rule.endpoint for rule in app.url_map.iter_rules()}
                  - set(permissions.RULES))


def sign_in(app, username, password="correct horse"):
    client = app.test_client()
    response = client.post("/login", data={"csrf_token": csrf_from(client, "/login"),
                                           "username": username, "password": password})
    assert response.status_code == 302, response.text
    return client


@pytest.fixture
def accounts(shop):
    from webapp.auth import add_user

    with shop.app_context():
        add_user("sam", "correct horse", "staff")
        add_user("meg", "correct horse", "manager")
        add_user("victim", "correct horse", "staff")
        product = db.session.execute(db.select(Product).filter_by(sku="SKU-001")).scalar()
        product.cost_cents = 1234
        db.session.commit()
    return shop


@pytest.fixture
def clients(accounts):
    owner = accounts.test_client()
    assert owner.get(f"/?token={TOKEN}").status_code == 302
    return {"owner": owner, "manager": sign_in(accounts, "meg"),
            "staff": sign_in(accounts, "sam")}


def order_for(app, client):
    sku = "SKU-002"
    response = client.post("/api/orders", json={"lines": [{"sku": sku, "quantity": 1}]},
                           headers={"X-CSRFToken": csrf_from(client, "/login")})
    assert response.status_code == 201, response.text
    return response.json


def test_every_endpoint_has_a_rule(app):
    assert missing_rules(app) == []
    assert set(permissions.RULES) - {r.endpoint for r in app.url_map.iter_rules()} == set()


def test_a_new_route_without_a_rule_is_caught_and_refused_to_all_but_the_owner(accounts):
    @accounts.get("/new-thing")
    def new_thing():
        return "new"

    assert missing_rules(accounts) == ["new_thing"]
    assert sign_in(accounts, "meg").get("/new-thing").status_code == 403
    owner = accounts.test_client()
    owner.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {TOKEN}"
    assert owner.get("/new-thing").status_code == 200


def test_the_stated_expectations_are_the_tables(app):
    for endpoint, roles in EXPECTED.items():
        assert {r for r in ROLES if permissions.allowed(endpoint, r)} == roles, endpoint


def _requests(app, order_id):
    """(endpoint, method, url) for every route; sign-out last (it ends the session)."""
    out = []
    for rule in app.url_map.iter_rules():
        values = {**URL_VALUES, "order_id": order_id}
        url = rule.build({arg: values[arg] for arg in rule.arguments}, append_unknown=False)
        url = url[1] if isinstance(url, tuple) else url
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if (rule.endpoint, method) != ("auth.login", "POST"):  # a wrong password
                out.append((rule.endpoint, method, url))
    return sorted(out, key=lambda r: r[0] == "auth.logout")


def test_each_role_is_refused_or_let_through_as_the_rules_say(accounts, clients):
    order_id = order_for(accounts, clients["owner"])["id"]
    tokens = {role: csrf_from(client, "/login") for role, client in clients.items()}
    checked = 0
    for endpoint, method, url in _requests(accounts, order_id):
        rule = permissions.RULES[endpoint]
        for role, client in clients.items():
            allowed = EXPECTED.get(endpoint)
            if allowed is None:
                allowed = ALL if rule == permissions.PUBLIC else set(rule[0])
            kwargs = {}
            if method != "GET":
                if url.startswith("/api/"):
                    kwargs = {"json": {}, "headers": {"X-CSRFToken": tokens[role]}}
                else:
                    kwargs = {"data": {"csrf_token": tokens[role],
                                       **FORM_VALUES.get(endpoint, {})}}
            response = client.open(url, method=method, **kwargs)
            where = f"{role} {method} {url} ({endpoint}): {response.status_code}"
            if role in allowed:
                assert response.status_code not in (401, 403), where
                assert response.status_code < 500, where
                if endpoint != "auth.logout":  # the one that may send you to sign in
                    assert "/login" not in response.headers.get("Location", ""), where
            else:
                assert response.status_code == 403, where
                if url.startswith("/api/"):
                    assert response.json["error"].startswith("Your account cannot"), where
                else:
                    assert "Your account cannot" in response.text, where
            checked += 1
    assert checked > 150


def test_staff_never_get_a_page_cached_for_the_owner_with_its_cost(accounts, clients):
    owner, staff = clients["owner"], clients["staff"]
    page = owner.get("/products/SKU-001")
    assert page.headers["X-Cache"] == "MISS" and "€12.34" in page.text
    assert owner.get("/products/SKU-001").headers["X-Cache"] == "HIT"
    staff_page = staff.get("/products/SKU-001")
    assert staff_page.status_code == 200 and "Product 001" in staff_page.text
    assert "€12.34" not in staff_page.text and "Cost" not in staff_page.text
    assert "/delete" not in staff_page.text  # no button staff cannot use
    # and the other way round: the staff's copy is never the owner's
    assert "€12.34" in clients["manager"].get("/products/SKU-001").text
    assert "€12.34" in owner.get("/products/SKU-001").text


def test_staff_json_has_no_costs_or_margins(accounts, clients):
    owner, staff = clients["owner"], clients["staff"]
    assert owner.get("/api/products/SKU-001").json["cost"] == "12.34"
    body = staff.get("/api/products/SKU-001").json
    assert "cost" not in body and body["price"] == "2.50"
    order = order_for(accounts, owner)
    with accounts.app_context():
        from webapp import refunds
        from webapp.models import Order

        line_id = db.session.get(Order, order["id"]).lines[0].id
        refunds.refund_order(order["id"], {"lines": [{"line_id": line_id, "quantity": 1}],
                                            "reason": "damaged"})
    assert "cost" in owner.get(f"/api/orders/{order['id']}").json["refunds"][0]["lines"][0]
    seen = staff.get(f"/api/orders/{order['id']}").json
    assert seen["refunds"] and "cost" not in seen["refunds"][0]["lines"][0]
    assert seen["total"] == order["total"]


def test_strip_costs_takes_every_cost_and_margin_key():
    report = {"totals": {"revenue_cents": 5, "cost_cents": 2, "margin_cents": 3},
              "margin_by_product": [{"sku": "A"}], "top": [{"sku": "A", "cost": "1"}]}
    assert permissions.strip_costs(report) == {"totals": {"revenue_cents": 5},
                                               "top": [{"sku": "A"}]}


def test_staff_see_todays_figures_only(accounts, clients):
    from webapp import day_close
    from webapp.settings import today_business_day

    staff, manager = clients["staff"], clients["manager"]
    today = today_business_day()
    with accounts.app_context():
        old, _ = day_close.close_day(today - timedelta(days=1))
        new, _ = day_close.close_day(today)
        old_number, new_number = old.number, new.number
    page = staff.get("/end-of-day")
    assert page.status_code == 200 and "X-report" in page.text
    assert f"/api/zreports/{new_number}.pdf" in page.text
    assert f"/api/zreports/{old_number}.pdf" not in page.text
    assert staff.get(f"/api/zreports/{new_number}.json").status_code == 200
    refused = staff.get(f"/api/zreports/{old_number}.csv")
    assert refused.status_code == 403 and "other days" in refused.json["error"]
    assert manager.get(f"/api/zreports/{old_number}.csv").status_code == 200
    assert f"/api/zreports/{old_number}.pdf" in manager.get("/end-of-day").text
    dashboard = staff.get("/")
    assert "Today" in dashboard.text and "This month" not in dashboard.text
    assert "Compared with before" not in dashboard.text
    assert "This month" in manager.get("/").text
    assert staff.get("/api/stats").status_code == 403
    assert staff.post("/api/reports", json={"from": str(today), "to": str(today),
                                            "format": "json"},
                      headers={"X-CSRFToken": csrf_from(staff, "/login")}).status_code == 403


def test_staff_follow_their_own_sales_not_others_jobs(accounts, clients):
    staff, owner = clients["staff"], clients["owner"]
    mine = order_for(accounts, staff)
    assert staff.get(mine["status_url"]).status_code == 200
    report = owner.post("/api/reports", json={"from": "2025-01-01", "to": "2025-01-31",
                                              "format": "json"},
                        headers={"X-CSRFToken": csrf_from(owner, "/login")})
    assert report.status_code == 202
    refused = staff.get(report.json["status_url"])
    assert refused.status_code == 403 and "Your account cannot" in refused.json["error"]
    assert clients["manager"].get(report.json["status_url"]).status_code == 200


def test_managers_have_everything_but_users_settings_and_backups(accounts, clients):
    manager = clients["manager"]
    for url in ("/users/", "/settings/", "/backups/"):
        refused = manager.get(url)
        assert refused.status_code == 403 and "Your account cannot" in refused.text, url
    for url in ("/tasks/", "/cache/", "/import/", "/reports/", "/schedules/", "/outbox/"):
        assert manager.get(url).status_code == 200, url
    token = csrf_from(manager, "/login")
    assert manager.delete("/api/products/SKU-005",
                          headers={"X-CSRFToken": token}).json["outcome"] == "deleted"


def test_refusals_over_real_http_are_a_page_or_json(accounts):
    import requests

    with http_session(accounts) as http:
        staff = requests.Session()
        login = staff.get(http.base + "/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)
        staff.post(http.base + "/login", data={"csrf_token": token, "username": "sam",
                                               "password": "correct horse"})
        page = staff.get(http.base + "/tasks/")
        assert page.status_code == 403 and page.headers["Content-Type"].startswith("text/html")
        assert "Your account cannot see background jobs." in page.text
        api = staff.delete(http.base + "/api/products/SKU-001",
                           headers={"X-CSRFToken": token})
        assert api.status_code == 403
        assert api.json() == {"error": "Your account cannot delete products."}
        assert http.get(http.base + "/api/products/SKU-001").status_code == 200


# ---- the Users page --------------------------------------------------------------------

def test_owner_adds_disables_and_resets_accounts_on_the_users_page(accounts, clients):
    owner = clients["owner"]
    page = owner.get("/users/")
    assert page.status_code == 200 and "sam" in page.text and "Manager" in page.text
    assert '<label for="new-username">' in page.text
    # The link is the owner's only (put in after the page cache, like Settings).
    assert 'href="/users/">Users</a>' in owner.get("/products/").text
    assert "/users/" not in clients["manager"].get("/products/").text
    token = csrf_from(owner, "/users/")
    assert owner.post("/users/", data={"username": "ann", "password": "long enough",
                                       "role": "manager"}).status_code == 400  # no CSRF
    added = owner.post("/users/", data={"csrf_token": token, "username": "ann",
                                        "password": "long enough", "role": "manager"},
                       follow_redirects=True)
    assert "Account ann added (manager)." in added.text
    assert sign_in(accounts, "ann", "long enough").get("/tasks/").status_code == 200
    bad = owner.post("/users/", data={"csrf_token": token, "username": "ann",
                                      "password": "long enough", "role": "staff"})
    assert bad.status_code == 400 and "already exists" in bad.text
    bad = owner.post("/users/", data={"csrf_token": token, "username": "bo",
                                      "password": "long enough", "role": "owner"})
    assert bad.status_code == 400 and "A role is staff or manager" in bad.text

    staff = clients["staff"]
    assert staff.get("/").status_code == 200
    done = owner.post("/users/sam/disable", data={"csrf_token": token},
                      follow_redirects=True)
    assert "Account sam disabled" in done.text
    assert staff.get("/").status_code == 302  # signed out everywhere
    again = accounts.test_client()
    refused = again.post("/login", data={"csrf_token": csrf_from(again, "/login"),
                                         "username": "sam", "password": "correct horse"})
    assert refused.status_code == 403 and "disabled" in refused.text
    owner.post("/users/sam/enable", data={"csrf_token": token})
    staff = sign_in(accounts, "sam")

    short = owner.post("/users/sam/reset", data={"csrf_token": token, "password": "short"})
    assert short.status_code == 400 and "8 characters" in short.text
    done = owner.post("/users/sam/reset", data={"csrf_token": token,
                                                "password": "new password"},
                      follow_redirects=True)
    assert "New password set for sam" in done.text
    assert staff.get("/").status_code == 302
    assert sign_in(accounts, "sam", "new password").get("/").status_code == 200
    assert owner.post("/users/nobody/disable",
                      data={"csrf_token": token}).status_code == 404


# ---- the command line ------------------------------------------------------------------

def test_user_commands(data_dir):
    from test_cli import larder, one_line_error

    assert larder(data_dir, "user", "add", "meg", "--role", "manager",
                  "--password", "long enough").returncode == 0
    added = larder(data_dir, "user", "add", "sam", "--password-stdin",
                   input="correct horse\n")
    assert added.returncode == 0 and "added staff sam" in added.stdout
    assert "'boss' is not one of" in one_line_error(
        larder(data_dir, "user", "add", "bo", "--role", "boss", "--password", "long enough"))
    assert "nothing was sent" in one_line_error(
        larder(data_dir, "user", "add", "bo", "--password-stdin", input=""))
    assert "no user 'nobody'" in one_line_error(larder(data_dir, "user", "disable", "nobody"))
    assert "no user 'owner'" in one_line_error(larder(data_dir, "user", "disable", "owner"))
    assert larder(data_dir, "user", "disable", "sam").returncode == 0
    listed = larder(data_dir, "user", "list").stdout.splitlines()
    assert [line.split("\t")[:3] for line in listed] == [
        ["meg", "manager", "active"], ["sam", "staff", "disabled"]]
    reset = larder(data_dir, "user", "reset", "meg", "--password-stdin", input="new secret\n")
    assert reset.returncode == 0 and "signed out everywhere" in reset.stdout
    assert "8 characters" in one_line_error(
        larder(data_dir, "user", "reset", "meg", "--password-stdin", input="short\n"))
    assert larder(data_dir, "user", "enable", "sam").returncode == 0

    from webapp import create_app

    app = create_app({"TESTING": True}, data_dir=data_dir)
    with app.app_context():
        users = {u.username: u for u in db.session.query(User)}
        assert users["meg"].check_password("new secret")
        assert users["meg"].session_generation == 1  # the reset signed meg out
        assert users["sam"].session_generation == 1 and not users["sam"].disabled
        db.engine.dispose()


def test_staff_are_not_shown_buttons_they_cannot_use(accounts, clients):
    """Refund, cancel, new product, merge customers, other days' figures: shown to managers,
    not to staff (whose requests would be refused), cached pages included."""
    from webapp import ordering

    with accounts.app_context():
        pending = ordering.create_order({"lines": [{"sku": "SKU-003", "quantity": 1}]}).id
    sold = order_for(accounts, clients["owner"])["id"]
    with accounts.app_context():
        customer = db.session.execute(db.select(db.func.min(Customer.id))).scalar()
    pages = {f"/orders/{sold}": "Refund these items", f"/orders/{pending}": "Cancel this order",
             "/products/": "New product",
             f"/customers/{customer}": "Merge a duplicate into this customer",
             "/": "This month"}
    for role in ("owner", "manager", "staff"):  # the owner first: cached pages in between
        for path, words in pages.items():
            page = clients[role].get(path)
            assert page.status_code == 200, (role, path)
            assert (words in page.text) == (role != "staff"), (role, path, words)
