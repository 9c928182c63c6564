"""Exact money: integer cents in storage, "12.34" strings at the edges, never float."""
from decimal import Decimal, InvalidOperation


class MoneyError(ValueError):
    pass


def parse_money(text):
    """'12.5' -> 1250. Rejects negatives, more than two decimals and non-numbers."""
    text = str(text).strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise MoneyError(f"not a number: {text!r}") from None
    if not value.is_finite():
        raise MoneyError(f"not a number: {text!r}")
    if value < 0:
        raise MoneyError("must not be negative")
    cents = value * 100
    if cents != cents.to_integral_value():
        raise MoneyError("at most two decimals")
    if cents > 10**12:
        raise MoneyError("too large")
    return int(cents)


def cents_to_str(cents):
    sign = "-" if cents < 0 else ""
    cents = abs(int(cents))
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def cents_for_display(cents):
    """1234567 -> '12,345.67' (pages and PDFs; files and the API use cents_to_str)."""
    sign = "-" if cents < 0 else ""
    cents = abs(int(cents))
    return f"{sign}{cents // 100:,}.{cents % 100:02d}"


def cents_to_number(cents):
    """For JSON: a number with two decimals (Decimal keeps it exact until encoding)."""
    return float(Decimal(int(cents)) / 100)
