"""What the formats share: the shop's context, column lookup by name, made-up SKUs, tax
rates from amounts, payment method names, refund matching."""
import functools
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import NamedTuple

from ...tax import BP, tax_included, tax_on
from ...i18n import N_
from ..records import LineRecord, Problem, Reason
from ..values import (DateReader, ValueProblem, decimal_mark, parse_money, parse_quantity,
                      shop_zone)

DEFAULT_CATEGORY = "Uncategorised"
SHIPPING_SKU = "SHIPPING"


@dataclass
class Context:
    """The shop's settings a format needs (Context.from_settings() inside the app)."""

    locale: str = "en_GB"
    timezone: str = ""                 # "": the computer's
    prices_include_tax: bool = True
    default_tax_rate_bp: int = 2000
    tax_rates_bp: tuple = ()           # the shop's rates, to snap derived rates to
    currency: str = "EUR"
    decimal: str = field(init=False)

    def __post_init__(self):
        self.decimal = decimal_mark(self.locale)
        self.zone = shop_zone(self.timezone)
        rates = set(self.tax_rates_bp) | {self.default_tax_rate_bp}
        self.tax_rates_bp = tuple(sorted(rates))

    @classmethod
    def from_settings(cls):
        """The shop's settings and the rates its products use (inside an app context)."""
        from ... import settings
        from ...extensions import db
        from ...models import Product

        rates = {r for (r,) in db.session.execute(
            db.select(Product.tax_rate_bp).distinct()) if r is not None}
        return cls(locale=settings.get("locale"), timezone=settings.get("timezone"),
                   prices_include_tax=settings.get("prices_include_tax"),
                   default_tax_rate_bp=settings.get("default_tax_rate_bp"),
                   tax_rates_bp=tuple(rates), currency=settings.get("currency"))

    def dates(self):
        """A DateReader for one date column of one file."""
        return DateReader(self.locale, self.zone, _locale_label(self.locale))


def _locale_label(locale):
    try:
        from babel import Locale

        return f"{Locale.parse(locale).get_display_name('en')} ({locale})"
    except Exception:
        return locale


class Columns:
    """Cells by column name. `names` maps a key to the header names it may have (a
    format's versions and languages); a key the header lacks reads as ""."""

    def __init__(self, header, names):
        position = {}
        for i, name in enumerate(header):
            position.setdefault(name.strip().lower(), i)
        self.index = {}
        for key, options in names.items():
            options = (options,) if isinstance(options, str) else options
            self.index[key] = next((position[o.lower()] for o in options
                                    if o.lower() in position), None)
        self.label = {key: header[i] for key, i in self.index.items() if i is not None}

    def has(self, key):
        return self.index.get(key) is not None

    def get(self, cells, key):
        i = self.index.get(key)
        return cells[i].strip() if i is not None else ""

    def name(self, key):
        return self.label.get(key, key)


def header_has(header, *names):
    """True when the header has every one of these column names (any case)."""
    present = {name.strip().lower() for name in header}
    return all(name.lower() in present for name in names)


@functools.lru_cache(maxsize=4096)
def made_up_sku(source, name):
    """A till line without SKU: the same name always gives the same SKU, so re-imports
    match ("shopify-emballage-cadeau"). Valid by validation.SKU_RE."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-") or "item"
    sku = f"{source}-{slug}"
    if len(sku) > 64:
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        sku = f"{sku[:55].rstrip('-')}-{digest}"
    return sku


@functools.lru_cache(maxsize=256)
def rate_from_text(text):
    """'TVA 20%' / '7.7%' / '5,5 %' -> basis points; None when no percent is written."""
    match = re.search(r"(\d{1,3}(?:[.,]\d{1,2})?)\s*%", text)
    if not match:
        return None
    value = match.group(1).replace(",", ".")
    units, _, decimals = value.partition(".")
    return int(units) * 100 + int((decimals + "00")[:2])


def rate_from_amounts(tax, amount, included, rates):
    """The rate of a line from its amounts: one of the shop's `rates` that gives this tax
    (to a cent either side: tills share a sale's tax over its lines), else the ratio to
    the nearest 0.1 %. `amount`: the line after discounts, in the prices' terms."""
    if tax == 0 or amount == 0:
        return 0
    best = None
    for rate in rates:
        computed = tax_included(amount, rate) if included else tax_on(amount, rate)
        miss = abs(computed - tax)
        if miss <= 1 and (best is None or miss < best[0]):
            best = (miss, rate)
    if best:
        return best[1]
    net = amount - tax if included else amount
    if net <= 0:
        return 0
    return min(round(tax * BP / net / 10) * 10, BP)


def unit_and_extra(total, quantity):
    """A line total the till gives for `quantity` items -> (unit price, extra discount):
    the unit is rounded up and the difference (under one cent per item) becomes a
    discount, so quantity x unit - discount is the till's total exactly."""
    unit = -(-total // quantity)
    return unit, unit * quantity - total


class ItemAmounts(NamedTuple):
    """One item row of a till that writes gross sales, discounts and tax per row (Square,
    Loyverse), made positive (refund rows are negative)."""

    quantity: int
    unit_cents: int          # rounded up: see unit_and_extra
    discount_cents: int      # the row's discounts and the rounding's extra
    tax_rate_bp: int
    tax_cents: int
    paid_cents: int          # what the customer paid for the row, tax included
    unit_cost_cents: int | None

    def line(self, line, product):
        return LineRecord(line, product, self.quantity, self.unit_cents, self.tax_rate_bp,
                          self.discount_cents, unit_cost_cents=self.unit_cost_cents)


def item_amounts(row, included, rates):
    """A till's item row (keys qty, gross, discounts, tax, item and, when the till has it,
    cost) -> ItemAmounts, or None with every bad cell in row.problems. `included`: whether
    the row's prices include tax; `rates`: the shop's rates, for rate_from_amounts."""
    quantity = row.quantity("qty", negative=True)
    gross = row.money("gross", negative=True)
    discounts = row.money("discounts", negative=True, empty=0)
    tax = row.money("tax", negative=True, empty=0)
    cost = row.money("cost", negative=True, empty=None)
    if not row.text("item"):
        row.bad("item", N_("missing item name"))
    if quantity == 0:
        row.bad("qty", N_("a quantity of 0"))
    if row.problems:
        return None
    quantity, gross, discount, tax = abs(quantity), abs(gross), abs(discounts), abs(tax)
    amount = gross - discount   # the line after discounts, in the prices' terms
    unit, extra = unit_and_extra(gross, quantity)
    return ItemAmounts(quantity, unit, discount + extra,
                       rate_from_amounts(tax, amount, included, rates), tax,
                       amount if included else amount + tax,
                       None if cost is None else round(abs(cost) / quantity))


_CASH = {"cash", "bar", "bargeld", "espèces", "especes", "liquide", "contanti", "efectivo",
         "contant", "kontant", "kontanter", "gotówka"}
_CARD = {"card", "karte", "carte", "carte bancaire", "cb", "visa", "mastercard", "amex",
         "american express", "maestro", "debit", "credit", "credit card", "debit card",
         "ec", "ec-karte", "girocard", "kreditkarte", "shopify payments", "tarjeta"}


def payment_method(label):
    """A till's payment label -> Larder's "cash" / "card", else the label itself."""
    label = " ".join(label.split())
    key = label.lower()
    if key in _CASH:
        return "cash"
    if key in _CARD:
        return "card"
    return label[:40]


class RefundMatcher:
    """Links refunds the file does not link (SumUp 2024+, Loyverse) to the latest earlier
    sale in the same file with the same product (and customer, when known). Keeps the
    latest ref per (customer, SKU), at most `keep` of them (the least recently sold go
    first), so memory stays bounded whatever the file."""

    def __init__(self, keep=100_000):
        self.latest, self.keep = {}, keep

    def sold(self, sale):
        who = sale.customer.email if sale.customer else ""
        for line in sale.lines:
            for key in ((who, line.product.sku), ("", line.product.sku)):
                self.latest.pop(key, None)   # re-inserted last: the dict is oldest first
                self.latest[key] = sale.ref
        while len(self.latest) > self.keep:  # refunds follow their sales closely
            del self.latest[next(iter(self.latest))]

    def match(self, skus, customer):
        who = customer.email if customer else ""
        for sku, _ in skus:
            ref = self.latest.get((who, sku)) or self.latest.get(("", sku))
            if ref:
                return ref
        return ""


REQUIRED = object()


class Row:
    """One row's cells by key, collecting a Problem per bad cell in `problems`. (Kept
    flat: it runs for every cell of a million-line file.)"""

    __slots__ = ("columns", "index", "line", "cells", "decimal", "problems")

    def __init__(self, columns, line, cells, decimal="."):
        self.columns, self.index, self.line, self.cells = columns, columns.index, line, cells
        self.decimal = decimal
        self.problems = []

    def text(self, key):
        i = self.index.get(key)
        return self.cells[i].strip() if i is not None else ""

    def money(self, key, negative=False, empty=REQUIRED):
        """Cents; an empty cell (or an absent column) gives `empty` when one is given
        (0 or None), else a Problem."""
        i = self.index.get(key)
        text = self.cells[i] if i is not None else ""
        if empty is not REQUIRED and not text.strip():
            return empty
        try:
            return parse_money(text, self.decimal, negative)
        except ValueProblem as exc:
            self.problems.append(Problem(self.line, self.columns.name(key), exc.reason))
            return None

    def quantity(self, key, negative=False):
        try:
            return parse_quantity(self.text(key), negative)
        except ValueProblem as exc:
            self.problems.append(Problem(self.line, self.columns.name(key), exc.reason))
            return None

    def when(self, reader, key, zone=None, text=None):
        try:
            return reader.read(self.text(key) if text is None else text, self.line, zone)
        except ValueProblem as exc:
            self.problems.append(Problem(self.line, self.columns.name(key), exc.reason))
            return None

    def bad(self, key, reason):
        self.problems.append(Problem(self.line, self.columns.name(key), reason))


MAX_GROUP = 5_000  # rows of one order: Larder takes 500 lines (money.MAX_LINES)


def consecutive(table, key_of, limit=MAX_GROUP):
    """Group a table's rows by key_of(cells) while the key stays the same: yields
    (key, [(line, cells)...]) and passes Problems through as (None, problem). Orders in
    till exports keep their rows together; a sale met again later is a second group (the
    engine reports a ref seen twice). A group above `limit` rows is a Problem, not kept
    in memory (a file whose every row says the same order)."""
    key, group, extra = None, [], 0
    for row in table:
        if isinstance(row, Problem):
            yield None, row
            continue
        k = key_of(row[1])
        if group and k != key:
            yield _group(key, group, extra, limit)
            group, extra = [], 0
        key = k
        if len(group) < limit:
            group.append(row)
        else:
            extra += 1
    if group:
        yield _group(key, group, extra, limit)


def _group(key, group, extra, limit):
    if not extra:
        return key, group
    return None, Problem(group[0][0], "row", Reason(
        N_("%(count)s rows for one order (%(key)r); at most %(limit)s"),
        count=f"{limit + extra:,}", key=key, limit=f"{limit:,}"))
