"""Money as people read it: the shop's currency and locale (Babel), e.g. "€1,234.50" in
en_GB, "1.234,50 €" in de_DE. Pages, PDFs and emails use this; files for machines (CSV,
JSON, the API) use money.cents_to_str / cents_to_number, plain numbers without a symbol.
"""
from decimal import Decimal

from babel.numbers import format_currency

from . import settings


def format_money(cents, currency=None, locale=None):
    """Integer cents -> text in the shop's currency and locale (or the ones given)."""
    if cents is None:
        return ""
    return format_currency(Decimal(int(cents)) / 100, currency or settings.get("currency"),
                           locale=locale or settings.get("locale"))
