"""Who may do what: one rule per endpoint, in one table (RULES), checked before every
request (webapp.auth) and answered with 403 through the one error handler.

Roles (docs/users.md):
- owner: everything (the launch token is the owner);
- manager: everything but users, settings, backups and restore;
- staff: sell, look up products and customers, today's X-report; no costs or margins,
  no deleting, cancelling or refunding, no import, no reports over other days, no
  system pages (tasks, outbox, schedules, cache).

A route without a rule is refused for everyone but the owner, and tests/test_roles.py
fails: every new endpoint must be given its rule here.

Beyond the table, two things depend on the role, not on the endpoint:
- costs and margins (`sees_costs`): left out of pages (templates test `sees_costs`),
  and taken out of every JSON body for roles that may not see them (`strip_costs`);
- other days (`sees_other_days`): staff get today's figures only, and today's orders
  only (`first_day_seen`): the orders list, an order's page, receipt, invoice and
  GET /api/orders/<id> (docs/users.md).
"""
from .i18n import N_, _
from flask import g, request

ROLES = ("owner", "manager", "staff")
ROLE_NAMES = {"owner": N_("Owner"), "manager": N_("Manager"), "staff": N_("Staff")}
ALL = frozenset(ROLES)
MANAGERS = frozenset({"owner", "manager"})
OWNER = frozenset({"owner"})
PUBLIC = "public"  # no sign-in needed


def rule(roles, cannot=""):
    """roles: who may; cannot: what the others are told they cannot do ("delete
    products" -> "Your account cannot delete products.")."""
    return (roles, cannot)


RULES = {
    # Open to anyone: the health check, static files, the sign-in page.
    "health": PUBLIC,
    "static": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": rule(ALL),
    "dashboard.index": rule(ALL),
    # Products: everyone looks up; managers change.
    "products.index": rule(ALL),
    "products.detail": rule(ALL),
    "api.get_product": rule(ALL),
    "products.create": rule(MANAGERS, N_("add products")),
    "api.create_product": rule(MANAGERS, N_("add products")),
    "products.edit": rule(MANAGERS, N_("change products")),
    "api.patch_product": rule(MANAGERS, N_("change products")),
    "products.delete": rule(MANAGERS, N_("delete products")),
    "api.delete_product": rule(MANAGERS, N_("delete products")),
    "products.restore": rule(MANAGERS, N_("restore archived products")),
    "api.restore_product": rule(MANAGERS, N_("restore archived products")),
    # Customers: everyone looks up and adds one at the till.
    "customers.index": rule(ALL),
    "customers.create": rule(ALL),
    "api.create_customer": rule(ALL),
    "customers.detail": rule(ALL),
    "customers.edit": rule(ALL),
    "customers.merge": rule(MANAGERS, N_("merge customers")),
    # Selling: everyone; cancelling and refunding: managers.
    "orders.index": rule(ALL),
    "orders.detail": rule(ALL),
    "orders.create": rule(ALL),
    "api.create_order": rule(ALL),
    "api.get_order": rule(ALL),
    # The order desk (/orders/new) and what a sale prints.
    "desk.price": rule(ALL),
    "desk.find_products": rule(ALL),
    "desk.find_customers": rule(ALL),
    "orders.receipt": rule(ALL),
    "orders.invoice": rule(ALL),
    "orders.refund": rule(MANAGERS, N_("refund orders")),
    "api.refund_order": rule(MANAGERS, N_("refund orders")),
    "orders.cancel": rule(MANAGERS, N_("cancel orders")),
    "api.cancel_order": rule(MANAGERS, N_("cancel orders")),
    # A sale's progress is polled by whoever recorded it (staff: their own jobs only).
    "tasks.task_status": rule(ALL),
    # Figures: the shop's totals and reports cover other days.
    "api.stats_view": rule(MANAGERS, N_("see the shop's figures over other days")),
    "reports.index": rule(MANAGERS, N_("see or make sales reports")),
    "reports.api_create": rule(MANAGERS, N_("make sales reports")),
    "reports.download": rule(MANAGERS, N_("download sales reports")),
    # End of day: everyone sees today's X-report (and today's Z-report); managers close.
    "end_of_day.index": rule(ALL),
    "end_of_day.download": rule(ALL),
    "end_of_day.close": rule(MANAGERS, N_("close the day")),
    "end_of_day.api_close": rule(MANAGERS, N_("close the day")),
    # Import and demo data.
    "data_import.index": rule(MANAGERS, N_("import files")),
    "data_import.show": rule(MANAGERS, N_("see imports")),
    "data_import.confirm": rule(MANAGERS, N_("import files")),
    "data_import.cancel": rule(MANAGERS, N_("cancel imports")),
    "data_import.demo": rule(MANAGERS, N_("load demo data")),
    # System pages.
    "system.index": rule(MANAGERS, N_("see the System page")),
    "tasks.index": rule(MANAGERS, N_("see background jobs")),
    "outbox.index": rule(MANAGERS, N_("see the outbox")),
    "outbox.show": rule(MANAGERS, N_("see the outbox")),
    "schedules.index": rule(MANAGERS, N_("see schedules")),
    "schedules.run_now": rule(MANAGERS, N_("run scheduled jobs")),
    "cache_admin.index": rule(MANAGERS, N_("see the saved copies of pages")),
    "cache_admin.clear": rule(MANAGERS, N_("clear the saved copies of pages")),
    # The owner's own.
    "settings.index": rule(OWNER, N_("see or change the shop's settings")),
    "backups.index": rule(OWNER, N_("see backups")),
    "backups.make": rule(OWNER, N_("make backups")),
    "backups.download": rule(OWNER, N_("download backups")),
    "backups.restore": rule(OWNER, N_("restore backups")),
    "users.index": rule(OWNER, N_("manage user accounts")),
    "users.create": rule(OWNER, N_("add user accounts")),
    "users.disable": rule(OWNER, N_("disable user accounts")),
    "users.enable": rule(OWNER, N_("enable user accounts")),
    "users.reset": rule(OWNER, N_("reset passwords")),
}


def allowed(endpoint, role):
    """True when `role` may use `endpoint` (a missing rule: the owner only)."""
    found = RULES.get(endpoint)
    if found == PUBLIC:
        return True
    roles = found[0] if found else OWNER
    return role in roles


def refusal(endpoint):
    """The sentence a refused user reads."""
    found = RULES.get(endpoint)
    what = found[1] if found and found != PUBLIC and found[1] else N_("open this page")
    return _("Your account cannot %(what)s.", what=_(what))


def role():
    """The signed-in role (set by webapp.auth), None before sign-in."""
    return g.get("role")


def can(endpoint):
    """For templates: show a link or button only to those who may use it."""
    return allowed(endpoint, role())


def sees_costs(role_name=None):
    return (role_name or role()) in MANAGERS


def sees_other_days(role_name=None):
    return (role_name or role()) in MANAGERS


OTHER_DAYS = ("Your account can see today's orders only: ask a manager for the orders "
              "of other days.")


def first_day_seen(role_name=None):
    """The first business day whose orders this role sees: None (every day) for those
    who see other days; today's business day for staff (and later ones: a sale recorded
    into the next open day when today is closed)."""
    if sees_other_days(role_name):
        return None
    from .settings import today_business_day

    return today_business_day()


def check_order_day(created_at):
    """403 (OTHER_DAYS) when the signed-in role may not see an order made at
    `created_at`: one order of another day is a report over that day too."""
    from flask import abort

    from .settings import business_day_of

    first = first_day_seen()
    if first is not None and business_day_of(created_at) < first:
        abort(403, OTHER_DAYS)


COST_KEYS = ("cost", "margin")


def strip_costs(value):
    """value without any key naming a cost or a margin ("cost", "cost_cents",
    "margin_pct", "margin_by_product"...), at any depth."""
    if isinstance(value, dict):
        return {k: strip_costs(v) for k, v in value.items()
                if not (isinstance(k, str) and k.lower().startswith(COST_KEYS))}
    if isinstance(value, list):
        return [strip_costs(v) for v in value]
    return value


def check():
    """Abort with 403 when the signed-in role may not use this request's endpoint."""
    from flask import abort

    endpoint = request.endpoint
    if endpoint is None or allowed(endpoint, role()):
        return  # no endpoint: the 404 says it
    abort(403, refusal(endpoint))


def init_app(app):
    import json

    @app.after_request
    def no_costs_in_json(response):
        """Every JSON body, cached ones included, loses its costs and margins for the
        roles that may not see them: one place, whatever the view."""
        if (response.mimetype != "application/json" or response.direct_passthrough
                or role() is None or sees_costs()):
            return response
        body = response.get_data()
        try:
            data = json.loads(body)
        except ValueError:
            return response
        stripped = strip_costs(data)
        if stripped != data:
            response.set_data(json.dumps(stripped, separators=(",", ":")))
        return response

    @app.context_processor
    def inject_permissions():
        return {"can": can, "sees_costs": sees_costs(),
                "sees_other_days": sees_other_days()}
