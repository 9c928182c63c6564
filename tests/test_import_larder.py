"""Larder's own three CSV layouts through the import engine (webapp/imports: the Import
page, `larder import FILE` and the inbox), and their export, against a real SQLite
database in the test's data dir. (These were the tests of webapp/csv_import.py, which the
engine replaced.)"""
from datetime import datetime

import pytest
from sqlalchemy import func, select, update

from larder_files import ImportFailed, import_csv
from webapp import create_app, demo_data, settings
from webapp.csv_export import export_csv
from webapp.extensions import cache, db
from webapp.imports.formats.larder import KINDS
from webapp.imports.plan import MAX_LISTED
from webapp.models import Customer, Order, OrderLine, Product

PRODUCTS = (
    "sku,name,category,price,stock\n"
    "BRD-1,Sourdough,Bakery,4.50,10\n"
    "MLK-1,Whole Milk,Dairy,1.2,40\n"
    "EGG-6,Eggs (6),Dairy,2.30,0\n"
)
CUSTOMERS = (
    "email,name,country,city,created_at\n"
    "Ann@Example.com,Ann Lee,United Kingdom,London,2024-01-02T09:30:00\n"
    "bob@example.org,Bob Roe,France,,2024-02-03\n"
)
ORDERS = (
    "order_ref,created_at,customer_email,sku,quantity,unit_price\n"
    "R1,2024-03-01T10:00:00,ann@example.com,BRD-1,2,4.00\n"
    "R1,2024-03-01T10:00:00,ann@example.com,MLK-1,3,\n"
    "R2,2024-03-02,bob@example.org,EGG-6,1,2.30\n"
)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def seeded(ctx):
    import_csv("products", PRODUCTS.encode())
    import_csv("customers", CUSTOMERS.encode())
    return ctx


@pytest.fixture
def clears():
    """cleared(): whether the cache was emptied since the last call (a real entry in the
    app's real cache, gone or not)."""
    cache.set("probe", 1)

    def cleared():
        gone = cache.get("probe") is None
        cache.set("probe", 1)
        return gone
    return cleared


def counts(result):
    return result.created, result.updated, result.unchanged


def products():
    rows = db.session.execute(select(Product.sku, Product.name, Product.category,
                                     Product.price_cents, Product.stock).order_by(Product.sku))
    return [tuple(r) for r in rows]


def order_snapshot():
    orders = db.session.execute(select(Order).order_by(Order.ref)).unique().scalars()
    return [(o.ref, o.customer.email, o.created_at, o.status, o.total_cents,
             [(line.product.sku, line.quantity, line.unit_price_cents) for line in o.lines])
            for o in orders]


def errors_of(kind, text):
    data = text if isinstance(text, bytes) else text.encode()
    with pytest.raises(ImportFailed) as info:
        import_csv(kind, data)
    return info.value.errors


# ---- happy paths ---------------------------------------------------------------------

def test_products_import(ctx, clears):
    result = import_csv("products", PRODUCTS.encode())
    assert counts(result) == (3, 0, 0) and result.plan.products_found == 3
    assert products() == [("BRD-1", "Sourdough", "Bakery", 450, 10),
                          ("EGG-6", "Eggs (6)", "Dairy", 230, 0),
                          ("MLK-1", "Whole Milk", "Dairy", 120, 40)]
    assert clears()


def test_bom_crlf_quotes_and_column_order(ctx):
    text = ('\ufeffStock , price,SKU,category,name\r\n'
            '5,"1000.00",X-1,Deli,"Ham, smoked"\r\n'
            '7,3.5, X-2 ,Deli,"Two\r\nline ""name"""\r\n'
            '\r\n'
            '1,2,X-3,  Deli  ,Plain\r\n')
    assert import_csv("products", text.encode("utf-8")).created == 3
    assert products() == [("X-1", "Ham, smoked", "Deli", 100000, 5),
                          ("X-2", 'Two\r\nline "name"', "Deli", 350, 7),
                          ("X-3", "Plain", "Deli", 200, 1)]


def test_line_numbers_count_newlines_inside_quotes(ctx):
    text = ('sku,name,category,price,stock\n'
            'A,"three\nline\nname",Deli,1,1\n'
            'B,ok,Deli,abc,1\n'
            '\n'
            'C,ok,Deli,1,-2\n')
    assert errors_of("products", text) == [
        "line 5: price: not a number: 'abc'",
        "line 7: stock: a whole number from 0 to 1,000,000",
    ]


def test_header_only_imports_nothing(ctx, clears):
    assert counts(import_csv("products", b"sku,name,category,price,stock\n")) == (0, 0, 0)
    assert products() == [] and not clears()


def test_reimport_changes_nothing(ctx, clears):
    import_csv("products", PRODUCTS.encode())
    assert clears()
    old = datetime(2001, 2, 3, 4, 5, 6)
    db.session.execute(update(Product).values(updated_at=old))
    db.session.commit()
    assert counts(import_csv("products", PRODUCTS.encode())) == (0, 0, 3)
    assert set(db.session.execute(select(Product.updated_at)).scalars()) == {old}
    assert not clears()  # only the first import changed something


def test_products_update_only_changed_rows(ctx):
    import_csv("products", PRODUCTS.encode())
    old = datetime(2001, 2, 3, 4, 5, 6)
    db.session.execute(update(Product).values(updated_at=old))
    db.session.commit()
    changed = PRODUCTS.replace("Whole Milk,Dairy,1.2,40", "Whole Milk,Dairy,1.35,38")
    changed += "NEW-1,New,Deli,9.99,3\n"
    assert counts(import_csv("products", changed.encode())) == (1, 1, 2)
    stamps = dict(db.session.execute(select(Product.sku, Product.updated_at)).all())
    assert stamps["BRD-1"] == stamps["EGG-6"] == old
    assert stamps["MLK-1"] > old
    assert ("MLK-1", "Whole Milk", "Dairy", 135, 38) in products()


def test_customers_import_and_update(ctx):
    result = import_csv("customers", CUSTOMERS.encode())
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    rows = {c.email: c for c in db.session.execute(select(Customer)).scalars()}
    assert set(rows) == {"ann@example.com", "bob@example.org"}  # emails lowercased
    assert rows["ann@example.com"].created_at == datetime(2024, 1, 2, 9, 30)
    assert (rows["bob@example.org"].city, rows["bob@example.org"].created_at) == \
        ("", datetime(2024, 2, 3))
    # Absent columns and an empty created_at keep the stored values; an empty city is set.
    again = ("name,email,country,created_at\nAnn Lee-Smith,ann@example.com,United Kingdom,\n"
             "Bob Roe,BOB@example.org,France,\n")
    assert counts(import_csv("customers", again.encode())) == (0, 1, 1)
    ann = db.session.execute(select(Customer).filter_by(email="ann@example.com")).scalar_one()
    assert (ann.name, ann.city, ann.created_at) == ("Ann Lee-Smith", "London",
                                                    datetime(2024, 1, 2, 9, 30))
    import_csv("customers", b"email,city,name,country\nann@example.com,,Ann,UK\n")
    db.session.refresh(ann)
    assert (ann.name, ann.city, ann.country) == ("Ann", "", "UK")
    assert import_csv("customers", CUSTOMERS.encode()).updated == 1  # back as it was
    assert import_csv("customers", CUSTOMERS.encode()).unchanged == 2


def test_customer_timezone_converted_to_local_naive(ctx):
    stamp = "2024-06-01T12:00:00.987654+05:00"
    import_csv("customers", f"email,name,country,created_at\na@b.co,A,UK,{stamp}\n".encode())
    expected = datetime.fromisoformat(stamp).astimezone().replace(tzinfo=None, microsecond=0)
    assert db.session.execute(select(Customer.created_at)).scalar_one() == expected
    new = "email,name,country\nc@d.co,C,UK\n"
    import_csv("customers", new.encode())
    created = db.session.execute(
        select(Customer.created_at).filter_by(email="c@d.co")).scalar_one()
    assert abs((datetime.now() - created).total_seconds()) < 60


def test_orders_import(seeded, clears):
    stock_before = products()
    result = import_csv("orders", ORDERS.encode())
    assert counts(result) == (2, 0, 0) and result.plan.lines_found == 3
    assert order_snapshot() == [
        ("R1", "ann@example.com", datetime(2024, 3, 1, 10), "imported", 2 * 400 + 3 * 120,
         [("BRD-1", 2, 400), ("MLK-1", 3, 120)]),  # empty unit_price: the product's price
        ("R2", "bob@example.org", datetime(2024, 3, 2), "imported", 230, [("EGG-6", 1, 230)]),
    ]
    assert products() == stock_before  # imported history does not move stock
    assert clears()


def test_orders_without_unit_price_column(seeded):
    text = ("sku,quantity,customer_email,order_ref,created_at\n"
            "EGG-6,2,bob@example.org,Z,2024-01-01\n")
    assert import_csv("orders", text.encode()).created == 1
    assert order_snapshot()[0][4:] == (460, [("EGG-6", 2, 230)])


def test_orders_reimport_and_update(seeded):
    import_csv("orders", ORDERS.encode())
    assert counts(import_csv("orders", ORDERS.encode())) == (0, 0, 2)
    line_ids = set(db.session.execute(select(OrderLine.id)).scalars())
    changed = ORDERS.replace("R1,2024-03-01T10:00:00,ann@example.com,MLK-1,3,",
                             "R1,2024-03-01T10:00:00,ann@example.com,MLK-1,1,1.00")
    changed = changed.replace("2024-03-01T10:00:00,ann@example.com",
                              "2024-03-05T08:00:00,bob@example.org")
    assert counts(import_csv("orders", changed.encode())) == (0, 1, 1)
    r1 = order_snapshot()[0]
    assert r1 == ("R1", "bob@example.org", datetime(2024, 3, 5, 8), "imported", 900,
                  [("BRD-1", 2, 400), ("MLK-1", 1, 100)])
    assert db.session.execute(select(func.count(OrderLine.id))).scalar() == 3
    # R2's line is untouched; R1's lines were replaced
    assert len(line_ids & set(db.session.execute(select(OrderLine.id)).scalars())) == 1


def test_orders_file_with_some_of_the_orders(seeded):
    import_csv("orders", ORDERS.encode())
    before = order_snapshot()
    text = ("order_ref,created_at,customer_email,sku,quantity\n"
            "R3,2024-04-01T12:00:00,bob@example.org,MLK-1,4\n"
            "R2,2024-03-02,bob@example.org,EGG-6,2\n")
    assert counts(import_csv("orders", text.encode())) == (1, 1, 0)
    assert order_snapshot() == [
        before[0],
        ("R2", "bob@example.org", datetime(2024, 3, 2), "imported", 460, [("EGG-6", 2, 230)]),
        ("R3", "bob@example.org", datetime(2024, 4, 1, 12), "imported", 480,
         [("MLK-1", 4, 120)]),
    ]


def test_round_trip_through_export(ctx, tmp_path):
    demo_data.load_demo(orders=150, seed=3, days=60)
    files = {kind: export_csv(kind) for kind in KINDS}
    order_count = db.session.execute(select(func.count(Order.id))).scalar()
    for kind in KINDS:
        result = import_csv(kind, files[kind].encode())
        assert result.created == result.updated == 0
        plan = result.plan
        rows = plan.lines_found if kind == "orders" else getattr(plan, f"{kind}_found")
        assert rows == files[kind].count("\n") - 1
        assert result.unchanged == (order_count if kind == "orders" else rows)
    methods = settings.get("payment_methods")  # the demo adds its own
    other = create_app({"TESTING": True}, data_dir=tmp_path / "other")
    with other.app_context():
        settings.save({"payment_methods": methods})
        for kind in KINDS:
            assert import_csv(kind, files[kind].encode()).created > 0
            assert export_csv(kind) == files[kind]
        db.session.remove()
        db.engine.dispose()


# ---- errors --------------------------------------------------------------------------

def test_header_errors(ctx):
    assert errors_of("products", "") == ["line 1: file: the file is empty"]
    assert errors_of("products", "\n \n") == ["line 1: file: the file is empty"]
    near = "line 1: header: not a Larder {} file: its columns are {} (Larder's {} columns, but "
    optional = "; the optional ones are: cost, tax_rate, reorder_at, barcode)"
    assert errors_of("products", "sku,name,category,stock\nA,B,C,1\n") == [
        near.format("products", "sku, name, category, stock", "products")
        + "missing column(s): 'price'" + optional]
    assert errors_of("products", "sku,name,category,price,stock,colour,SKU\n") == [
        near.format("products", "sku, name, category, price, stock, colour, SKU", "products")
        + "also unknown column(s): 'colour'; column(s) given twice: 'sku'" + optional]
    assert errors_of("customers", "email,name\n") == [
        near.format("customers", "email, name", "customers")
        + "missing column(s): 'country'; the optional ones are: city, created_at)"]
    # the column number counts from 1, spaces-only names are empty too
    assert errors_of("products", ",sku,name,category,price,stock\n") == [
        near.format("products", ", sku, name, category, price, stock", "products")
        + "column(s) without a name: number 1" + optional]
    assert errors_of("products", "sku,name, ,category,price,stock,\n")[0].endswith(
        "column(s) without a name: number 3, 7" + optional)


def test_windows_text_is_read_and_said(ctx):
    """Not UTF-8 (before: refused): read as Windows-1252, and the plan says so."""
    data = "email,name,country\na@b.co,Ann,UK\nc@d.co,Zoë,UK\n".encode("cp1252")
    assert import_csv("customers", data).plan.encoding == "Windows-1252"
    assert db.session.execute(select(Customer.name).filter_by(email="c@d.co")).scalar() == "Zoë"


def test_bad_quoting(ctx):
    text = 'sku,name,category,price,stock\nA,"ok",D,1,1\nB,"open,D,1,1\nC,x,D,1,1\n'
    assert errors_of("products", text) == [
        "line 3: row: the row cannot be read (unexpected end of data); check its quotes"]
    assert products() == []


def test_product_row_errors(ctx):
    text = ("sku,name,category,price,stock\n"
            "A,Apple,Produce,1.00,1\n"             # 2 fine
            "A,Again,Produce,1.00,1\n"             # 3 duplicate
            "B,,Produce,1.00,1\n"                  # 4 missing name
            "C,Cheese,Dairy,1.005,1\n"             # 5 three decimals
            "D,Dates,Produce,-1,1\n"               # 6 negative price
            "E,Eggs,Dairy,2.00,1.5\n"              # 7 not whole
            "F,Figs,Produce,2.00\n"                # 8 too few fields
            "G,Grapes,Produce,2.00,1,x\n"          # 9 too many
            f"{'H' * 65},Ham,Deli,1,1\n"           # 10 too long
            "I,Ice,Frozen,,3.0\n")                 # 11 missing price ("3.0" is whole)
    assert errors_of("products", text) == [
        "line 3: sku: duplicate of line 2",
        "line 4: name: is required",
        "line 5: price: at most two decimals",
        "line 6: price: must not be negative",
        "line 7: stock: a whole number from 0 to 1,000,000",
        "line 8: row: expected 5 cells as in the header, found 4",
        "line 9: row: expected 5 cells as in the header, found 6",
        "line 10: sku: at most 64 characters",
        "line 11: price: is required",
    ]
    assert products() == []


def test_customer_row_errors(ctx):
    text = ("email,name,country,created_at\n"
            "a@b.co,Ann,UK,\n"
            "A@B.CO,Ann Again,UK,\n"
            "no-at-sign.com,X,UK,\n"
            "two@@b.co,X,UK,\n"
            "c@nodot,X,UK,\n"
            "d@e.co,X,,2024-13-01\n")
    assert errors_of("customers", text) == [
        "line 3: email: duplicate of line 2",
        "line 4: email: not an email address",
        "line 5: email: not an email address",
        "line 6: email: not an email address",
        "line 7: country: is required",
        "line 7: created_at: not a date: '2024-13-01' (no such day or time)",
    ]


def test_order_row_errors(seeded):
    text = ("order_ref,created_at,customer_email,sku,quantity,unit_price\n"
            "R1,2024-03-01,ann@example.com,NOPE,1,\n"
            "R2,2024-03-01,who@example.com,BRD-1,1,\n"
            "R3,yesterday,ann@example.com,BRD-1,1,\n"
            "R4,2024-03-01,ann@example.com,BRD-1,-2,\n"
            "R5,2024-03-01,ann@example.com,BRD-1,0,\n"
            "R6,2024-03-01,ann@example.com,BRD-1,two,\n"
            "R7,2024-03-01,ann@example.com,BRD-1,1,x\n"
            "R8,2024-03-01,ann@example.com,BRD-1,1,\n"
            "R8,2024-03-02,bob@example.org,MLK-1,1,\n"
            ",2024-03-01,ann@example.com,BRD-1,1,\n")
    assert errors_of("orders", text) == [
        "line 2: sku: unknown sku 'NOPE'",
        "line 3: customer_email: unknown customer 'who@example.com'",
        "line 4: created_at: not a date: 'yesterday' (expected like 2025-12-31 or "
        "31/12/2025 14:05)",
        "line 5: quantity: a whole number from 1 to 100,000",  # the API's words
        "line 6: quantity: a whole number from 1 to 100,000",
        "line 7: quantity: a whole number from 1 to 100,000",
        "line 8: unit_price: not a number: 'x'",
        "line 10: created_at: differs from line 9 of order 'R8'",
        "line 10: customer_email: differs from line 9 of order 'R8'",
        "line 11: order_ref: is required",
    ]
    assert order_snapshot() == []


def test_all_or_nothing(ctx):
    import_csv("products", PRODUCTS.encode())
    before = products()
    text = ("sku,name,category,price,stock\n"
            "BRD-1,Sourdough,Bakery,9.99,10\n"   # an update
            "N-1,New,Deli,1,1\n"
            "N-2,New,Deli,1,1\n"
            "N-3,New,Deli,1,oops\n")
    assert errors_of("products", text) == ["line 5: stock: a whole number from 0 to 1,000,000"]
    assert products() == before


def test_failed_write_rolls_back(ctx, monkeypatch, clears):
    def boom():
        raise RuntimeError("disk full")

    monkeypatch.setattr(db.session, "commit", boom)
    with pytest.raises(RuntimeError):
        import_csv("products", PRODUCTS.encode())
    monkeypatch.undo()
    assert products() == [] and not clears()


def test_error_list_is_capped(ctx):
    text = "sku,name,category,price,stock\n" + "".join(
        f"S{i},N,C,bad,1\n" for i in range(250))
    errors = errors_of("products", text)
    assert len(errors) == MAX_LISTED + 1
    assert errors[0] == "line 2: price: not a number: 'bad'"
    assert errors[-1] == "... and 50 more problems"


def test_unknown_kind(ctx):
    assert errors_of("users", b"username\n")[0].startswith(
        "line 1: format: unknown format 'users'; expected one of ")
    with pytest.raises(ValueError):
        export_csv("users")


def test_an_empty_optional_cell_clears_and_an_absent_column_keeps(ctx):
    import_csv("products", "sku,name,category,price,stock,cost,tax_rate,reorder_at\n"
                           "A-1,A,X,2.00,5,1.00,5.5,3\nB-1,B,X,2.00,5,1.00,5.5,3\n")
    result = import_csv("products", "sku,name,category,price,stock,cost,reorder_at\n"
                                     "A-1,A,X,2.00,5,,\nB-1,B,X,2.00,5,1.00,3\n")
    assert counts(result) == (0, 1, 1)
    stored = {r.sku: (r.cost_cents, r.tax_rate_bp, r.reorder_at) for r in db.session.execute(
        select(Product.sku, Product.cost_cents, Product.tax_rate_bp, Product.reorder_at))}
    assert stored == {"A-1": (None, 550, None), "B-1": (100, 550, 3)}
