"""The orders list's filters, a customer's page and merging on PostgreSQL (its ILIKE,
EXTRACT(hour), lower() and transactions), on the demo shop."""
import re

from test_postgres import pg_app, postgres_server  # noqa: F401 (fixtures)

from conftest import TOKEN


def test_filters_customers_and_merging_on_postgres(pg_app):  # noqa: F811
    from webapp import catalog, stats
    from webapp.extensions import db
    from webapp.models import Customer, Order

    client = pg_app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {TOKEN}"
    with pg_app.app_context():
        order = db.session.execute(db.select(Order).where(Order.customer_id.is_not(None))
                                   .order_by(Order.id)).scalars().first()
        day, hour = order.created_at.date().isoformat(), order.created_at.hour
        want = db.session.execute(db.select(db.func.count(Order.id)).where(
            db.func.date(Order.created_at) == order.created_at.date(),
            db.extract("hour", Order.created_at) == hour,
            Order.status.in_(stats.COUNTED))).scalar()
        ann_id, ann_name = order.customer_id, order.customer.name
        other = db.session.execute(db.select(Customer).where(Customer.id != ann_id)
                                   .order_by(Customer.id)).scalars().first()
        other_id, country = other.id, other.country
        before = stats.summary()
    page = client.get("/orders/", query_string={"from": day, "to": day, "hour": str(hour),
                                                "status": "sales"}).get_data(as_text=True)
    assert f"{want:,} order" in page
    found = client.get("/orders/", query_string={"q": ann_name.upper(), "from": day, "to": day}
                       ).get_data(as_text=True)
    assert order.ref in found
    assert client.get("/orders/", query_string={"q": "x\x00"}).status_code == 400
    assert client.get(f"/customers/{ann_id}").status_code == 200
    for url in ("/customers/", f"/customers/{ann_id}/merge"):  # a NUL is dropped, not a 500
        assert client.get(url, query_string={"q": "a\x00"}).status_code == 200, url
    with pg_app.app_context():
        kept, moved = catalog.merge_customers(ann_id, other_id)
        assert moved >= 0 and db.session.get(Customer, other_id) is None
        assert stats.summary()["revenue_cents"] == before["revenue_cents"]
        assert catalog.existing_spelling(Customer.country, country.upper()) == country
    page = client.get(f"/customers/{ann_id}").get_data(as_text=True)
    assert re.search(r'id="order-count">[\d,]+<', page)
