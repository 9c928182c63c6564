"""webapp.tax: every figure against values worked out here, by hand or with Decimal and
ROUND_HALF_UP written in the test (never by calling webapp.tax to get the expectation).

Rounding edge cases: rates 5.5 % and 7.7 %, amounts whose tax is exactly half a cent
(half-up and banker's rounding disagree there), prices with and without tax, line and
order discounts (amount and percent)."""
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
import itertools
import random

import pytest

from webapp.tax import (Line, PricedLine, PricingError, RateTotal, allocate, price_order,
                        round_half_up, tax_included, tax_on)


# ---- the test's own arithmetic -----------------------------------------------------------

def cents(value):
    """A Decimal amount of cents rounded half-up to a whole cent."""
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def share(total, weights):
    """Largest remainder with Fractions: floor shares, then one more cent each to the
    biggest remainders (the earlier line first on a tie)."""
    whole = sum(weights)
    if whole == 0:
        return [total] + [0] * (len(weights) - 1)
    exact = [Fraction(total * w, whole) for w in weights]
    parts = [int(e) for e in exact]  # floor: everything here is >= 0
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def expected(lines, include, percent=None, amount=None):
    """The order as docs/orders.md describes it, in Decimal: (gross, discount, total, tax,
    [(net, tax) per line], {rate: (net, tax)})."""
    amounts = [q * p - d for q, p, _, d in lines]
    subtotal = sum(amounts)
    off = cents(Decimal(subtotal) * Decimal(percent) / 100) if percent is not None else (amount or 0)
    after = [a - s for a, s in zip(amounts, share(off, amounts))]
    per_line, rates, gross = [None] * len(lines), {}, 0
    for rate in sorted({Decimal(r) for _, _, r, _ in lines}):
        idx = [i for i, line in enumerate(lines) if Decimal(line[2]) == rate]
        amount_r = sum(after[i] for i in idx)
        full = sum(lines[i][0] * lines[i][1] for i in idx)
        r = rate  # percent
        if include:
            tax = cents(Decimal(amount_r) * r / (100 + r))
            net = amount_r - tax
            gross += full
        else:
            tax = cents(Decimal(amount_r) * r / 100)
            net = amount_r
            gross += full + cents(Decimal(full) * r / 100)
        for i, t in zip(idx, share(tax, [after[i] for i in idx])):
            per_line[i] = (after[i] - t if include else after[i], t)
        rates[rate] = (net, tax)
    total = sum(n + t for n, t in rates.values())
    return gross, gross - total, total, sum(t for _, t in rates.values()), per_line, rates


def run(lines, include, percent=None, amount=None):
    """price_order with rates given in percent (the test's terms) -> the same shape."""
    priced = price_order([Line(q, p, int(Decimal(r) * 100), d) for q, p, r, d in lines],
                         include,
                         discount_percent_bp=None if percent is None else int(Decimal(percent) * 100),
                         discount_amount_cents=amount)
    return (priced.gross_cents, priced.discount_cents, priced.total_cents, priced.tax_cents,
            [(pl.net_cents, pl.tax_cents) for pl in priced.lines],
            {Decimal(rt.rate_bp) / 100: (rt.net_cents, rt.tax_cents) for rt in priced.rates})


# ---- rounding -----------------------------------------------------------------------------

@pytest.mark.parametrize("numerator, denominator, result", [
    (5, 2, 3), (7, 2, 4), (3, 2, 2), (1, 2, 1), (4, 3, 1), (5, 3, 2), (0, 7, 0),
    (-5, 2, -3), (-1, 2, -1), (-4, 3, -1), (-5, 3, -2), (10, 1, 10), (149, 100, 1),
    (150, 100, 2), (-150, 100, -2),
])
def test_round_half_up(numerator, denominator, result):
    assert round_half_up(numerator, denominator) == result
    assert result == cents(Decimal(numerator) / Decimal(denominator))


@pytest.mark.parametrize("denominator", [0, -1, -10])
def test_round_half_up_needs_a_positive_denominator(denominator):
    with pytest.raises(ValueError):
        round_half_up(5, denominator)


def test_tax_included_and_on_at_half_a_cent():
    # 20 % inside 0.03: 3 / 6 = 0.5 cent -> 1 (banker's rounding would give 0)
    assert tax_included(3, 2000) == 1
    assert tax_included(9, 2000) == 2 and tax_included(15, 2000) == 3
    # 7.7 % on 5.00: 38.5 cents -> 39 (banker's: 38); 5.5 % on 3.00: 16.5 -> 17
    assert tax_on(500, 770) == 39
    assert tax_on(300, 550) == 17
    # 5.5 % inside 1.99: 199 x 5.5 / 105.5 = 10.374 -> 10; 7.7 % inside 10.00: 71.49 -> 71
    assert tax_included(199, 550) == 10
    assert tax_included(1000, 770) == 71
    assert tax_on(0, 2000) == 0 and tax_included(0, 550) == 0
    for amount in range(0, 2000, 7):
        for rate in (550, 770, 2000, 1000, 0):
            r = Decimal(rate) / 100
            assert tax_on(amount, rate) == cents(Decimal(amount) * r / 100)
            assert tax_included(amount, rate) == cents(Decimal(amount) * r / (100 + r))


# ---- sharing out ----------------------------------------------------------------------------

def test_allocate_by_hand():
    assert allocate(10, [1, 1]) == [5, 5]
    assert allocate(1, [1, 1, 1]) == [1, 0, 0]          # a tie: the earlier line
    assert allocate(2, [1, 1, 1]) == [1, 1, 0]
    assert allocate(1, [1, 2]) == [0, 1]                # the bigger remainder wins
    assert allocate(100, [1, 2, 3, 4]) == [10, 20, 30, 40]
    assert allocate(7, [0, 0, 0]) == [7, 0, 0]          # nothing to weigh by: the first
    assert allocate(5, [0, 3]) == [0, 5]
    assert allocate(0, [4, 5]) == [0, 0]
    # Two parts take a shortcut (an import's usual order): the same rule, ties included.
    assert allocate(1, [1, 1]) == [1, 0]                # a tie: the earlier line
    assert allocate(3, [5, 5]) == [2, 1]
    assert allocate(1, [2, 1]) == [1, 0]


def test_allocate_shares_a_negative_total_exactly():
    """Nothing in Larder shares a negative amount today; the parts must still add up."""
    for weights in ([1], [1, 1], [2, 1], [1, 2, 3]):
        parts = allocate(-1, weights)
        assert sum(parts) == -1 and len(parts) == len(weights)
    assert allocate(-1, [1, 1]) == [0, -1]
    assert allocate(0, []) == []
    assert allocate(3, [5]) == [3]


def test_allocate_nothing_to_share_over():
    with pytest.raises(ValueError):
        allocate(1, [])


def test_allocate_matches_largest_remainder():
    rng = random.Random(10)
    for _ in range(400):
        weights = [rng.randrange(0, 3000) for _ in range(rng.randrange(1, 6))]
        total = rng.randrange(0, 5000)
        parts = allocate(total, weights)
        assert parts == share(total, weights)
        assert sum(parts) == total


# ---- whole orders, worked by hand -----------------------------------------------------------

def test_one_line_with_tax_included_by_hand():
    priced = price_order([Line(3, 199, 550)], True)
    # 5.97 at 5.5 % inside: 597 x 5.5 / 105.5 = 31.12 -> 0.31; net 5.66
    assert (priced.gross_cents, priced.discount_cents, priced.total_cents,
            priced.tax_cents) == (597, 0, 597, 31)
    assert priced.lines == [PricedLine(566, 31)]
    assert priced.rates == [RateTotal(550, 566, 31)]
    assert priced.lines[0].total_cents == 597 and priced.rates[0].gross_cents == 597


def test_one_line_without_tax_by_hand():
    priced = price_order([Line(3, 199, 770)], False)
    # 5.97 + 7.7 %: 45.969 -> 0.46; the customer pays 6.43
    assert (priced.gross_cents, priced.discount_cents, priced.total_cents,
            priced.tax_cents) == (643, 0, 643, 46)
    assert priced.lines == [PricedLine(597, 46)]
    assert priced.rates == [RateTotal(770, 597, 46)]


def test_tax_is_rounded_per_rate_not_per_line_by_hand():
    # Three lines of 0.03 at 20 % (tax inside): per line 0.5 cent would round to 1 each (3);
    # per rate 0.09 / 6 = 1.5 -> 2, shared 1, 1, 0.
    priced = price_order([Line(1, 3, 2000), Line(1, 3, 2000), Line(1, 3, 2000)], True)
    assert priced.tax_cents == 2
    assert [pl.tax_cents for pl in priced.lines] == [1, 1, 0]
    assert [pl.net_cents for pl in priced.lines] == [2, 2, 3]


def test_percent_discount_rounds_half_up_by_hand():
    # 10 % of 12.25 = 1.225 -> 1.23 (banker's: 1.22); 11.02 left, 5.5 % inside: 57.45 -> 0.57
    priced = price_order([Line(1, 1225, 550)], True, discount_percent_bp=1000)
    assert (priced.gross_cents, priced.discount_cents, priced.total_cents,
            priced.tax_cents) == (1225, 123, 1102, 57)
    assert priced.lines == [PricedLine(1045, 57)]


def test_amount_discount_and_two_rates_without_tax_by_hand():
    lines = [Line(2, 500, 770), Line(1, 1000, 550, discount_cents=100)]
    priced = price_order(lines, False, discount_amount_cents=190)
    # amounts 10.00 and 9.00 (after its own 1.00); 1.90 shared 10:9 -> 1.00 and 0.90
    # 7.7 %: 9.00 -> 69.3 -> 0.69; 5.5 %: 8.10 -> 44.55 -> 0.45 (half-up)
    # gross: 10.00 + 0.77 and 10.00 + 0.55 = 21.32; total 9.69 + 8.55 = 18.24
    assert priced.rates == [RateTotal(550, 810, 45), RateTotal(770, 900, 69)]
    assert priced.lines == [PricedLine(900, 69), PricedLine(810, 45)]
    assert (priced.gross_cents, priced.discount_cents, priced.total_cents,
            priced.tax_cents) == (2132, 308, 1824, 114)


def test_free_line_and_whole_order_discounts_are_allowed():
    priced = price_order([Line(2, 250, 2000, discount_cents=500), Line(1, 100, 2000)], True)
    assert priced.total_cents == 100 and priced.lines[0] == PricedLine(0, 0)
    assert price_order([Line(1, 999, 550)], True, discount_amount_cents=999).total_cents == 0
    everything = price_order([Line(1, 999, 550)], True, discount_percent_bp=10000)
    assert (everything.total_cents, everything.discount_cents, everything.tax_cents) == (0, 999, 0)
    nothing = price_order([Line(1, 999, 550)], True, discount_percent_bp=0)
    assert (nothing.total_cents, nothing.discount_cents) == (999, 0)
    assert price_order([], True) == price_order([], False)
    assert price_order([], True).total_cents == 0


@pytest.mark.parametrize("lines, kwargs", [
    ([Line(1, 100, 2000, discount_cents=101)], {}),
    ([Line(1, 100, 2000, discount_cents=101), Line(1, 100, 2000)], {}),  # one cent over
    ([Line(1, 100, 2000, discount_cents=-1)], {}),
    ([Line(1, 100, 2000)], {"discount_amount_cents": 101}),
    ([Line(1, 100, 2000)], {"discount_amount_cents": -1}),
    ([Line(1, 100, 2000)], {"discount_percent_bp": 10001}),
    ([Line(1, 100, 2000)], {"discount_percent_bp": -1}),
    ([Line(1, 100, 2000)], {"discount_percent_bp": 100, "discount_amount_cents": 1}),
])
def test_impossible_discounts_are_refused(lines, kwargs):
    with pytest.raises(PricingError):
        price_order(lines, True, **kwargs)


# ---- many orders against the test's Decimal arithmetic --------------------------------------

CASES = [
    ([(3, 199, "5.5", 0), (1, 1000, "7.7", 0), (2, 450, "20", 0)], None, None),
    ([(3, 199, "5.5", 50), (7, 333, "7.7", 0), (1, 1, "0", 0)], "10", None),
    ([(1, 1225, "5.5", 0), (5, 1999, "5.5", 100)], "12.5", None),
    ([(2, 500, "7.7", 0), (1, 1000, "5.5", 100)], None, 190),
    ([(4, 2599, "20", 1000), (1, 799, "7.7", 0), (3, 101, "5.5", 0)], None, 1),
    ([(1, 3, "20", 0), (1, 3, "20", 0), (1, 3, "20", 0)], "33.33", None),
]


@pytest.mark.parametrize("include", [True, False])
@pytest.mark.parametrize("lines, percent, amount", CASES)
def test_orders_match_the_tests_arithmetic(lines, percent, amount, include):
    got = run(lines, include, percent, amount)
    assert got == expected(lines, include, percent, amount)
    gross, discount, total, tax, per_line, rates = got
    # net + tax = gross, every line and rate adds up to the order
    assert sum(n + t for n, t in per_line) == total == gross - discount
    assert sum(t for _, t in per_line) == tax == sum(t for _, t in rates.values())
    assert list(rates) == sorted(rates)


def test_random_orders_match_the_tests_arithmetic():
    rng = random.Random(7)
    rates = ["0", "5.5", "7.7", "10", "20", "2.1"]
    for include, _ in itertools.product((True, False), range(150)):
        lines = []
        for _ in range(rng.randrange(1, 6)):
            q, p = rng.randrange(1, 9), rng.randrange(1, 5000)
            lines.append((q, p, rng.choice(rates), rng.choice([0, 0, rng.randrange(0, q * p + 1)])))
        subtotal = sum(q * p - d for q, p, _, d in lines)
        percent = amount = None
        if rng.random() < 0.4:
            percent = str(Decimal(rng.randrange(0, 10001)) / 100)
        elif rng.random() < 0.5:
            amount = rng.randrange(0, subtotal + 1)
        assert run(lines, include, percent, amount) == expected(lines, include, percent, amount)


def test_prices_include_tax_unless_told():
    # the shop's default (settings.prices_include_tax is true by default, as in shops)
    assert price_order([Line(3, 199, 550)]).tax_cents == 31
    assert price_order([Line(3, 199, 550)]).total_cents == 597
