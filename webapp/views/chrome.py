"""What every page gets after any page cache: the menu and this session's messages.

Pages are cached and shared between users (products, customers, dashboard...), so
nothing that depends on who is signed in may be stored in them. base.html leaves two
markers that are filled here for each response: <!--nav--> (the menu: which links this
user's role sees, the current page marked with aria-current) and <!--flash--> (the
messages of this session: "Product saved", shown once, cached page or not).
The banner for a stopped worker is filled in the same pass (<!--worker-banner-->,
webapp/background/status.py), so an HTML response's body is read and rewritten once.
"""
from flask import current_app, get_flashed_messages, render_template, request, url_for
from markupsafe import escape

from .. import permissions
from ..background import status as worker_status
from ..i18n import N_, language

NAV_MARKER = b"<!--nav-->"
FLASH_MARKER = b"<!--flash-->"
# (label, endpoint, the blueprints (or endpoints) that are "this page"). Who sees a link
# is not said here: a link shows when permissions.RULES lets this role open its endpoint,
# so the menu and the 403 can never disagree (one table of who may do what).
FRONT = [
    (N_("Dashboard"), "dashboard.index", ("dashboard",)),
    (N_("Sell"), "orders.create", ("orders.create",)),
    (N_("Orders"), "orders.index", ("orders",)),
    (N_("Products"), "products.index", ("products",)),
    (N_("Customers"), "customers.index", ("customers",)),
    (N_("Reports"), "reports.index", ("reports",)),
]
OFFICE = [
    (N_("Import"), "data_import.index", ("data_import",)),
    (N_("End of day"), "end_of_day.index", ("end_of_day",)),
    (N_("Backups"), "backups.index", ("backups",)),
    (N_("Settings"), "settings.index", ("settings",)),
    (N_("Users"), "users.index", ("users",)),
    (N_("System"), "system.index", ("system", "tasks", "outbox", "schedules", "cache_admin")),
    (N_("Account"), "auth.logout", ("auth.logout",)),
]


def _current(places):
    """Is this request on one of `places` (a blueprint, or an exact endpoint)? An exact
    endpoint wins over its blueprint: /orders/new is Sell, not Orders."""
    endpoint = request.endpoint or ""
    if endpoint in places:
        return True
    exact = {p for _, _, ps in FRONT + OFFICE for p in ps if "." in p}
    return endpoint not in exact and endpoint.split(".")[0] in places


def menu(who):
    def items(table):
        out = []
        for label, endpoint, places in table:
            if (not permissions.allowed(endpoint, who)
                    or endpoint not in current_app.view_functions):
                continue  # not this role's, or not in this build (a later page)
            out.append({"label": label, "url": url_for(endpoint), "current": _current(places),
                        "sep": endpoint == "auth.logout"})
        return out

    if who is None:
        return {"front": [], "office": [], "office_current": False}
    office = items(OFFICE)
    return {"front": items(FRONT), "office": office,
            "office_current": any(item["current"] for item in office)}


def flashes_html():
    messages = get_flashed_messages(with_categories=True)
    return "".join(
        f'<p class="flash{" error" if category == "error" else ""}" role="status">'
        f"{escape(message)}</p>" for category, message in messages)


def nav_html(app, who):
    """The menu for this role on this page. It depends on nothing else, so each one is
    rendered once per process and language (a cached page's hit then costs a dict lookup,
    not a template)."""
    made = app.extensions.setdefault("larder_nav", {})
    key = nav_key(who, request.endpoint, request.script_root, language())
    if key not in made:
        if len(made) > 1000:  # bounded: roles x endpoints is far less
            made.clear()
        made[key] = render_template("_nav.html", **menu(who)).encode()
    return made[key]


def nav_key(who, endpoint, script_root, lang):
    return (who, endpoint, script_root, lang)


def page_language(body):
    """The language a rendered page was made in, from its `<html lang="..">` (base.html):
    the fast path keys the menu by it without reading the shop's settings."""
    start = body.find(b'<html lang="', 0, 300)
    if start < 0:
        return None
    start += len(b'<html lang="')
    end = body.find(b'"', start, start + 20)
    return body[start:end].decode("ascii", "replace") if end > 0 else None


def known_nav(app, who, endpoint, script_root, lang):
    """The menu already rendered in this process in the page's language (the menu has
    words only: no money or dates), or None (webapp.fast_path then leaves the request to
    Flask, which renders it)."""
    return app.extensions.get("larder_nav", {}).get(nav_key(who, endpoint, script_root, lang))


def init_app(app):
    @app.after_request
    def fill_page(response):
        if response.mimetype != "text/html" or response.direct_passthrough:
            return response
        data = original = response.get_data()
        if NAV_MARKER in data:
            data = data.replace(NAV_MARKER, nav_html(app, permissions.role()))
        if FLASH_MARKER in data:
            data = data.replace(FLASH_MARKER, flashes_html().encode())
        if worker_status.MARKER in data:
            data = data.replace(worker_status.MARKER, worker_status.banner(app))
        if data is not original:
            response.set_data(data)
        return response
