"""The same app on PostgreSQL (scale-out mode): DATABASE_URL is all it takes."""
import itertools

import pytest
import sqlalchemy

from cache_servers import new_database, postgres_server  # noqa: F401  (fixture)
from conftest import TOKEN

_names = itertools.count()


@pytest.fixture
def pg_app(postgres_server, data_dir):  # noqa: F811
    from webapp import create_app
    from webapp.demo_data import load_demo

    name = f"larder_{next(_names)}"
    new_database(postgres_server, name)
    app = create_app({"TESTING": True, "LARDER_TOKEN": TOKEN,
                      # the plain form users write; Larder picks its driver (psycopg)
                      "DATABASE_URL": f"{postgres_server}/{name}".replace(
                          "postgresql+psycopg://", "postgres://"),
                      "CELERY_OVERRIDES": {"task_always_eager": True}}, data_dir=data_dir)
    with app.app_context():
        load_demo(orders=1500, seed=11)
    yield app
    with app.app_context():
        from webapp.extensions import db

        db.session.remove()
        db.engine.dispose()


def test_pages_stats_orders_and_reports_on_postgres(pg_app):
    from webapp import reports
    from webapp.extensions import db

    client = pg_app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {TOKEN}"
    with pg_app.app_context():
        assert db.engine.dialect.name == "postgresql"
        sales = db.session.execute(sqlalchemy.text(  # demo orders, less the cancelled ones
            "SELECT count(*) FROM orders WHERE status <> 'cancelled'")).scalar()
    assert 1400 < sales < 1500
    assert client.get("/").status_code == 200
    assert "Revenue by month" in client.get("/").get_data(as_text=True)
    stats = client.get("/api/stats").json
    assert stats["orders"] == sales and stats["products"] == 120
    assert "Sourdough" in client.get("/products/?q=sourdough").get_data(as_text=True)

    email = client.get("/customers/").get_data(as_text=True).split("<td>")[2].split("<")[0]
    stock = client.get("/api/products/BAK-001").json["stock"]
    created = client.post("/api/orders", json={"customer_email": email,
                                               "lines": [{"sku": "BAK-001", "quantity": 1}]})
    assert created.status_code == 201
    order = client.get(f"/api/orders/{created.json['id']}").json
    assert order["status"] == "processed"
    assert client.get("/api/products/BAK-001").json["stock"] == stock - 1
    assert client.get("/api/stats").json["orders"] == sales + 1

    with pg_app.app_context():
        data = reports.collect(*reports.parse_range("2020-01-01", "2030-12-31"))
    assert data["totals"]["orders"] == sales + 1
    assert sum(m["orders"] for m in data["by_month"]) == sales + 1


def test_extended_report_on_postgres(pg_app, tmp_path):
    """The report's SQL of issue 10 on PostgreSQL: hours (to_char) with a day starting at
    a minute past the hour, a refund paid back by the order's method, every format."""
    import json
    from datetime import date, datetime

    from webapp import reports
    from webapp.extensions import db
    from webapp.models import Order, Refund, RefundLine, Setting
    from webapp.reports.report_data import sales_figures

    with pg_app.app_context():
        # The demo's own refunds, payment methods and cancelled orders aside: this test's
        # refund and card payment are the only ones
        db.session.execute(sqlalchemy.text("DELETE FROM refund_lines"))
        db.session.execute(sqlalchemy.text("DELETE FROM refunds"))
        db.session.execute(sqlalchemy.text("UPDATE orders SET payment_method = ''"))
        counted = db.session.execute(sqlalchemy.text(
            "SELECT count(*) FROM orders WHERE status <> 'cancelled'")).scalar()
        db.session.add(Setting(key="day_starts_at", value=json.dumps("00:30")))
        order = db.session.execute(db.select(Order).order_by(Order.id)).scalars().first()
        line = order.lines[0]
        order.payment_method = "card"
        refund = Refund(order_id=order.id, created_at=datetime(2031, 1, 1, 0, 15),
                        payment_method="", amount_cents=100, net_cents=100, tax_cents=0)
        refund.lines = [RefundLine(order_line_id=line.id, quantity=1, net_cents=100,
                                   tax_cents=0, tax_rate_bp=0)]
        db.session.add(refund)
        db.session.commit()
        data = reports.collect(date(2020, 1, 1), date(2030, 12, 31))
        totals = data["totals"]
        assert sum(r["orders"] for r in data["by_hour"]) == totals["orders"] == counted
        assert sum(r["revenue_cents"] for r in data["by_hour"]) == totals["revenue_cents"]
        assert sum(r["revenue_cents"] for r in data["by_weekday"]) == totals["revenue_cents"]
        assert sum(r["gross_cents"] for r in data["tax"]) == totals["revenue_cents"]
        # 00:15 on 1 January 2031 is still the business day of 31 December 2030
        assert totals["refunds_cents"] == 100
        assert sum(r["orders"] for r in data["by_payment_method"]) == counted
        assert {"method": "card", "orders": 1,
                "revenue_cents": order.total_cents - 100} in data["by_payment_method"]
        day = sales_figures(datetime(2030, 12, 31, 0, 30), datetime(2031, 1, 1, 0, 30))
        assert (day["refunds_cents"], day["by_payment_method"]) == (
            100, [{"method": "card", "orders": 0, "revenue_cents": -100}])
        for fmt in reports.FORMATS:
            reports.build_report(date(2020, 1, 1), date(2030, 12, 31), fmt,
                                 tmp_path / f"r.{fmt}")
        from sqlalchemy import func

        from webapp.models import OrderLine
        sold = db.session.scalar(db.select(func.count(OrderLine.id)).join(Order)
                                 .where(Order.status != "cancelled"))
    # the header, one row per line sold, the refund
    assert (tmp_path / "r.lines").read_text("utf-8-sig").count("\n") == 1 + sold + 1


def test_orders_export_then_import_changes_nothing_on_postgres(pg_app):
    """The import engine's Larder orders layout looks recorded orders up on the driver's
    own cursor (imports/larder_sales.py): its `%s` parameters on psycopg."""
    from larder_files import import_csv
    from webapp.csv_export import export_csv
    from webapp.extensions import db

    with pg_app.app_context():
        text = export_csv("orders")
        orders = db.session.execute(sqlalchemy.text("SELECT count(*) FROM orders")).scalar()
        result = import_csv("orders", text)
        assert (result.created, result.updated, result.unchanged) == (0, 0, orders)
        assert export_csv("orders") == text
