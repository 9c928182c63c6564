"""An order's money: discounts, tax per rate, and each line's share, in exact cents.

Integer arithmetic only. Rates are basis points (20 % = 2000, 5.5 % = 550).

How an order is priced (docs/figures.md, "How tax is rounded"):
1. Each line comes to quantity x unit price - its own discount (in the prices' terms:
   tax included or not, as the shop's prices are).
2. The order discount (a percent, rounded half-up to the cent, or an amount) is shared
   over the lines in proportion to what they come to (largest remainder: the shares add
   up to the discount exactly).
3. Tax is computed once per order and rate, rounded half-up to the cent, as an invoice
   shows it: prices with tax: tax = amount x r / (1 + r); prices without: tax = amount x r.
4. That tax is shared over the rate's lines the same way, so every line has a net and a
   tax, and lines add up to their rate, rates to the order, exactly:
   net + tax = gross for every line, rate and order.
The order's `gross` is before any discount (tax included: for prices without tax, the
undiscounted amount per rate plus its tax), `discount` = gross - total.
"""
from dataclasses import dataclass, field
from typing import NamedTuple

from .i18n import N_  # reasons marked for the catalog; translated where shown

BP = 10_000  # basis points in 1


class PricingError(ValueError):
    """Amounts that cannot make an order (a discount above what it applies to)."""


def round_half_up(numerator, denominator):
    """numerator / denominator rounded to the nearest integer, halves away from zero."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return sign * quotient


def allocate(total, weights):
    """Split the integer `total` in proportion to non-negative integer `weights`: the
    parts add up to `total` exactly (largest remainder; ties go to the earlier weight).
    All-zero weights: the whole total goes to the first part."""
    weights = list(weights)
    if not weights:
        if total:
            raise ValueError("nothing to share an amount over")
        return []
    # Most calls share nothing, or over one part (demo data prices millions of lines).
    if total == 0:
        return [0] * len(weights)
    if len(weights) == 1:
        return [total]
    whole = sum(weights)
    if whole == 0:
        return [total] + [0] * (len(weights) - 1)
    if len(weights) == 2:  # an import's usual order: the same rule without the sort
        first, rest_first = divmod(total * weights[0], whole)
        second, rest_second = divmod(total * weights[1], whole)
        if first + second < total:  # one cent left at most: to the larger remainder
            if rest_first >= rest_second:
                first += 1
            else:
                second += 1
        return [first, second]
    parts, remainders = [], []
    for i, weight in enumerate(weights):
        part, rest = divmod(total * weight, whole)
        parts.append(part)
        remainders.append((-rest, i))
    for _, i in sorted(remainders)[: total - sum(parts)]:
        parts[i] += 1
    return parts


def tax_included(amount, rate_bp):
    """The tax inside a tax-inclusive amount, rounded half-up."""
    return round_half_up(amount * rate_bp, BP + rate_bp)


def tax_on(amount, rate_bp):
    """The tax to add to a net amount, rounded half-up."""
    return round_half_up(amount * rate_bp, BP)


# Named tuples, not frozen dataclasses: as immutable, and an import prices a million
# lines (a frozen dataclass's __init__ costs several times a tuple's).
class Line(NamedTuple):
    quantity: int
    unit_price_cents: int
    tax_rate_bp: int
    discount_cents: int = 0  # the line's own discount, in the prices' terms


class RateTotal(NamedTuple):
    rate_bp: int
    net_cents: int
    tax_cents: int

    @property
    def gross_cents(self):
        return self.net_cents + self.tax_cents


class PricedLine(NamedTuple):
    net_cents: int
    tax_cents: int

    @property
    def total_cents(self):
        return self.net_cents + self.tax_cents


@dataclass(frozen=True)
class PricedOrder:
    gross_cents: int      # before any discount, tax included
    discount_cents: int   # gross - total
    total_cents: int      # what the customer pays
    tax_cents: int
    lines: list = field(default_factory=list)   # PricedLine per Line, in order
    rates: list = field(default_factory=list)   # RateTotal per rate, ascending


def price_order(lines, prices_include_tax=True, discount_percent_bp=None,
                discount_amount_cents=None):
    """Price an order (see the module's docstring). Raises PricingError when a discount
    is more than what it applies to."""
    lines = list(lines)
    if discount_percent_bp is not None and discount_amount_cents is not None:
        raise PricingError(N_("an order discount is a percent or an amount, not both"))
    amounts = []
    for line in lines:
        amount = line.quantity * line.unit_price_cents - line.discount_cents
        if line.discount_cents < 0 or amount < 0:
            raise PricingError(N_("a line's discount is more than the line"))
        amounts.append(amount)
    subtotal = sum(amounts)
    if discount_percent_bp is not None:
        if not 0 <= discount_percent_bp <= BP:
            raise PricingError(N_("a discount percent is from 0 to 100"))
        order_discount = round_half_up(subtotal * discount_percent_bp, BP)
    else:
        order_discount = discount_amount_cents or 0
        if order_discount < 0 or order_discount > subtotal:
            raise PricingError(N_("the order discount is more than the order"))
    rates = sorted({line.tax_rate_bp for line in lines})
    if not order_discount and len(rates) == 1:
        return _one_rate(lines, amounts, rates[0], prices_include_tax)
    after = [a - d for a, d in zip(amounts, allocate(order_discount, amounts))]

    taxes = [0] * len(lines)
    rate_totals, gross = [], 0
    for rate in rates:
        members = [i for i, line in enumerate(lines) if line.tax_rate_bp == rate]
        amount = sum(after[i] for i in members)
        undiscounted = sum(lines[i].quantity * lines[i].unit_price_cents for i in members)
        if prices_include_tax:
            tax = tax_included(amount, rate)
            net = amount - tax
            gross += undiscounted
        else:
            tax = tax_on(amount, rate)
            net = amount
            gross += undiscounted + tax_on(undiscounted, rate)
        for i, share in zip(members, allocate(tax, [after[i] for i in members])):
            taxes[i] = share
        rate_totals.append(RateTotal(rate, net, tax))
    priced = [PricedLine(after[i] - taxes[i] if prices_include_tax else after[i], taxes[i])
              for i in range(len(lines))]
    total = sum(r.gross_cents for r in rate_totals)
    return PricedOrder(gross_cents=gross, discount_cents=gross - total, total_cents=total,
                       tax_cents=sum(r.tax_cents for r in rate_totals), lines=priced,
                       rates=rate_totals)


def _one_rate(lines, amounts, rate, prices_include_tax):
    """price_order's steps for its most common case (one rate, no order discount), with
    nothing to share out twice: the same figures, about twice as fast (imports)."""
    undiscounted = sum(line.quantity * line.unit_price_cents for line in lines)
    gross, total, tax, shares = one_rate_figures(amounts, undiscounted, rate,
                                                 prices_include_tax)
    priced = [PricedLine(a - t if prices_include_tax else a, t) for a, t in zip(amounts, shares)]
    return PricedOrder(gross_cents=gross, discount_cents=gross - total, total_cents=total,
                       tax_cents=tax, lines=priced, rates=[RateTotal(rate, total - tax, tax)])


def one_rate_figures(amounts, undiscounted, rate, prices_include_tax):
    """An order whose lines all have one rate and no order discount, as plain numbers:
    (gross, total, tax, each line's tax share). `amounts`: each line's quantity x unit
    price - its discount (none negative); `undiscounted`: the sum of quantity x unit
    price. The one place these figures are computed: price_order uses it, and the import
    engine calls it directly for such orders (no Line/PricedOrder objects per line)."""
    amount = sum(amounts)
    if prices_include_tax:
        tax = tax_included(amount, rate)
        gross = undiscounted
    else:
        tax = tax_on(amount, rate)
        gross = undiscounted + tax_on(undiscounted, rate)
    total = amount if prices_include_tax else amount + tax
    return gross, total, tax, allocate(tax, amounts)
