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


def _reasons():
    out = []
    for text in ("abc", "nan", "-1", "1.005", "1000000.01"):
        with pytest.raises(NumberError) as caught:
            parse_money(text)
        out.append(str(caught.value))
    for value, low, high in (("x", 0, 10), (-1, 0, 10), (0, 1, 100_000), (11, 0, 10)):
        with pytest.raises(NumberError) as caught:
            parse_whole(value, low, high)
        out.append(str(caught.value))
    return out


ENGLISH = ["not a number: 'abc'", "not a number: 'nan'", "must not be negative",
           "at most two decimals", "too large: at most 1,000,000.00",
           "not a whole number: 'x'", "must not be negative: -1", "must be at least 1, not 0",
           "too large: at most 10"]
GERMAN = ["keine Zahl: 'abc'", "keine Zahl: 'nan'", "darf nicht negativ sein",
          "höchstens zwei Nachkommastellen", "zu groß: höchstens 1.000.000,00",
          "keine ganze Zahl: 'x'", "darf nicht negativ sein: -1",
          "muss mindestens 1 sein, nicht 0", "zu groß: höchstens 10"]


# A French shop reads English words (no French catalog) with its own numbers: a bound is
# written as the shop writes numbers, in every language.
FRENCH = [reason.replace("1,000,000.00", "1\u202f000\u202f000,00") for reason in ENGLISH]


@pytest.mark.parametrize("locale, expected", [("en_GB", ENGLISH), ("fr_FR", FRENCH),
                                              ("de_DE", GERMAN), ("de_AT", GERMAN)])
def test_the_reasons_are_in_the_shops_language(app, locale, expected):
    """What the forms, the API and the CSV import say (webapp/validation.py passes these
    on): German in a German shop, English otherwise, and outside an app context."""
    from webapp import settings
    from webapp.extensions import db

    assert _reasons() == ENGLISH  # no app context: English
    with app.app_context():
        settings.save({"locale": locale})
        db.session.commit()
    with app.app_context():
        assert _reasons() == expected
