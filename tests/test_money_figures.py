"""Money as it is shown and read back (webapp.money): signs, zero, cents under ten,
thousands, the largest amounts, and the exact reasons a number is refused."""
import pytest

from webapp.money import (LIFETIME_ORDERS, MAX_ORDER_CENTS, MAX_PRICE_CENTS, NumberError,
                          cents_for_display, cents_to_number, cents_to_str, parse_money,
                          parse_whole)


@pytest.mark.parametrize("cents, text, display", [
    (0, "0.00", "0.00"), (1, "0.01", "0.01"), (-1, "-0.01", "-0.01"), (5, "0.05", "0.05"),
    (99, "0.99", "0.99"), (100, "1.00", "1.00"), (-100, "-1.00", "-1.00"),
    (123456, "1234.56", "1,234.56"), (-123456, "-1234.56", "-1,234.56"),
    (MAX_PRICE_CENTS, "1000000.00", "1,000,000.00"),
    (MAX_ORDER_CENTS, "10000000.00", "10,000,000.00"),
    (2**63 - 1, "92233720368547758.07", "92,233,720,368,547,758.07"),
])
def test_cents_as_text_and_on_screen(cents, text, display):
    assert cents_to_str(cents) == text
    assert cents_for_display(cents) == display
    # and back: what a page or file shows reads as the same cents
    if 0 <= cents <= MAX_PRICE_CENTS:
        assert parse_money(text) == cents


@pytest.mark.parametrize("cents, number", [(0, 0.0), (5, 0.05), (-5, -0.05), (1250, 12.5),
                                           (123456, 1234.56), (MAX_ORDER_CENTS, 1e7)])
def test_cents_as_json_numbers(cents, number):
    assert cents_to_number(cents) == number


def test_too_large_says_the_limit_on_screen():
    with pytest.raises(NumberError, match=r"^too large: at most 1,000,000\.00$"):
        parse_money("1000000.01")
    with pytest.raises(NumberError, match=r"^too large: at most 12\.34$"):
        parse_money("12.35", limit=1234)
    assert parse_money("12.34", limit=1234) == 1234
    # checked before any arithmetic: a huge exponent is "too large", not an error
    with pytest.raises(NumberError, match="too large"):
        parse_money("1e999999999", limit=1234)


@pytest.mark.parametrize("text, reason", [
    ("nan", "not a number: 'nan'"), ("-inf", "not a number: '-inf'"),
    ("sNaN", "not a number: 'sNaN'"), ("abc", "not a number: 'abc'"),
    ("-1", "must not be negative"), ("-0.01", "must not be negative"),
    ("1.005", "at most two decimals")])
def test_money_refusal_reasons(text, reason):
    with pytest.raises(NumberError) as caught:
        parse_money(text)
    assert str(caught.value) == reason


@pytest.mark.parametrize("text, cents", [("0", 0), ("0.00", 0), ("-0", 0), ("  7.1 ", 710),
                                         ("0.10", 10), ("1E+2", 10000)])
def test_money_zero_and_spellings(text, cents):
    assert parse_money(text) == cents


def test_whole_number_reasons_name_the_bounds():
    with pytest.raises(NumberError) as caught:
        parse_whole(-1, 0, 10)
    assert str(caught.value) == "must not be negative: -1"
    with pytest.raises(NumberError) as caught:
        parse_whole(0, 1, 100_000)
    assert str(caught.value) == "must be at least 1, not 0"
    with pytest.raises(NumberError) as caught:
        parse_whole("1000001", 0, 1_000_000)
    assert str(caught.value) == "too large: at most 1,000,000"
    assert parse_whole(0, 0, 10) == 0 and parse_whole(10, 0, 10) == 10
    assert parse_whole("-2", -5, 5) == -2


def test_very_long_whole_numbers_keep_their_sign_and_size():
    eighteen = "9" * 18
    assert parse_whole(eighteen, 0, 10**19) == int(eighteen)
    assert parse_whole("-" + eighteen, -(10**19), 0) == -int(eighteen)
    with pytest.raises(NumberError, match=r"^too large: at most 1,000,000$"):
        parse_whole("9" * 19, 0, 1_000_000)
    with pytest.raises(NumberError, match=r"^too large"):
        parse_whole("+" + "9" * 40, 0, 1_000_000)
    with pytest.raises(NumberError, match=r"^must not be negative: -1000000000000000000$"):
        parse_whole("-" + "9" * 40, 0, 1_000_000)


def test_lifetime_bound_is_postgresql_integer_ids():
    # The 64-bit argument in webapp.money rests on ids being PostgreSQL `integer`.
    assert LIFETIME_ORDERS == 2_147_483_647
