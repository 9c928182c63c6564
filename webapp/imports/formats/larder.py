"""Larder's own three layouts (products, customers, orders), as Larder exports them
(webapp/csv_export.py writes exactly LAYOUTS) or as a spreadsheet saved them: lower-case
column names in any order, money and dates in the shop's locale too (`7,50`,
`31/12/2025 09:15`), text cells written `'=...` by the export read back as `=...`.
A money column names the shop's currency as the export writes it (`price (EUR)`) or
not at all (`price`: files made by Larder 0.5.0 and earlier, hand-made ones); a file whose
money columns name another currency is refused whole (currency_problem).

Every cell is judged by the one set of input rules, with their words: the fields of the
forms' and the API's own models (catalog.ProductIn, ordering.LineIn, webapp/validation.py),
after the shop's locale is read out of the numbers (values.plain_number: `7,50` is 7.50).
"""
from ...catalog import PRODUCT_COLUMNS, CustomerIn, ProductIn
from ...csv_cells import read_text_cell, split_money_header
from ...i18n import N_
from ...ordering import LineIn, OrderIn, parse_discount
from ...validation import OrderRef, ValidationError, check, field_rule
from ..records import (CustomerRecord, LineRecord, Problem, ProductRecord, Reason,
                       SaleRecord)
from ..values import plain_number
from .common import Columns, Row, consecutive

# layout -> (required columns, optional columns); the tuples also fix the export's order.
LAYOUTS = {
    "products": (("sku", "name", "category", "price", "stock"),
                 ("cost", "tax_rate", "reorder_at", "barcode")),
    "customers": (("email", "name", "country"), ("city", "created_at")),
    "orders": (("order_ref", "created_at", "customer_email", "sku", "quantity"),
               ("unit_price", "payment_method", "tax_rate", "line_discount",
                "order_discount")),
}
KINDS = tuple(LAYOUTS)
LAYOUT_WORDS = {"products": N_("products"), "customers": N_("customers"),
                "orders": N_("orders")}
SOURCE = "larder"
# The columns in the shop's currency, headed `price (EUR)` by the export
# (csv_cells.money_header). An order discount is an amount unless it says `%`.
MONEY = frozenset(("price", "cost", "unit_price", "line_discount", "order_discount"))


def _split(text):
    """A header cell -> (the layout's name, the currency it names or None):
    'Price (EUR)' -> ('price', 'EUR'), 'price' -> ('price', None). Only a money column
    may name a currency: 'sku (EUR)' stays an unknown column."""
    name, code = split_money_header(text)
    name = name.lower()
    if code is not None and name not in MONEY:
        return text.strip().lower(), None
    return name, code


def column_names(header):
    """The header's names as LAYOUTS spells them (lower case, without the currency)."""
    return [_split(text)[0] for text in header]


def currency_problem(header, currency):
    """A Problem for the whole file when a money column names another currency than the
    shop's (`price (USD)` in a EUR shop), else None: its amounts would be stored as if
    they were the shop's money, so nothing of such a file is imported."""
    wrong = [(text.strip(), code) for text, (_, code) in zip(header, map(_split, header))
             if code is not None and code != currency]
    if not wrong:
        return None
    codes = ", ".join(dict.fromkeys(code for _, code in wrong))
    columns = ", ".join(repr(text) for text, _ in wrong)
    renamed = ", ".join(repr(f"{_split(text)[0]} ({currency})") for text, _ in wrong)
    return Problem(1, "header", Reason(
        N_("amounts in %(codes)s (%(columns)s), but the shop's currency is %(currency)s: "
           "convert them to %(currency)s and name the column(s) %(renamed)s"),
        codes=codes, columns=columns, currency=currency, renamed=renamed))


def recognise_layout(layout, header):
    required, optional = LAYOUTS[layout]
    names = column_names(header)
    return (set(required) <= set(names) <= set(required) | set(optional)
            and len(set(names)) == len(names))


def near_miss(header):
    """Why a header that is nearly one of Larder's layouts is not it (each column that is
    missing, unknown, twice or without a name), or None when it is not near any."""
    names = column_names(header)
    layout = max(LAYOUTS, key=lambda k: len(set(LAYOUTS[k][0]) & set(names)))
    required, optional = LAYOUTS[layout]
    if len(set(required) & set(names)) < 2:
        return None
    quoted = lambda items: ", ".join(repr(n) for n in items)  # noqa: E731
    missing = [n for n in required if n not in names]
    unknown = list(dict.fromkeys(n for n in names if n and n not in required + optional))
    twice = list(dict.fromkeys(n for i, n in enumerate(names) if n and n in names[:i]))
    unnamed = [str(i + 1) for i, n in enumerate(names) if not n]
    parts = ([Reason(N_("missing column(s): %(columns)s"), columns=quoted(missing))]
             if missing else []) + (
        [Reason(N_("also unknown column(s): %(columns)s"), columns=quoted(unknown))]
        if unknown else []) + (
        [Reason(N_("column(s) given twice: %(columns)s"), columns=quoted(twice))]
        if twice else []) + (
        [Reason(N_("column(s) without a name: number %(numbers)s"),
                numbers=", ".join(unnamed))] if unnamed else [])
    if not parts:  # a whole layout of Larder's, read as another format (--format)
        return Reason(N_("these are Larder's %(layout)s columns"),
                      layout=Reason(LAYOUT_WORDS[layout]))
    problems = parts[0]
    for part in parts[1:]:  # each part said in the shop's language (records.say)
        problems = Reason(N_("%(one)s; %(other)s"), one=problems, other=part)
    return Reason(N_("Larder's %(layout)s columns, but %(problems)s; the optional ones "
                     "are: %(optional)s"), layout=Reason(LAYOUT_WORDS[layout]),
                  problems=problems, optional=", ".join(optional))


def _columns(layout, table, context):
    """(the file's Columns, None), or (None, the Problem that refuses the whole file)."""
    refused = currency_problem(table.header, context.currency)
    if refused:
        return None, refused
    required, optional = LAYOUTS[layout]
    columns = Columns(column_names(table.header), {name: name for name in required + optional})
    # Problems name a column as the file does: `price (EUR)`.
    columns.label = {key: table.header[i].strip() for key, i in columns.index.items()
                     if i is not None}
    return columns, None


class _Row(Row):
    __slots__ = ()

    def text(self, key):
        value = Row.text(self, key)
        return read_text_cell(value) if value[:1] == "'" else value


def _plain_rate(text, decimal):
    """'5,5 %' -> '5.5%': a percent's number in the shop's locale, the sign kept."""
    if text.endswith("%"):
        return plain_number(text[:-1], decimal) + "%"
    return plain_number(text, decimal)


# How each number column is read out of the shop's locale before the rules judge it.
_NUMBERS = {"price": plain_number, "stock": plain_number, "cost": plain_number,
            "reorder_at": plain_number, "tax_rate": _plain_rate, "quantity": plain_number,
            "unit_price": plain_number, "line_discount": plain_number,
            "order_discount": _plain_rate}


def _input(row, keys):
    """The row's cells for an input model, numbers as plain text."""
    decimal = row.decimal
    return {key: _NUMBERS[key](row.text(key), decimal) if key in _NUMBERS else row.text(key)
            for key in keys}


def products(table, context):
    columns, refused = _columns("products", table, context)
    if refused:
        yield refused
        return
    keys = [key for key in sum(LAYOUTS["products"], ()) if columns.has(key)]
    for item in table:
        if not isinstance(item, tuple):
            yield item
            continue
        row = _Row(columns, *item, decimal=context.decimal)
        try:
            p = check(ProductIn, _input(row, keys))
        except ValidationError as exc:
            for field, reason in exc.errors.items():
                yield Problem(row.line, columns.name(field), reason)
            continue
        # An absent optional column leaves the stored value as it is; an empty cell
        # clears it, as the form does.
        cleared = frozenset(PRODUCT_COLUMNS[key] for key in _OPTIONAL if key in keys
                            and not row.text(key))
        yield ProductRecord(row.line, p.sku, p.name, category=p.category,
                            price_cents=p.price, cost_cents=p.cost, tax_rate_bp=p.tax_rate,
                            stock=p.stock, reorder_at=p.reorder_at, barcode=p.barcode,
                            cleared=cleared)


_OPTIONAL = LAYOUTS["products"][1]


def customers(table, context):
    """Checked by catalog.CustomerIn here, so that a row's every bad cell is named, and
    again when written (imports/catalog_rows.py)."""
    columns, refused = _columns("customers", table, context)
    if refused:
        yield refused
        return
    keys = [key for key in ("email", "name", "country", "city") if columns.has(key)]
    dates = context.dates()
    for item in table:
        if not isinstance(item, tuple):
            yield item
            continue
        row = _Row(columns, *item, decimal=context.decimal)
        try:
            check(CustomerIn, _input(row, keys))
        except ValidationError as exc:
            for field, reason in exc.errors.items():
                row.bad(field, reason)
        created = row.when(dates, "created_at") if row.text("created_at") else None
        if row.problems:
            yield from row.problems
            continue
        yield CustomerRecord(row.line, email=row.text("email").lower(), name=row.text("name"),
                             country=row.text("country"),
                             city=row.text("city") if columns.has("city") else None,
                             created_at=created)


class _Cell:
    """One column's rule, remembering its answers: an orders file repeats its SKUs,
    quantities, prices and e-mails on every line. (Kept flat: it runs for every cell of a
    million-line file.)"""

    __slots__ = ("key", "index", "rule", "seen", "limit")

    def __init__(self, columns, key, rule, remember=True):
        self.key, self.index, self.rule, self.seen = key, columns.index[key], rule, {}
        self.limit = 20_000 if remember else 0  # a bounded memo, not a leak

    def __call__(self, row):
        i = self.index
        text = row.cells[i].strip() if i is not None else ""
        answer = self.seen.get(text)
        if answer is None:
            plain = read_text_cell(text) if text[:1] == "'" else text
            if self.key in _NUMBERS:
                plain = _NUMBERS[self.key](plain, row.decimal)
            try:
                answer = (True, self.rule(plain))
            except ValueError as exc:
                answer = (False, str(exc))
            if len(self.seen) >= self.limit:
                self.seen.clear()
            if self.limit:
                self.seen[text] = answer
        if answer[0]:
            return answer[1]
        row.bad(self.key, answer[1])
        return None


def _order_cells(columns):
    """The orders layout's cells by the API's own rules: a line is ordering.LineIn (its
    `discount` is the column line_discount), the order's fields OrderIn's."""
    from ...validation import OptionalMoney, OptionalTaxRate

    rules = {"order_ref": field_rule(OrderRef, None),
             "customer_email": field_rule(OrderIn, "customer_email"),
             "payment_method": field_rule(OrderIn, "payment_method"),
             "order_discount": parse_discount,
             "sku": field_rule(LineIn, "sku"),
             "quantity": field_rule(LineIn, "quantity"),
             "line_discount": field_rule(LineIn, "discount"),
             "unit_price": field_rule(OptionalMoney, None),
             "tax_rate": field_rule(OptionalTaxRate, None)}
    return {key: _Cell(columns, key, rule, remember=key != "order_ref")
            if columns.has(key) else _absent(rule) for key, rule in rules.items()}


def _absent(rule):
    """A column the file lacks reads as empty cells (see larder_sales.py for what a
    recorded order keeps)."""
    value = rule("")
    return lambda row: value


# Every line of an order must say what its first line says about the order.
_ORDER_FIELDS = ("created_at", "customer_email", "payment_method", "order_discount")


def orders(table, context):
    columns, refused = _columns("orders", table, context)
    if refused:
        yield refused
        return
    dates = context.dates()
    cells = _order_cells(columns)
    keep = frozenset(key for key in LAYOUTS["orders"][1] if not columns.has(key))
    same = [(columns.index[key], key) for key in _ORDER_FIELDS if columns.has(key)]
    sku_cell, quantity_cell, price_cell, rate_cell, discount_cell = (
        cells[key] for key in ("sku", "quantity", "unit_price", "tax_rate", "line_discount"))
    for ref, group in consecutive(table, lambda cells: columns.get(cells, "order_ref")):
        if ref is None:
            yield group
            continue
        head = _Row(columns, *group[0], decimal=context.decimal)
        created = head.when(dates, "created_at")
        ref = cells["order_ref"](head)
        email = cells["customer_email"](head)
        method = cells["payment_method"](head)
        discount = cells["order_discount"](head)
        lines, problems = [], head.problems
        for line, row_cells in group:
            row = head if line == head.line else _Row(columns, line, row_cells,
                                                       decimal=context.decimal)
            if row is not head:
                for i, key in same:
                    if row_cells[i].strip() != head.cells[i].strip():
                        row.bad(key, Reason(N_("differs from line %(line)s of order %(order)r"),
                                            line=head.line,
                                            order=read_text_cell(head.text("order_ref"))))
            before = len(row.problems)
            sku, quantity, price = sku_cell(row), quantity_cell(row), price_cell(row)
            rate, line_discount = rate_cell(row), discount_cell(row)
            if row is not head:
                problems += row.problems
            if len(row.problems) == before:
                product = ProductRecord(line, sku, "", known_only=True)
                lines.append(LineRecord(line, product, quantity, price, tax_rate_bp=rate,
                                        discount_cents=line_discount or 0))
        if problems or created is None:
            yield from problems
            continue
        kind, value = discount or (None, None)
        customer = CustomerRecord(head.line, email=email, known_only=True) if email else None
        yield SaleRecord(head.line, SOURCE, ref, created, lines, customer=customer,
                         payment_method=method, prices_include_tax=context.prices_include_tax,
                         order_discount_cents=value if kind == "amount" else 0,
                         order_discount_percent_bp=value if kind == "percent" else None,
                         keep=keep)
