"""Money as people read it: the shop's currency and locale (Babel), e.g. "€1,234.50" in
en_GB, "1.234,50 €" in de_DE. Pages, PDFs and emails use this; files for machines (CSV,
JSON, the API) use money.cents_to_str / cents_to_number, plain numbers without a symbol.

A recorded order keeps the currency of its sale (Order.currency): pass it, so changing
the shop's currency never changes how an old order reads.
"""
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency

from . import settings


@lru_cache(maxsize=16)
def _locale(name):
    return Locale.parse(name)


def format_money(cents, currency=None, locale=None):
    """Integer cents -> text in the currency given (else the shop's) and the shop's locale
    (or the one given). None -> ""."""
    if cents is None:
        return ""
    return format_currency(Decimal(int(cents)) / 100, currency or settings.get("currency"),
                           locale=_locale(locale or settings.get("locale")))


def money_for_pdf(cents, currency=None):
    """format_money for the PDFs' built-in fonts, which lack the narrow no-break space
    some locales group digits with (fr_FR: "1 234,50 €")."""
    return format_money(cents, currency).replace("\u202f", "\u00a0")


def format_day(day, form="medium"):
    """A date in the shop's locale: "5 Mar 2025" (en_GB), "05.03.2025" (de_DE)."""
    return format_date(day, format=form, locale=_locale(settings.get("locale")))


def format_moment(moment, form="short"):
    """A naive shop-time datetime in the shop's locale: "05/03/2025, 14:30" (en_GB)."""
    return format_datetime(moment, format=form, locale=_locale(settings.get("locale")))
