"""The shop's settings: one typed table (`settings`, datasette's pattern), names, rules and
defaults here (docs/settings.md).

    settings.get("currency")          -> "EUR"
    settings.business_day_span(day)   -> (since, until) naive shop-time datetimes
    settings.business_day_of(moment)  -> the date a sale at `moment` counts on

Where a value comes from, last wins: the default, the Settings page (the `settings`
table), `larder.toml`'s `[shop]` table, the environment (`LARDER_CURRENCY`, ...). A value
set in the file or the environment is read once at start (webapp.config) and shown
read-only on the page. Every value, from wherever, passes the same rules (`parse`).

Reads are cheap: the values are taken once per request (or worker task, or CLI command:
once per app context) and kept in `g`. The table itself is read again only when the
"settings" version in the shared cache has moved: every commit that writes a settings row,
in any process (the page, the CLI, a restore, a script through the models), bumps it, so
a change made in one process is seen by every other at its next request, without a query
on every request (webapp/settings_rows.py).

Times in the database are naive shop time (models.now): the `timezone` setting's wall
clock, or the computer's when it is empty. A business day starts at `day_starts_at`: with
02:00, a sale at 01:30 on the 2nd counts on the 1st.
"""
import json
import os
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from babel import Locale, UnknownLocaleError
from babel.numbers import get_territory_currencies, is_currency

from . import settings_rows  # also registers the listeners that move its version
from .i18n import N_, _
from .validation import ValidationError, parse_rate
from .validation import _text as text_rule

FALLBACK_CURRENCY = "EUR"
FALLBACK_LOCALE = "en_GB"
MAX_METHODS, MAX_METHOD_LEN = 20, 40  # the payment methods' hint says 20
FILE, ENVIRONMENT = "larder.toml", N_("the environment")  # translated where shown


# ---- the rules: human value (form text, TOML value, environment text) -> stored value ----

def _text(max_len):
    return text_rule(max_len, required=False)  # the forms' and the API's text rule


def _currency(value):
    code = str(value or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code) or not is_currency(code):
        raise ValueError(_("a currency code (ISO 4217), like EUR, GBP or USD"))
    return code


def _locale(value):
    text = str(value or "").strip().replace("-", "_")
    try:
        return str(Locale.parse(text))
    except (UnknownLocaleError, ValueError, TypeError):
        raise ValueError(_("a language and country, like en_GB, de_DE or fr_FR")) from None


@lru_cache(maxsize=1)
def _zone_names():
    return frozenset(available_timezones())


def _timezone(value):
    name = str(value or "").strip()
    if name and name not in _zone_names():
        raise ValueError(_("a time zone name like Europe/Paris, or empty for the computer's"))
    return name


TRUE, FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0", "")


def _bool(value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE or text in FALSE:
        return text in TRUE
    raise ValueError(_("yes or no (true or false)"))


def _rate(value):
    return parse_rate("" if value is None else value)


def _clock(value):
    if isinstance(value, time):  # larder.toml's bare 02:00:00
        value = f"{value:%H:%M}" if not value.second else str(value)
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", str(value or "").strip())
    if not match:
        raise ValueError(_("a time of day as HH:MM, from 00:00 to 23:59"))
    return f"{int(match[1]):02d}:{match[2]}"


def _methods(value):
    """A list, or text with one name a line (or separated by commas)."""
    items = value if isinstance(value, (list, tuple)) else re.split(r"[,\n]", str(value or ""))
    names = [str(item).strip() for item in items if str(item).strip()]
    if not names:
        raise ValueError(_("at least one payment method"))
    if len(names) > MAX_METHODS:
        raise ValueError(_("at most %(max)s payment methods", max=MAX_METHODS))
    for name in names:
        if len(name) > MAX_METHOD_LEN:
            raise ValueError(_("each name at most %(max)s characters (%(name)s…)",
                               max=MAX_METHOD_LEN, name=name[:20]))
    seen = set()
    for name in names:
        if name.casefold() in seen:
            raise ValueError(_("%(name)s is listed twice", name=name))
        seen.add(name.casefold())
    return names


# ---- defaults taken from the computer ----------------------------------------------------

def system_locale(category="LC_NUMERIC", environ=None):
    """The computer's locale for money or numbers, read as POSIX does (LC_ALL, then
    LC_MONETARY / LC_NUMERIC, then LANG), or None: unset, "C"/"POSIX", or unknown to Babel."""
    environ = os.environ if environ is None else environ
    value = next((environ[name] for name in ("LC_ALL", category, "LANG")
                  if environ.get(name)), "")
    name = value.split(".")[0].split("@")[0]  # de_DE.UTF-8@euro -> de_DE
    if not name or name in ("C", "POSIX"):
        return None
    try:
        return Locale.parse(name)
    except (UnknownLocaleError, ValueError, TypeError):
        return None


def default_currency():
    """The currency of the country the computer's locale names (de_DE: EUR, en_US: USD),
    else EUR."""
    found = system_locale("LC_MONETARY")
    if found is not None and found.territory:
        currencies = get_territory_currencies(found.territory, date.today())
        if currencies:
            return currencies[0]
    return FALLBACK_CURRENCY


def default_locale():
    found = system_locale("LC_NUMERIC")
    return str(found) if found is not None and found.territory else FALLBACK_LOCALE


@dataclass(frozen=True)
class Definition:
    name: str           # stored under this key; get(name)
    kind: type          # str, bool, int or list
    default: object     # a value, or a function that makes it
    label: str          # what the Settings page calls it (N_: translated there)
    parse: object       # human value -> stored value; ValueError(reason)
    hint: str = ""

    @property
    def public(self):
        """The name in the form, larder.toml and the environment: rates as percents."""
        return self.name.removesuffix("_bp")

    @property
    def env(self):
        return "LARDER_" + self.public.upper()

    def default_value(self):
        return self.default() if callable(self.default) else self.default

    def as_text(self, value):
        """The value as the form shows it."""
        if self.name == "default_tax_rate_bp":
            return f"{value / 100:g}" if isinstance(value, int) else str(value)
        if isinstance(value, (list, tuple)):
            return "\n".join(value)
        return "" if value is None else str(value)


DEFINITIONS = {d.name: d for d in (
    Definition("shop_name", str, "", N_("Shop name"), _text(200),
               N_("printed on invoices and Z-reports")),
    Definition("shop_address", str, "", N_("Address"), _text(500)),
    Definition("shop_tax_number", str, "", N_("Tax number"), _text(50),
               N_("e.g. your VAT number")),
    Definition("currency", str, default_currency, N_("Currency"), _currency,
               N_("three letters, like EUR, GBP or USD")),
    Definition("locale", str, default_locale, N_("Language, number and date format"), _locale,
               N_("language and country, like en_GB, de_DE or fr_FR; the pages are in German for "
                  "de_*, in English otherwise")),
    Definition("timezone", str, "", N_("Time zone"), _timezone,
               N_("like Europe/Paris; empty: the computer's")),
    Definition("prices_include_tax", bool, True, N_("Prices include tax"), _bool),
    Definition("default_tax_rate_bp", int, 2000, N_("Default tax rate (%)"), _rate,
               N_("for products without their own rate, like 20 or 5.5")),
    Definition("day_starts_at", str, "00:00", N_("The business day starts at"), _clock,
               N_("HH:MM; 02:00 counts a sale at 01:30 in the day before")),
    Definition("payment_methods", list, ["cash", "card"], N_("Payment methods"), _methods,
               N_("one a line, 1 to 20")),
    Definition("auto_close_day", bool, False, N_("Close yesterday automatically"), _bool),
    Definition("low_stock_digest", bool, False, N_("Low-stock alerts as one daily email"), _bool),
)}
BY_PUBLIC = {d.public: d for d in DEFINITIONS.values()}


def validate(data, names=None):
    """{public name: human value} -> {name: stored value}; ValidationError({public name:
    reason}) naming every bad field. `names`: the public names expected (others refused);
    a missing bool is False (an unticked checkbox sends nothing)."""
    names = list(BY_PUBLIC) if names is None else list(names)
    errors, values = {}, {}
    unknown = sorted(set(data) - set(names) - {"csrf_token", "confirm"})
    if unknown:
        errors["fields"] = "unknown: " + ", ".join(unknown)
    for public in names:
        definition = BY_PUBLIC[public]
        raw = data.get(public, False if definition.kind is bool else "")
        try:
            values[definition.name] = definition.parse(raw)
        except ValueError as exc:
            errors[public] = str(exc)
    if errors:
        raise ValidationError(errors)
    return values


def read_overrides(table, environ=None):
    """The settings given by larder.toml's [shop] table and by LARDER_* environment
    variables (an empty variable counts as unset): {name: (value, where)}; a bad value is
    a SettingError naming it, in one line."""
    from .config import SettingError

    environ = os.environ if environ is None else environ
    if not isinstance(table, dict):
        raise SettingError(f"{FILE}: [shop] must be a table of settings")
    found = {}
    for key, raw in table.items():
        definition = BY_PUBLIC.get(key)
        if definition is None:
            raise SettingError(f"{FILE}: [shop] {key}: no such setting (known: "
                               f"{', '.join(BY_PUBLIC)})")
        try:
            found[definition.name] = (definition.parse(raw), FILE)
        except ValueError as exc:
            raise SettingError(f"{FILE}: [shop] {key} = {raw!r}: {exc}") from None
    for definition in DEFINITIONS.values():
        raw = environ.get(definition.env)
        if raw:
            try:
                found[definition.name] = (definition.parse(raw), ENVIRONMENT)
            except ValueError as exc:
                raise SettingError(f"{definition.env}={raw!r}: {exc}") from None
    return found


# ---- reading ---------------------------------------------------------------------------

def overrides():
    """{name: (value, where)} set in larder.toml or the environment for this app."""
    from flask import current_app, has_app_context

    return current_app.config.get("LARDER_SHOP_OVERRIDES", {}) if has_app_context() else {}


def stored():
    """{name: value} kept by the Settings page (the database)."""
    return {key: json.loads(value) for key, value in settings_rows.rows() if key in DEFINITIONS}


_LOCALE_VARIABLES = ("LC_ALL", "LC_MONETARY", "LC_NUMERIC", "LANG")
_made_defaults = {}


def _defaults():
    """Every setting's default: made once per process and locale environment (the
    currency's default asks Babel about the computer's country: ~tens of µs a request)."""
    environment = tuple(os.environ.get(name) for name in _LOCALE_VARIABLES)
    made = _made_defaults.get(environment)
    if made is None:
        made = {name: d.default_value() for name, d in DEFINITIONS.items()}
        if len(_made_defaults) > 16:
            _made_defaults.clear()
        _made_defaults[environment] = made
    return dict(made)


def current():
    """Every setting's value in force, read once per app context (request, task, command)."""
    from flask import g, has_app_context

    if not has_app_context():  # no database at hand: the defaults
        return _defaults()
    if "larder_settings" not in g:
        values = _defaults()
        values.update(stored())
        values.update({name: value for name, (value, _) in overrides().items()})
        g.larder_settings = values
    return g.larder_settings


def get(name):
    """The setting's value: larder.toml/environment, else the page's, else the default."""
    if name not in DEFINITIONS:
        raise KeyError(name)
    return current()[name]


def save(values):
    """Store {name: value} (validated already) from the Settings page; the change shows
    at once, in this process and, from their next request, in every other."""
    from flask import g

    from . import caching
    from .extensions import db
    from .models import Setting, now

    for name, value in values.items():
        if name in overrides():
            continue  # the file or the environment wins: nothing to store
        row = db.session.get(Setting, name)
        text = json.dumps(value)
        if row is None:
            db.session.add(Setting(key=name, value=text, updated_at=now()))
        elif row.value != text:
            row.value, row.updated_at = text, now()
    if "day_starts_at" in values:
        from . import daily_figures

        db.session.flush()  # the new start is read from here on (_forget_when_written)
        if not daily_figures.current(db.session.connection()):
            daily_figures.rebuild()  # every day's figures move: summed again, same commit
    db.session.commit()
    g.pop("larder_settings", None)
    caching.settings_changed()


# ---- shop time and business days ------------------------------------------------------

@lru_cache(maxsize=8)
def _zone(name):
    return ZoneInfo(name)


def shop_zone():
    """The shop's time zone, or None for the computer's."""
    name = get("timezone")
    return _zone(name) if name else None


def shop_now():
    """The shop's wall clock now, naive (as the database keeps times)."""
    zone = shop_zone()
    moment = datetime.now(zone).replace(tzinfo=None) if zone else datetime.now()
    return moment.replace(microsecond=0)


def to_shop_time(moment):
    """A naive moment is shop time already; an aware one is converted to it."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(shop_zone()).replace(tzinfo=None)


def day_start():
    hours, minutes = (int(part) for part in get("day_starts_at").split(":"))
    return time(hours, minutes)


def business_day_span(day):
    """(since, until) of business day `day`: since <= created_at < until, in naive shop
    time (across a daylight-saving change the span is 23 or 25 real hours)."""
    start = day_start()
    return datetime.combine(day, start), datetime.combine(day + timedelta(days=1), start)


def business_day_of(moment):
    """The business day a sale at `moment` counts on (naive: shop time; aware: converted)."""
    moment = to_shop_time(moment)
    start = day_start()
    return moment.date() if moment.time() >= start else moment.date() - timedelta(days=1)


def today_business_day(now=None):
    return business_day_of(now or shop_now())
