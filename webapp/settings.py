"""The shop's settings: one typed table (`settings`, datasette's pattern), names, types and
defaults here.

    settings.get("currency")          -> "EUR"
    settings.business_day_span(day)   -> (since, until) naive shop-time datetimes
    settings.business_day_of(moment)  -> the date a sale at `moment` counts on

Times in the database are naive shop time (models.py). A business day starts at
`day_starts_at`: with 02:00, a sale at 01:30 on the 2nd counts on the 1st.
"""
from dataclasses import dataclass
from datetime import datetime, time, timedelta
import json


@dataclass(frozen=True)
class Definition:
    name: str
    kind: type          # str, bool, int or list
    default: object
    label: str          # what the Settings page calls it


DEFINITIONS = {d.name: d for d in (
    Definition("shop_name", str, "", "Shop name"),
    Definition("shop_address", str, "", "Address"),
    Definition("shop_tax_number", str, "", "Tax number"),
    Definition("currency", str, "EUR", "Currency"),
    Definition("locale", str, "en_GB", "Number and date format"),
    Definition("timezone", str, "", "Time zone"),  # "": the computer's
    Definition("prices_include_tax", bool, True, "Prices include tax"),
    Definition("default_tax_rate_bp", int, 2000, "Default tax rate"),
    Definition("day_starts_at", str, "00:00", "The business day starts at"),
    Definition("payment_methods", list, ["cash", "card"], "Payment methods"),
    Definition("auto_close_day", bool, False, "Close yesterday automatically"),
    Definition("low_stock_digest", bool, False, "Low-stock alerts as one daily email"),
)}


def get(name):
    """The setting's value: the database's, else the default. Read once per request
    (a page shows many amounts; each needs the currency and locale)."""
    definition = DEFINITIONS[name]
    values = _stored()
    return json.loads(values[name]) if name in values else definition.default


def _stored():
    from flask import g, has_request_context

    from .extensions import db
    from .models import Setting

    if has_request_context() and "larder_settings" in g:
        return g.larder_settings
    values = dict(db.session.execute(db.select(Setting.key, Setting.value)).all())
    if has_request_context():
        g.larder_settings = values
    return values


def day_start():
    hours, minutes = (int(part) for part in get("day_starts_at").split(":"))
    return time(hours, minutes)


def business_day_span(day):
    """(since, until) of business day `day`: since <= created_at < until."""
    start = datetime.combine(day, day_start())
    return start, datetime.combine(day + timedelta(days=1), day_start())


def business_day_of(moment):
    """The business day a sale at `moment` (naive shop time) counts on."""
    start = day_start()
    return moment.date() if moment.time() >= start else moment.date() - timedelta(days=1)


def today_business_day(now=None):
    from .models import now as shop_now

    return business_day_of(now or shop_now())
