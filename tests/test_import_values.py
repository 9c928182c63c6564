"""Money, quantities and dates as tills and spreadsheets write them (imports/values.py)."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from webapp.imports.values import (DateReader, ValueProblem, parse_money, parse_quantity,
                                   zone_named)


@pytest.mark.parametrize("text, decimal, cents", [
    ("8.00", ".", 800), ("$8.00", ".", 800), ("-$3.00", ".", -300), ("$-3.00", ".", -300),
    ("(3.00)", ".", -300), ("3.00-", ".", -300), ("\u22123,00", ",", -300),
    ("1 234,50 €", ",", 123450), ("1\u00a0015,00", ",", 101500), ("1\u202f015,00", ",", 101500),
    ("7,50", ",", 750), ("3,5", ",", 350), ("24", ",", 2400), ("24,00 €", ",", 2400),
    ("1,234.50", ".", 123450), ("1.234,50", ",", 123450), ("$1,250.00", ".", 125000),
    ("1,234", ".", 123400), ("1.234", ",", 123400), ("CHF 12.50", ".", 1250),
    ("1'234.50", ".", 123450), ("12,50 EUR", ",", 1250), ("Fr. 3.50", ".", 350),
    ("US$4.00", ".", 400), ("1.000", ".", 100), ("18.00", ",", 1800)])
def test_money_as_written(text, decimal, cents):
    assert parse_money(text, decimal, negative=True) == cents


@pytest.mark.parametrize("text, decimal, reason", [
    ("12.345", ".", "more than two decimals: '12.345'"),
    ("1,234", ",", "more than two decimals: '1,234'"),
    ("abc", ".", "not an amount: 'abc' (expected like 12.50)"),
    ("1,23,456", ".", "not an amount: '1,23,456' (digits grouped wrongly; expected like "
                      "1,234.50 or 1 234,50)"),
    ("$3.00€", ".", "not an amount: '$3.00€' (two currency signs)"),
    ("-3.00", ".", "a negative amount (-3.00) where an amount of 0 or more was expected"),
    ("", ".", "missing amount"),
    ("1e5", ".", "not an amount: '1e5' (expected like 12.50)"),
    ("12 apples", ".", "not an amount: '12 apples' (expected like 12.50)"),
    ("99999999999", ".", "too large (99999999999): at most 10,000,000.00")])
def test_money_refused_with_a_reason(text, decimal, reason):
    with pytest.raises(ValueProblem) as caught:
        parse_money(text, decimal)
    assert str(caught.value) == reason


def test_quantities():
    assert [parse_quantity(q, negative=True) for q in ("2", "1.0", "1.000", "-1.0", "3,0")] == [
        2, 1, 1, -1, 3]
    with pytest.raises(ValueProblem, match=r"a fractional quantity \(0.25\)"):
        parse_quantity("0.25")
    with pytest.raises(ValueProblem, match="ambiguous quantity '1,000': write it as 1000 or as 1"):
        parse_quantity("1,000")
    with pytest.raises(ValueProblem, match="a negative quantity"):
        parse_quantity("-1")


def test_dates_by_locale_offsets_and_zones():
    paris = ZoneInfo("Europe/Paris")
    fr, us = DateReader("fr_FR", paris), DateReader("en_US", paris)
    assert fr.read("31/12/2025 09:15") == datetime(2025, 12, 31, 9, 15)
    assert fr.read("03/06/2025") == datetime(2025, 6, 3)
    assert us.read("03/06/2025") == datetime(2025, 3, 6)
    assert us.read("7/28/26 1:33 PM") == datetime(2026, 7, 28, 13, 33)
    assert us.read("15.03.23") == datetime(2023, 3, 15)          # dots: day.month.year
    assert fr.read("2025-03-01 10:15:00 -0500") == datetime(2025, 3, 1, 16, 15)
    assert fr.read("2025-07-01T08:00:00Z") == datetime(2025, 7, 1, 10, 0)
    eastern = zone_named("Eastern Time (US & Canada)")
    assert fr.read("2025-06-15 23:30:00", zone=eastern) == datetime(2025, 6, 16, 5, 30)
    with pytest.raises(ValueProblem, match="unknown time zone 'Mars'"):
        zone_named("Mars")
    with pytest.raises(ValueProblem, match=r"not a date: '31/02/2025' \(no such day"):
        fr.read("31/02/2025")


def test_a_column_that_contradicts_the_locale_is_refused_once():
    reader = DateReader("en_US")
    assert reader.read("14/06/2025", 2) == datetime(2025, 6, 14)   # unambiguous: fine
    with pytest.raises(ValueProblem, match=r"this file writes dates day/month/year \(line 2"):
        reader.read("03/06/2025", 3)
    assert reader.read("04/06/2025", 4) == datetime(2025, 4, 6)   # said once, not per line
    agreeing = DateReader("en_GB")
    for line, text in enumerate(("03/06/2025", "14/06/2025", "05/06/2025"), 2):
        agreeing.read(text, line)                                   # no complaint


@pytest.mark.parametrize("text, decimal, plain", [
    ("7,50", ",", "7.50"), ("1 234,50 €", ",", "1234.50"), ("$8.00", ".", "8.00"),
    ("-$3.00", ".", "-3.00"), ("(3.00)", ".", "-3.00"), ("1,234", ".", "1234"),
    ("1.234", ",", "1234"), ("1,005", ",", "1.005"), ("1.005", ".", "1.005"),
    ("+3.5", ".", "3.5"), ("abc", ".", "abc"), ("", ",", ""), (" 2 ", ".", "2")])
def test_plain_number_reads_the_locale_and_leaves_the_rules_to_validation(text, decimal,
                                                                          plain):
    """Larder's own layouts: the locale is read out here; webapp/validation.py judges
    (so `1,005` in a French shop is refused there as more than two decimals)."""
    from webapp.imports.values import plain_number

    assert plain_number(text, decimal) == plain
