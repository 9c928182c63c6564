"""The same app on PostgreSQL (scale-out mode): DATABASE_URL is all it takes."""
import itertools

import pytest
import sqlalchemy

from cache_servers import postgres_server  # noqa: F401  (fixture)
from conftest import TOKEN

_names = itertools.count()


@pytest.fixture
def pg_app(postgres_server, data_dir):  # noqa: F811
    from webapp import create_app
    from webapp.demo_data import load_demo

    name = f"larder_{next(_names)}"
    with sqlalchemy.create_engine(f"{postgres_server}/postgres",
                                  isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
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
