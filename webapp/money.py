"""Exact money: integer cents in storage, "12.34" strings at the edges, never float.

Bounds: every number a user can enter has a limit a shop never reaches, so that no sum
Larder makes can overflow a 64-bit integer (SQLite's, PostgreSQL's bigint sums), and
every stored value fits a 32-bit Integer column (PostgreSQL):

- a price (product or order line) at most 1,000,000.00 (MAX_PRICE_CENTS);
- stock from 0 to 1,000,000 (MAX_STOCK);
- a quantity from 1 to 100,000 per order line (MAX_QUANTITY), at most 500 lines per
  order (MAX_LINES), and an order's total at most 10,000,000.00 (MAX_ORDER_CENTS).

The arithmetic: revenue sums order totals, and order ids are 32-bit on PostgreSQL, so a
lifetime's revenue is below 2**31 orders x 10**9 cents = 2.1e18 < 2**63 (9.2e18). On
SQLite (64-bit ids) the same bound holds up to 9.2 billion orders: 250,000 orders a day
for 100 years. Revenue by product sums line values, which are parts of order totals;
quantity sums stay below 500 x 2**31 lines x 100,000 = 1.1e17.

The parsers' messages are in the shop's language (webapp.i18n; English outside an app
context): they reach the forms, the API and the CSV import through webapp/validation.py.
"""
from decimal import Context, Decimal, InvalidOperation
import re

from .i18n import gettext

MAX_PRICE_CENTS = 100_000_000        # 1,000,000.00
MAX_STOCK = 1_000_000
MAX_QUANTITY = 100_000               # per order line
MAX_LINES = 500                      # per order
MAX_ORDER_CENTS = 1_000_000_000      # 10,000,000.00 per order
LIFETIME_ORDERS = 2**31 - 1          # order ids are 32-bit on PostgreSQL
# The bounds above must keep every sum below SQLite's (and bigint's) 2**63 - 1.
assert LIFETIME_ORDERS * MAX_ORDER_CENTS < 2**63
assert LIFETIME_ORDERS * MAX_LINES * MAX_QUANTITY < 2**63
assert MAX_ORDER_CENTS < 2**31 and MAX_PRICE_CENTS < 2**31 and MAX_STOCK < 2**31

_WHOLE = re.compile(r"[+-]?\d+(\.0*)?")  # "3.0" too: spreadsheets write whole numbers so
# Plenty of digits for any price, and no exponent can overflow or trap.
_CONTEXT = Context(prec=60, Emax=100, Emin=-100, traps=[InvalidOperation])


class NumberError(ValueError):
    """A number a user gave is not acceptable; the message says why, in plain words."""


class MoneyError(NumberError):
    pass


def parse_money(text, limit=MAX_PRICE_CENTS):
    """'12.5' -> 1250. Rejects negatives, more than two decimals, non-numbers and amounts
    above `limit` cents."""
    text = str(text).strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise MoneyError(gettext("not a number: %(text)r", text=text)) from None
    if not value.is_finite():
        raise MoneyError(gettext("not a number: %(text)r", text=text))
    if value < 0:
        raise MoneyError(gettext("must not be negative"))
    # Compared before any arithmetic: "1e999999999" must be "too large", not a crash.
    if value > Decimal(limit) / 100:
        raise MoneyError(gettext("too large: at most %(limit)s",
                                 limit=locale_number(limit, cents=True)))
    if value.compare(value.quantize(Decimal("0.01"), context=_CONTEXT)) != 0:
        raise MoneyError(gettext("at most two decimals"))
    return int(value.scaleb(2, context=_CONTEXT))


def parse_whole(value, low, high):
    """A whole number from low to high inclusive, from an int or text ("3", "3.0").
    Raises NumberError with the reason."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise NumberError(gettext("not a whole number: %(value)r", value=value))
    if isinstance(value, str):
        text = value.strip()
        if not _WHOLE.fullmatch(text):
            raise NumberError(gettext("not a whole number: %(value)r", value=value))
        whole = text.split(".")[0]
        if len(whole.lstrip("+-").lstrip("0")) > 18:  # no int() of a million digits
            whole = whole[0] + "1" + "0" * 18 if whole[0] in "+-" else "1" + "0" * 18
        value = int(whole)
    if value < low:
        raise NumberError(gettext("must not be negative: %(value)s", value=value)
                          if low == 0 else
                          gettext("must be at least %(low)s, not %(value)s",
                                  low=locale_number(low), value=value))
    if value > high:
        raise NumberError(gettext("too large: at most %(limit)s", limit=locale_number(high)))
    return value


def cents_to_str(cents):
    sign = "-" if cents < 0 else ""
    cents = abs(int(cents))
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def locale_number(number, cents=False):
    """A limit in a reason, written as the shop writes numbers ("1.000.000,00" in de_DE,
    so that a German reader does not take 1,000 for one); outside an app context (a
    script) the English form "1,000,000.00"."""
    from flask import has_app_context

    if not has_app_context():
        return cents_for_display(number) if cents else format(number, ",")
    from babel.numbers import format_decimal

    from .i18n import shop_locale

    return format_decimal(Decimal(number) / 100 if cents else number,
                          format="#,##0.00" if cents else "#,##0", locale=shop_locale())


def cents_for_display(cents):
    """1234567 -> '12,345.67' (pages and PDFs; files and the API use cents_to_str)."""
    sign = "-" if cents < 0 else ""
    cents = abs(int(cents))
    return f"{sign}{cents // 100:,}.{cents % 100:02d}"


def cents_to_number(cents):
    """For JSON: a number with two decimals (Decimal keeps it exact until encoding)."""
    return float(Decimal(int(cents)) / 100)
