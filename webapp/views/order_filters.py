"""The orders list's filters: read from the query string (so a dashboard figure can link
to the orders behind it), checked, and applied to a select.

    ?q=ann&from=2025-03-01&to=2025-03-31&status=sales&payment=card&hour=14&customer=7

Dates are business days (settings.day_starts_at), both included, as the dashboard and
reports count them. `status=sales` is every status that counts as a sale (pending,
processed, imported), what the dashboard's figures count.
"""
from datetime import date

from .. import settings, stats
from ..extensions import db
from ..i18n import N_, _
from ..models import Customer, Order
from .paging import search_pattern

STATUSES = {"sales": N_("Sales (not failed or cancelled)"), "pending": N_("Pending"),
            "processed": N_("Processed"), "imported": N_("Imported"), "failed": N_("Failed"),
            "cancelled": N_("Cancelled")}
FIRST_YEAR, LAST_YEAR = 1970, 2999  # far past any shop's data, inside every database's range
MAX_SEARCH, MAX_METHOD = 100, 40
FIELDS = ("q", "from", "to", "status", "payment", "hour", "customer")


class FilterError(ValueError):
    """{field: reason} for the list's form: shown next to the field, 400."""

    def __init__(self, errors):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _day(text):
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise ValueError(_("a date as YYYY-MM-DD, like 2025-03-31"))
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(_("a date from %(first)s to %(last)s", first=FIRST_YEAR, last=LAST_YEAR))
    return day


def _whole(text, low, high, what):
    if not (text.isascii() and text.isdigit() and len(text) <= 10 and low <= int(text) <= high):
        raise ValueError(what)
    return int(text)


def read(args):
    """The filters from request.args: {name: value} with only the given ones (text as
    given, for the form and links) and the parsed values; FilterError when any is bad."""
    given = {name: args.get(name, "").strip() for name in FIELDS}
    given = {name: value for name, value in given.items() if value}
    parsed, errors = {}, {}
    checks = {
        "from": _day, "to": _day,
        "hour": lambda t: _whole(t, 0, 23, _("an hour from 0 to 23")),
        "customer": lambda t: _whole(t, 1, 2**31 - 1, _("a customer number")),
    }
    for name, value in given.items():
        try:
            if name in checks:
                parsed[name] = checks[name](value)
            elif name == "status":
                if value not in STATUSES:
                    raise ValueError(_("one of: %(known)s", known=", ".join(STATUSES)))
                parsed[name] = value
            elif name in ("q", "payment"):
                longest = MAX_SEARCH if name == "q" else MAX_METHOD
                if len(value) > longest:
                    raise ValueError(_("at most %(max)s characters", max=longest))
                if not value.isprintable():  # a NUL would reach PostgreSQL as a 500
                    raise ValueError(_("letters, digits and signs only (no control characters)"))
                parsed[name] = value
        except ValueError as exc:
            errors[name] = str(exc)
    if "from" in parsed and "to" in parsed and parsed["from"] > parsed["to"]:
        errors["to"] = _("on or after the first day")
    if errors:
        raise FilterError(errors)
    return given, parsed


def for_role(f):
    """The filters as the signed-in role may use them: staff see today's business day
    and later only (permissions.first_day_seen), so their list starts today whatever
    it is given, and a `from` or `to` before today is refused (403, in plain words)."""
    from flask import abort

    from ..permissions import OTHER_DAYS, first_day_seen

    first = first_day_seen()
    if first is None:
        return f
    if any(f.get(name, first) < first for name in ("from", "to")):
        abort(403, OTHER_DAYS)
    return {**f, "from": max(f.get("from", first), first)}


def apply(select, f):
    """The orders `f` (read()'s parsed values) asks for."""
    if "from" in f:
        select = select.where(Order.created_at >= settings.business_day_span(f["from"])[0])
    if "to" in f:
        select = select.where(Order.created_at < settings.business_day_span(f["to"])[1])
    if "hour" in f:
        select = select.where(stats.hour_of(Order.created_at) == f["hour"])
    if "status" in f:
        wanted = stats.COUNTED if f["status"] == "sales" else (f["status"],)
        select = select.where(Order.status.in_(wanted))
    if "payment" in f:
        select = select.where(Order.payment_method == f["payment"])
    if "customer" in f:
        select = select.where(Order.customer_id == f["customer"])
    if "q" in f:
        pattern = search_pattern(f["q"])
        matching = db.select(Customer.id).where(
            Customer.name.ilike(pattern, escape="\\") | Customer.email.ilike(pattern, escape="\\"))
        select = select.where(Order.ref.ilike(pattern, escape="\\")
                              | Order.customer_id.in_(matching))
    return select


def payment_choices(chosen=""):
    """The shop's payment methods, and the one asked for when it is another (an old or
    imported order's)."""
    methods = list(settings.get("payment_methods"))
    if chosen and chosen not in methods:
        methods.append(chosen)
    return methods
