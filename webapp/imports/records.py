"""What every import format produces: plain records, one per thing in the file, carrying
the file line they came from. The engine checks them with the one set of input rules
(webapp/validation.py), matches them to what Larder has, and writes them.

Money is integer cents, rates basis points (20 % = 2000), times naive shop time (the
format converts UTC offsets and time zones with values.to_shop_time).
"""
from dataclasses import dataclass, field
from datetime import datetime

from ..i18n import gettext


class Reason(str):
    """A problem's words: English as a str (what the code and the logs compare), and the
    catalog's text with its values, to be said in the shop's language by `say` where the
    problem reaches the plan (in the importing process, in its app context). A file may be
    read in a forked child (pipeline.py), which need not know the shop's language.

        Reason(N_("not an amount: %(text)r (expected like 12.50)"), text=shown)
    """

    def __new__(cls, msgid, **values):
        self = super().__new__(cls, msgid % values if values else msgid)
        self.msgid, self.values = msgid, values
        return self

    def __reduce__(self):  # pickled whole to the importing process (pipeline.py)
        return _reason, (self.msgid, self.values)


def _reason(msgid, values):
    return Reason(msgid, **values)


def say(text):
    """`text` in the shop's language: a Reason by its catalog text (a value that is a
    Reason too, the rest, the file's own text, as it is), a plain str if the catalog has
    it (a word marked N_), else as it is."""
    if isinstance(text, Reason):
        if not text.values:
            return gettext(text.msgid)
        return gettext(text.msgid, **{k: say(v) if isinstance(v, Reason) else v
                                      for k, v in text.values.items()})
    return gettext(text) if isinstance(text, str) and text else text


@dataclass(slots=True)
class Problem:
    """A bad row: `line N: column: reason`, in words that say what was expected. str()
    says it in the shop's language (where the app context knows it; else English)."""

    line: int
    column: str
    reason: str

    def __str__(self):
        return gettext("line %(line)s: %(column)s: %(reason)s", line=self.line,
                       column=self.column, reason=say(self.reason))


@dataclass(slots=True)
class CustomerRecord:
    line: int
    email: str = ""          # matched first
    till_id: str = ""        # then the till's customer id ("square:CUST123")
    name: str = ""
    country: str = ""
    city: str | None = ""   # None: a customers file without the column (kept as stored)
    created_at: datetime | None = None  # Larder's customers layout
    known_only: bool = False  # a reference that must exist already (Larder's orders layout)


@dataclass(slots=True)
class ProductRecord:
    line: int
    sku: str                 # a till line without SKU gets a made-up one (formats.made_up_sku)
    name: str
    category: str = ""
    price_cents: int | None = None
    cost_cents: int | None = None
    tax_rate_bp: int | None = None
    stock: int | None = None
    reorder_at: int | None = None
    barcode: str | None = None     # None: leave as it is (or cleared, below)
    archived: bool | None = None   # None: leave as it is
    # Larder's products layout: the optional fields given as an empty cell, cleared (as
    # the form clears them); other None fields are left as they are.
    cleared: frozenset = frozenset()
    known_only: bool = False       # a reference that must exist already (Larder's orders)
    skip: str = ""                 # why it is not imported (a gift card): the preview lists it


@dataclass(slots=True)
class LineRecord:
    line: int
    product: ProductRecord   # created when unknown, matched by SKU
    quantity: int
    unit_price_cents: int | None  # in the prices' terms (tax included when the sale's
                                  # prices do); None: the product's price (Larder's layout)
    tax_rate_bp: int | None = 0   # None: the product's rate (Larder's layout)
    discount_cents: int = 0  # the line's own discount
    unit_cost_cents: int | None = None  # when the file says (Loyverse's cost of goods)


@dataclass(slots=True)
class RefundRecord:
    line: int
    created_at: datetime
    amount_cents: int        # tax included, positive
    reason: str = ""
    lines: list = field(default_factory=list)  # [(LineRecord index in the sale, quantity)]; [] = by amount
    # A refund on its own (a refund row of a till, not inside its sale's rows): the ref of
    # the sale it refunds ("square:Tx1"; "" when the file does not link it and no earlier
    # sale in the file matched), and what it refunds by SKU, matched to the sale's lines.
    sale_ref: str = ""
    skus: list = field(default_factory=list)   # [(sku, quantity)]
    tax_cents: int | None = None   # the file's own refund tax, when it gives one
    customer: "CustomerRecord | None" = None  # for matching an unlinked refund


@dataclass(slots=True)
class SaleRecord:
    line: int                # the sale's first line in the file
    source: str              # "shopify", "square", "sumup", "loyverse", "larder"
    source_id: str           # the till's own order id (see ref)
    created_at: datetime
    lines: list              # [LineRecord]
    customer: CustomerRecord | None = None   # None: a walk-in sale
    payment_method: str = ""
    prices_include_tax: bool = True
    order_discount_cents: int = 0
    order_discount_percent_bp: int | None = None  # "10%" (Larder's layout)
    refunds: list = field(default_factory=list)  # [RefundRecord]
    skip: str = ""           # why it is not imported ("test order", "voided"): listed in the preview
    expected_total_cents: int | None = None  # the file's own total, checked when given
    expected_tax_cents: int | None = None    # the file's own tax, checked when given
    currency: str = ""                       # ISO code when the file says
    # Larder's orders layout: the optional columns the file lacks, whose stored values a
    # recorded order keeps (imports/larder_sales.py).
    keep: frozenset = frozenset()

    @property
    def ref(self):
        """Larder's own exports keep their refs; a till's orders are keyed by the till."""
        return self.source_id if self.source == "larder" else f"{self.source}:{self.source_id}"


# ---- packed: a sale as plain lists and tuples (imports/pipeline.py sends them between
# processes; pickling dataclasses one by one costs several times more) ------------------

def _names(cls, skip=0):
    from dataclasses import fields
    from operator import attrgetter

    return attrgetter(*[f.name for f in fields(cls)][skip:])


_SALE, _PRODUCT, _CUSTOMER = _names(SaleRecord), _names(ProductRecord), _names(CustomerRecord)
_LINE_REST = _names(LineRecord, skip=2)   # after line and product


def pack(item):
    """A SaleRecord as a list of its fields (lines, product and customer as tuples);
    anything else as it is (pickled the usual way)."""
    if type(item) is not SaleRecord:
        return item
    values = list(_SALE(item))
    values[4] = [(line.line, _PRODUCT(line.product), *_LINE_REST(line)) for line in item.lines]
    if item.customer is not None:
        values[5] = _CUSTOMER(item.customer)
    return values


def unpack(item):
    if type(item) is not list:
        return item
    item[4] = [LineRecord(v[0], ProductRecord(*v[1]), *v[2:]) for v in item[4]]
    if item[5] is not None:
        item[5] = CustomerRecord(*item[5])
    return SaleRecord(*item)
