"""Words in the shop's language (Flask-Babel; docs/interface.md, "Languages").

The language follows the shop's `locale` setting (webapp/settings.py), the same one that
formats money and dates: de_DE or de_AT read German, any other locale English (the
words as written in the code). One place for the strings: webapp/translations/, one
catalog per language (`make translations` extracts, updates and compiles them). The
compiled .mo files are committed, so running from source needs no build step and the
executable ships them as they are (app.spec datas); tests/test_translations.py fails when a
.mo is older than its .po or a string in the code is missing from the catalog.

In code: `_("Product %(sku)s saved.", sku=sku)` (named placeholders, so a translation may
move them); `N_("Sell")` marks a string kept in a module-level table, translated where it
is shown (`_(label)`). Outside a request (a worker task, a CLI command) the same calls
work in any app context.
"""
import re
from functools import lru_cache
from pathlib import Path

from flask_babel import (Babel, force_locale, get_locale, gettext, lazy_gettext, ngettext,
                         refresh)
from jinja2 import pass_context

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
babel = Babel()

__all__ = ["N_", "_", "force_locale", "gettext", "init_app", "language", "lazy_gettext",
           "ngettext", "refresh", "say_stored", "stored"]
_ = gettext


def N_(text):
    """Mark `text` for the catalog without translating it now (module-level tables)."""
    return text


def shop_locale():
    from . import settings  # here: settings' rules import this module's gettext

    return settings.get("locale")


def language():
    """The page's language code for <html lang>: "de", "en"..."""
    locale = get_locale()
    return locale.language if locale is not None else "en"


def init_app(app):
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    babel.init_app(app, locale_selector=shop_locale)
    app.jinja_env.globals["html_lang"] = language
    _register(app)


# Stored words that people read (an order's status, a payment method, a role): kept in
# English in the database and in files for machines, translated where they are shown
# (`|tr`). A payment method the shop named itself is shown as it was typed.
WORDS = frozenset((N_("pending"), N_("processing"), N_("processed"), N_("imported"), N_("failed"),
                   N_("cancelled"), N_("cash"), N_("card"), N_("voucher"),
                   N_("owner"), N_("manager"), N_("staff"),
                   N_("products"), N_("customers"), N_("orders")))


def translate(text):
    """`{{ text|tr }}`: a text made in Python (a label marked N_, a stored word) in the
    shop's language; one the catalog does not know is shown as it is. Unlike `_()` in a
    template it is not a format string, so a "%" in it needs no doubling."""
    return gettext(text) if isinstance(text, str) and text else text


def format_count(number):
    """A count with the locale's thousands separator: 12,345 (en_GB), 12.345 (de_DE)."""
    from babel.numbers import format_decimal

    return format_decimal(number, locale=shop_locale())


def weekday(iso_day):
    """"2025-03-14" -> the day's name in the shop's language: "Friday", "Freitag"."""
    from datetime import date

    from babel.dates import format_date

    return format_date(date.fromisoformat(str(iso_day)[:10]), "EEEE", locale=shop_locale())


# The words the pages' scripts (webapp/static/*.js) write themselves. base.html passes
# their translations as JSON in <html data-larder-words> (data, not a script: the pages
# hold none but their files); larder.js's larderT(text, {name: value}) looks a text up
# there and fills its %(name)s, English when absent.
JS_WORDS = (
    N_("Colours"), N_("Auto"), N_("Dark"), N_("Light"), N_("as the system"), N_("dark"),
    N_("light"), N_("Colours: %(theme)s (press to change)"),
    N_("waiting"), N_("running"), N_("done"), N_("failed"), N_("Download"),
    N_("The report could not be made."), N_("Larder could not be reached: try again."),
    N_("Larder did not answer as expected."), N_("Nothing to pay yet."),
    N_("The total cannot be worked out: check the marked fields."),
    N_("Larder did not answer: the total is not up to date."),
    N_("Quantity of %(name)s"), N_("Discount on %(name)s"), N_("Remove %(name)s"),
    N_("Added %(name)s"), N_("Removed %(name)s"), N_("out of stock"),
    N_("%(n)s products found"),
    N_("%(n)s products found: choose one with the arrow keys and Enter"),
    N_("No product matches “%(q)s”."),
    N_("Add at least one product before recording the sale."),
)


def js_words():
    """{English: this language's} for the scripts; empty in English (they fall back)."""
    if language() == "en":
        return {}  # English pages carry no word list
    return {text: gettext(text) for text in JS_WORDS if gettext(text) != text}


def _at_render_time(function):
    """A template filter Jinja must call at each render, not work out once when it
    compiles a template ("orders"|tr, 20000|count would be frozen in the first language)."""
    @pass_context
    def filter_(context, *args, **kwargs):
        return function(*args, **kwargs)
    return filter_


def _register(app):
    app.jinja_env.globals["js_words"] = js_words
    app.add_template_filter(_at_render_time(weekday), "weekday")
    app.add_template_filter(_at_render_time(translate), "tr")
    app.add_template_filter(_at_render_time(format_count), "count")
    app.add_template_filter(_at_render_time(say_stored), "stored")


# ---- sentences stored in English -----------------------------------------------------------
# What Larder writes into the database for people to read later (an order's reason, the
# activity list, a background job's failure) is stored as the English sentence of a msgid
# below with its values filled in, and translated when it is shown (`|stored`, say_stored):
# a plain sentence in the column for anything that reads it raw (an export, a backup
# opened by an older release, SQL), no schema change, and rows written by earlier
# releases, which hold the same sentences, are translated too. A sentence that matches
# none (typed by someone, or from a release with other words) is shown as it is.
# A product deleted, or archived when orders keep it (webapp.catalog.delete_product).
PRODUCT_GONE = {"deleted": N_("Deleted product %(sku)s"),
                "archived": N_("Archived product %(sku)s")}
STORED = (
    N_("cancelled"),
    N_("not enough stock: %(items)s"),
    N_("Order %(ref)s was not processed: %(reason)s"),
    N_("could not be processed: %(error)s"),  # outbox: given up after tries
    N_("Signed in"),
    N_("Recorded order %(ref)s"),
    N_("Cancelled order %(ref)s"),
    N_("Refunded %(amount)s of order %(ref)s"),
    N_("Added customer %(email)s"),
    N_("Edited customer %(name)s"),
    N_("Merged customer %(name)s into %(kept)s"),
    N_("Created product %(sku)s"),
    N_("Edited product %(sku)s"),
    N_("Restored product %(sku)s"),
    N_("Added the %(role)s account %(name)s"),
    N_("Disabled the account %(name)s"),
    N_("Enabled the account %(name)s"),
    N_("Set a new password for %(name)s"),
    N_("Made a backup: %(file)s"),
    N_("Restored the backup %(file)s"),
    N_("Changed the shop's settings"),
    N_("Started importing %(file)s (%(summary)s)"),
    N_("Loaded demo data (%(orders)s orders)"),
    N_("Requested %(job)s"),
    N_("Closed the day %(day)s (Z-report %(number)s)"),
    N_("Ran now: %(job)s"),
    *PRODUCT_GONE.values(),
    # The background jobs' titles (the System, Tasks, Import and Reports pages).
    N_("Process order %(ref)s"),
    N_("Order confirmation %(ref)s"),
    N_("Welcome %(email)s"),
    N_("Low stock: %(sku)s"),
    N_("Preview of %(file)s"),
    N_("Import of %(file)s"),
    N_("%(job)s (run now)"),
    N_("Sales report, %(period)s, %(format)s"),
    N_("Sales lines for the accountant, %(period)s, CSV"),
)
# A value that is itself a stored sentence (or a list of them, joined by "; ") is
# translated too: "not enough stock: A-1: 3 ordered, 1 in stock; B-2: ...".
STORED_PARTS = {"items": N_("%(sku)s: %(ordered)s ordered, %(stock)s in stock")}
_STORED_VALUES = ("reason", "job", "role")  # translated as a whole: a sentence or word
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def stored(msgid, **params):
    """The English sentence to store for `msgid` (one of STORED) with its values."""
    return msgid % params if params else msgid


def _pattern(msgid):
    parts = _PLACEHOLDER.split(msgid)  # text, name, text, name, ..., text
    return re.compile("".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)"
                              for i, part in enumerate(parts)) + r"\Z", re.S)


@lru_cache(maxsize=1)
def _patterns():
    # The longest fixed text first: "Restored the backup %(file)s" before a shorter
    # sentence that would also match.
    ordered = sorted(STORED, key=lambda m: -len(_PLACEHOLDER.sub("", m)))
    return ([(m, _pattern(m)) for m in ordered],
            {name: _pattern(m) for name, m in STORED_PARTS.items()})


def say_stored(text):
    """A stored English sentence in the shop's language (as it is when none matches)."""
    if not isinstance(text, str) or not text:
        return text
    sentences, parts = _patterns()
    for msgid, pattern in sentences:
        found = pattern.match(text)
        if found is None:
            continue
        values = found.groupdict()
        for name, value in values.items():
            if name in parts:
                values[name] = "; ".join(
                    _say_part(STORED_PARTS[name], parts[name], piece)
                    for piece in value.split("; "))
            elif name in _STORED_VALUES:
                values[name] = translate(value) if name == "role" else say_stored(value)
        return gettext(msgid, **values) if values else gettext(msgid)
    return gettext(text)  # a stored word or label of the catalog ("cancelled"), or as is


def _say_part(msgid, pattern, piece):
    found = pattern.match(piece)
    return gettext(msgid, **found.groupdict()) if found else piece
