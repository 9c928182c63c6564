"""Orders CSV: export then `larder import FILE` (the engine, as the Import page, the CLI
and the inbox use it) changes nothing, discounts and tax rates included, and a real
change (one order's discount) is written with the right figures."""
import csv
import io
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import func, select

from webapp import demo_data, settings
from webapp.csv_export import export_csv
from larder_files import ImportFailed, import_csv
from webapp.extensions import db
from webapp.models import Order, OrderLine, Product, Refund
from webapp.ordering import parse_discount


@pytest.fixture
def demo(app):
    with app.app_context():
        demo_data.load_demo(orders=300, seed=7, days=30)
        yield app


def snapshot():
    """Every order's stored money and terms, and its lines', by ref."""
    orders = {o.ref: (o.customer_id, o.created_at.replace(microsecond=0), o.status,
                      o.gross_cents, o.discount_cents, o.total_cents, o.tax_cents,
                      o.discount_percent_bp, o.discount_amount_cents, o.payment_method,
                      o.currency, o.prices_include_tax)
              for o in db.session.execute(select(Order)).unique().scalars()}
    lines = {}
    for r in db.session.execute(select(Order.ref, OrderLine).join(OrderLine.order)
                                .order_by(OrderLine.id)):
        line = r[1]
        lines.setdefault(r[0], []).append(
            (line.product_id, line.quantity, line.unit_price_cents, line.tax_rate_bp,
             line.discount_cents, line.unit_cost_cents, line.net_cents, line.tax_cents))
    return orders, lines


def rows_of(text):
    return list(csv.DictReader(io.StringIO(text)))


def plain(row):
    """A row under the plain column names of files made by Larder 0.5.0 and earlier
    (`unit_price`, not `unit_price (EUR)`)."""
    return {key.removesuffix(" (EUR)"): value for key, value in row.items()}


def csv_of(rows):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def half_up(value):
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_round_trip_of_demo_data_changes_nothing(demo):
    before = snapshot()
    orders = before[0].values()
    # The data holds what the old export lost or what could trip the import.
    assert any(o[7] is not None for o in orders) and any(o[8] is not None for o in orders)
    assert any(line[4] for lines in before[1].values() for line in lines)
    assert any(o[0] is None for o in orders)                  # walk-in sales
    assert len({o[9] for o in orders}) >= 3                   # payment methods
    assert db.session.execute(select(func.count(Refund.id))).scalar() > 0
    assert len({line[3] for lines in before[1].values() for line in lines}) >= 2  # rates
    text = export_csv("orders")
    # The shop's settings and products changed since: recorded orders must not follow.
    settings.save({"prices_include_tax": not settings.get("prices_include_tax"),
                   "default_tax_rate_bp": 1234})
    db.session.execute(Product.__table__.update().values(tax_rate_bp=999, cost_cents=1,
                                                         price_cents=12345))
    db.session.commit()
    result = import_csv("orders", text.encode())
    assert (result.created, result.updated, result.unchanged) == (0, 0, len(before[0]))
    assert snapshot() == before
    assert export_csv("orders") == text


def test_a_changed_order_discount_updates_that_order_only(demo):
    before = snapshot()
    refunded = set(db.session.execute(select(Refund.order_id)).scalars())
    ref, order = next(
        (ref, o) for ref, o in db.session.execute(select(Order.ref, Order)).all()
        if o.id not in refunded and len(o.lines) == 1 and o.lines[0].discount_cents == 0
        and o.status == "imported")
    line = order.lines[0]
    product_id, quantity, unit, rate, cost = (line.product_id, line.quantity,
                                              line.unit_price_cents, line.tax_rate_bp,
                                              line.unit_cost_cents)
    include = order.prices_include_tax
    rows = rows_of(export_csv("orders"))
    mine = [row for row in rows if row["order_ref"] == ref]
    assert len(mine) == 1 and mine[0]["tax_rate"] == f"{Decimal(rate) / 100:f}"
    mine[0]["order_discount (EUR)"] = "12.5%"
    # Later settings and product costs do not re-price or re-cost the changed order.
    settings.save({"prices_include_tax": not include})
    db.session.execute(Product.__table__.update().values(cost_cents=7, tax_rate_bp=0))
    db.session.commit()

    result = import_csv("orders", csv_of(rows).encode())
    assert (result.created, result.updated, result.unchanged) == (0, 1, len(before[0]) - 1)

    amount = quantity * unit
    off = half_up(Decimal(amount) * Decimal("0.125"))
    paid = amount - off
    if include:
        tax = half_up(Decimal(paid) * rate / (10_000 + rate))
        net, total, gross = paid - tax, paid, amount
    else:
        tax = half_up(Decimal(paid) * rate / 10_000)
        net, total, gross = paid, paid + tax, amount + half_up(Decimal(amount) * rate / 10_000)
    after = snapshot()
    expected = before[0][ref][:3] + (gross, gross - total, total, tax, 1250, None) \
        + before[0][ref][9:]
    assert after[0][ref] == expected
    assert after[1][ref] == [(product_id, quantity, unit, rate, 0, cost, net, tax)]
    assert {k: v for k, v in after[0].items() if k != ref} == \
        {k: v for k, v in before[0].items() if k != ref}
    assert {k: v for k, v in after[1].items() if k != ref} == \
        {k: v for k, v in before[1].items() if k != ref}


def test_changed_line_discount_or_tax_rate_is_a_change(demo):
    refunded = set(db.session.execute(select(Refund.order_id)).scalars())
    free = [o.ref for o in db.session.execute(select(Order)).unique().scalars()
            if o.id not in refunded and o.status == "imported"]
    rows = rows_of(export_csv("orders"))
    first = next(row for row in rows if row["order_ref"] == free[0])
    second = next(row for row in rows if row["order_ref"] == free[1])
    first["line_discount (EUR)"] = "0.01"
    second["tax_rate"] = "3.3" if second["tax_rate"] != "3.3" else "4.4"
    assert import_csv("orders", csv_of(rows).encode()).updated == 2
    lines = {o.ref: o.lines for o in db.session.execute(
        select(Order).where(Order.ref.in_(free[:2]))).unique().scalars()}
    assert lines[free[0]][0].discount_cents == 1
    assert lines[free[1]][0].tax_rate_bp in (330, 440)


def test_refunded_orders_stay_as_they_are(demo):
    refunded = db.session.execute(select(Order.ref).join(Refund, Refund.order_id == Order.id)
                                  ).scalars().first()
    rows = rows_of(export_csv("orders"))
    for row in rows:
        if row["order_ref"] == refunded:
            row["order_discount (EUR)"] = "1.00"
    with pytest.raises(ImportFailed) as failed:
        import_csv("orders", csv_of(rows).encode())
    assert failed.value.errors[0].endswith(
        f": order: order {refunded} is already in Larder with other figures and has "
        "refunds; an import cannot change it")


def test_discount_cells_follow_the_api_rules(app):
    with app.app_context():
        import_csv("products", b"sku,name,category,price,stock\nTEA,Tea,Food,2.00,5\n")
        head = "order_ref,created_at,customer_email,sku,quantity,line_discount,order_discount\n"
        with pytest.raises(ValueError) as api:
            parse_discount("ten")
        with pytest.raises(ImportFailed) as failed:
            import_csv("orders", (head +
                                  "A1,2024-03-01,,TEA,2,4.01,\n"       # more than the line
                                  "A2,2024-03-01,,TEA,1,,ten\n"        # not a discount
                                  "A3,2024-03-01,,TEA,1,,5%\n"
                                  "A3,2024-03-01,,TEA,1,,\n"           # differs
                                  "A4,2024-03-01,,TEA,1,1.50,0.51\n"   # more than the order
                                  "A5,2024-03-01,,TEA,1,,101%\n").encode())
        assert failed.value.errors == [
            "line 2: line_discount: more than the line (4.00)",
            f"line 3: order_discount: {api.value}",
            "line 5: order_discount: differs from line 4 of order 'A3'",
            "line 6: discount: order A4: the order discount is more than the order",
            "line 7: order_discount: a percent from 0 to 100, like 20 or 5.5",
        ]
        result = import_csv("orders", (head + "A1,2024-03-01,,TEA,2,0.50,10%\n"
                                       "A2,2024-03-01,,TEA,1,,1.00\n").encode())
        assert result.created == 2
        got = {o.ref: (o.gross_cents, o.discount_cents, o.total_cents, o.discount_percent_bp,
                       o.discount_amount_cents, o.lines[0].discount_cents)
               for o in db.session.execute(select(Order)).unique().scalars()}
        # A1: 4.00 - 0.50 = 3.50, 10 % = 0.35 off: 3.15; A2: 2.00 - 1.00 (tax included)
        assert got == {"A1": (400, 85, 315, 1000, None, 50), "A2": (200, 100, 100, None, 100, 0)}


def test_a_file_without_the_new_columns_keeps_what_is_stored(demo):
    """An export made before these columns (or a hand-made file without them) must not
    wipe recorded discounts, rates or payment methods."""
    before = snapshot()
    rows = rows_of(export_csv("orders"))
    old_format = [{k: v for k, v in plain(row).items()
                   if k not in ("payment_method", "tax_rate", "line_discount", "order_discount")}
                  for row in rows]
    no_prices = [{k: v for k, v in row.items() if k != "unit_price"} for row in old_format]
    settings.save({"default_tax_rate_bp": 1234})
    db.session.execute(Product.__table__.update().values(tax_rate_bp=999, price_cents=4321))
    db.session.commit()
    for text in (csv_of(old_format), csv_of(no_prices)):
        result = import_csv("orders", text.encode())
        assert (result.created, result.updated) == (0, 0)
        assert snapshot() == before
    # With the column, an empty order_discount does mean "no discount": a real change.
    refunded = set(db.session.execute(select(Order.ref).join(Refund, Refund.order_id ==
                                                             Order.id)).scalars())
    discounted = next(ref for ref, o in before[0].items()
                      if o[7] is not None and ref not in refunded)
    for row in rows:
        if row["order_ref"] == discounted:
            row["order_discount (EUR)"] = ""
    result = import_csv("orders", csv_of(rows).encode())
    assert (result.updated, result.unchanged) == (1, len(before[0]) - 1)
    assert snapshot()[0][discounted][7:9] == (None, None)
