"""Larder's own three layouts (products, customers, orders: webapp/csv_import.py), as
Larder exports them or as a spreadsheet saved them: lower-case column names in any order,
money and dates in the shop's locale too (`7,50`, `31/12/2025 09:15`), text cells
written `'=...` by Larder's export read back as `=...`. The engine checks the values with
the one set of input rules (webapp/validation.py)."""
from ...csv_cells import read_text_cell
from ..records import CustomerRecord, LineRecord, ProductRecord, SaleRecord
from .common import Columns, Row, consecutive

# layout -> (required columns, optional columns)
LAYOUTS = {
    "products": (("sku", "name", "category", "price", "stock"),
                 ("cost", "tax_rate", "reorder_at")),
    "customers": (("email", "name", "country"), ("city", "created_at")),
    "orders": (("order_ref", "created_at", "customer_email", "sku", "quantity"),
               ("unit_price", "payment_method")),
}
SOURCE = "larder"


def recognise_layout(layout, header):
    required, optional = LAYOUTS[layout]
    names = {name.strip().lower() for name in header}
    return set(required) <= names and names <= set(required) | set(optional)


def _columns(layout, header):
    required, optional = LAYOUTS[layout]
    return Columns(header, {name: name for name in required + optional})


class _Row(Row):
    __slots__ = ()

    def text(self, key):
        value = Row.text(self, key)
        return read_text_cell(value) if value[:1] == "'" else value


def _whole(row, key, optional=False):
    if optional and not row.text(key):
        return None
    return row.quantity(key)


def products(table, context):
    columns = _columns("products", table.header)
    for item in table:
        if not isinstance(item, tuple):
            yield item
            continue
        row = _Row(columns, *item, decimal=context.decimal)
        price = row.money("price")
        cost = row.money("cost", empty=None)
        stock = _whole(row, "stock")
        reorder = _whole(row, "reorder_at", optional=True)
        rate = None
        if row.text("tax_rate"):
            from ...validation import parse_rate

            try:
                rate = parse_rate(row.text("tax_rate").replace(",", "."))
            except ValueError as exc:
                row.bad("tax_rate", str(exc))
        if row.problems:
            yield from row.problems
            continue
        yield ProductRecord(row.line, row.text("sku"), row.text("name"),
                            category=row.text("category"), price_cents=price, cost_cents=cost,
                            tax_rate_bp=rate, stock=stock, reorder_at=reorder)


def customers(table, context):
    columns = _columns("customers", table.header)
    dates = context.dates()
    for item in table:
        if not isinstance(item, tuple):
            yield item
            continue
        row = _Row(columns, *item, decimal=context.decimal)
        created = row.when(dates, "created_at") if row.text("created_at") else None
        if row.problems:
            yield from row.problems
            continue
        yield CustomerRecord(row.line, email=row.text("email").lower(), name=row.text("name"),
                             country=row.text("country"), city=row.text("city"),
                             created_at=created)


def orders(table, context):
    columns = _columns("orders", table.header)
    dates = context.dates()
    # Every line of an order must say the same time and customer as its first line.
    names = {columns.index[k]: k for k in ("created_at", "customer_email")}
    same = tuple(names)
    for ref, group in consecutive(table, lambda cells: columns.get(cells, "order_ref")):
        if ref is None:
            yield group
            continue
        head = _Row(columns, *group[0], decimal=context.decimal)
        created = head.when(dates, "created_at")
        lines, problems = [], list(head.problems)
        for line, cells in group:
            row = _Row(columns, line, cells, decimal=context.decimal)
            quantity = row.quantity("quantity")
            price = row.money("unit_price", empty=None)
            for key in same:
                if cells[key] != head.cells[key]:
                    row.bad(names[key], f"differs from line {head.line} of order {ref!r}")
            problems += row.problems
            if not row.problems:
                product = ProductRecord(line, row.text("sku"), "", known_only=True)
                lines.append(LineRecord(line, product, quantity, price, tax_rate_bp=None))
        if problems or created is None:
            yield from problems
            continue
        email = head.text("customer_email").lower()
        customer = CustomerRecord(head.line, email=email, known_only=True) if email else None
        yield SaleRecord(head.line, SOURCE, read_text_cell(ref), created, lines,
                         customer=customer, payment_method=head.text("payment_method"),
                         prices_include_tax=context.prices_include_tax)
