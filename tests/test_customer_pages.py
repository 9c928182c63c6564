"""A page per customer, editing, merging two, and one spelling per country, city and
category, over real HTTP (Waitress) on a real database."""
import re
from datetime import datetime

import pytest

from conftest import http_session
from webapp import catalog, stats
from webapp.extensions import db
from webapp.models import Customer, Order, Product, Refund


def _order(ref, when, customer, total, status="processed"):
    return Order(ref=ref, created_at=when, status=status, customer_id=customer.id,
                 total_cents=total, gross_cents=total, payment_method="card")


@pytest.fixture
def people(app):
    """Ann (e-mail) with two sales and a cancelled order; Tom, a till's customer without
    e-mail, with one sale partly refunded; Cy with none."""
    with app.app_context():
        ann = Customer(email="ann@example.com", name="Ann Smith", country="France",
                       city="Lyon")
        tom = Customer(email=None, till_id="square:C1", name="Ann S. (till)",
                       country="France")
        cy = Customer(email="cy@example.com", name="Cy", country="Belgium")
        db.session.add_all([ann, tom, cy])
        db.session.flush()
        db.session.add_all([
            _order("C-1", datetime(2025, 3, 1, 10), ann, 12345),
            _order("C-2", datetime(2025, 3, 9, 18, 5), ann, 655),
            _order("C-3", datetime(2025, 4, 2, 9), ann, 99999, status="cancelled"),
            _order("C-4", datetime(2025, 3, 20, 12), tom, 5000, status="imported")])
        db.session.flush()
        c4 = db.session.execute(db.select(Order.id).filter_by(ref="C-4")).scalar()
        db.session.add(Refund(order_id=c4, created_at=datetime(2025, 3, 21, 9),
                              amount_cents=1250, net_cents=1250, reason="broken"))
        db.session.commit()
        ids = {"ann": ann.id, "tom": tom.id, "cy": cy.id}
    app.ids = ids
    return app


def page_of(http, cid):
    return http.get(f"{http.base}/customers/{cid}")


def figure(html, name):
    return re.search(rf'id="{name}">([^<]*)<', html).group(1)


def test_a_customer_page_shows_their_orders_and_lifetime(people):
    with http_session(people) as http:
        ann = page_of(http, people.ids["ann"])
        assert ann.status_code == 200
        assert figure(ann.text, "lifetime-spend") == "€130.00"  # 123.45 + 6.55, not cancelled
        assert figure(ann.text, "order-count") == "2"
        assert figure(ann.text, "last-visit") == "9 Mar 2025"  # the shop's locale (en_GB)
        assert all(ref in ann.text for ref in ("C-1", "C-2", "C-3"))
        tom = page_of(http, people.ids["tom"])
        assert figure(tom.text, "lifetime-spend") == "€37.50"  # 50.00 less 12.50 refunded
        assert "No e-mail" in tom.text and "square:C1" in tom.text
        cy = page_of(http, people.ids["cy"])
        assert figure(cy.text, "last-visit") == "never" and "No orders yet" in cy.text
        assert page_of(http, 999999).status_code == 404
        listing = http.get(http.base + "/customers/")
        assert f'href="/customers/{people.ids["tom"]}"' in listing.text


def _post(http, path, data):
    token = re.search(r'name="csrf_token" value="([^"]+)"',  # as a browser: from a form
                      http.get(http.base + "/customers/new").text).group(1)
    return http.post(http.base + path, data={"csrf_token": token, **data},
                     allow_redirects=False)


def test_editing_a_customer(people):
    with http_session(people) as http:
        cy = f"/customers/{people.ids['cy']}/edit"
        form = http.get(http.base + cy).text
        assert '<datalist id="countries">' in form and '<option value="France">' in form
        done = _post(http, cy, {"email": "cy@example.org", "name": "Cy Young",
                                "country": "  FRANCE ", "city": "lyon"})
        assert done.status_code == 302, done.text
        page = http.get(http.base + done.headers["Location"]).text
        assert "Customer Cy Young saved." in page
        bad = _post(http, cy, {"email": "", "name": "Cy", "country": "France"})
        assert bad.status_code == 400 and "is required" in bad.text
        taken = _post(http, cy, {"email": "ANN@example.com", "name": "Cy", "country": "France"})
        assert taken.status_code == 400 and "merge them instead" in taken.text
        # a till's customer may stay without e-mail
        tom = f"/customers/{people.ids['tom']}/edit"
        assert _post(http, tom, {"email": "", "name": "Tom", "country": "France"}
                     ).status_code == 302
    with people.app_context():
        cy = db.session.get(Customer, people.ids["cy"])
        assert (cy.email, cy.name, cy.country, cy.city) == \
            ("cy@example.org", "Cy Young", "France", "Lyon")  # the stored spellings
        tom = db.session.get(Customer, people.ids["tom"])
        assert (tom.email, tom.name, tom.till_id) == (None, "Tom", "square:C1")


def test_one_spelling_per_value(people):
    with people.app_context():
        new = catalog.create_customer({"email": "dee@example.com", "name": "Dee",
                                       "country": "france", "city": "LYON"})
        assert (new.country, new.city) == ("France", "Lyon")
        assert catalog.create_customer({"email": "eve@example.com", "name": "Eve",
                                        "country": "Österreich"}).country == "Österreich"
        assert catalog.create_customer({"email": "fay@example.com", "name": "Fay",
                                        "country": "ÖSTERREICH"}).country == "Österreich"
        catalog.create_product({"sku": "MILK", "name": "Milk", "category": "Dairy",
                                "price": "1.00", "stock": "1"})
        assert catalog.create_product({"sku": "CHEESE", "name": "Cheese", "category": "dairy",
                                       "price": "3.00", "stock": "1"}).category == "Dairy"
        # the only product of a category can still have its case corrected
        catalog.create_product({"sku": "BREAD", "name": "Bread", "category": "bakery",
                                "price": "2.00", "stock": "1"})
        assert catalog.update_product("BREAD", {"category": "Bakery"}).category == "Bakery"
        assert catalog.update_product("CHEESE", {"category": "DAIRY"}).category == "Dairy"
        assert sorted(catalog.known_values(Product.category)) == ["Bakery", "Dairy"]


def test_merging_moves_everything_and_keeps_the_totals(people):
    ann, tom = people.ids["ann"], people.ids["tom"]
    with people.app_context():
        before = stats.summary()
    with http_session(people) as http:
        http.get(http.base + "/customers/")
        cached = http.get(http.base + "/customers/")
        assert cached.headers.get("X-Cache") == "HIT" and "Ann S. (till)" in cached.text
        found = http.get(f"{http.base}/customers/{ann}/merge", params={"q": "square"})
        assert "Merge Ann S. (till) into Ann Smith" in found.text
        done = _post(http, f"/customers/{ann}/merge", {"other": str(tom)})
        assert done.status_code == 302, done.text
        page = http.get(http.base + done.headers["Location"]).text
        assert "Ann S. (till) was merged into Ann Smith: 1 order moved." in page
        assert figure(page, "lifetime-spend") == "€167.50"  # 130.00 + 37.50
        assert figure(page, "order-count") == "3" and figure(page, "last-visit") == "20 Mar 2025"
        assert "C-4" in page
        after_list = http.get(http.base + "/customers/")
        assert after_list.headers.get("X-Cache") == "MISS"
        assert "Ann S. (till)" not in after_list.text
        assert page_of(http, tom).status_code == 404
        orders = http.get(http.base + "/orders/", params={"customer": str(ann)}).text
        assert sorted(re.findall(r">(C-\d)</a>", orders)) == ["C-1", "C-2", "C-3", "C-4"]
        # with itself, or with someone gone: a message, nothing changes
        same = _post(http, f"/customers/{ann}/merge", {"other": str(ann)})
        assert same.status_code == 400 and "cannot be merged with itself" in same.text
        gone = _post(http, f"/customers/{ann}/merge", {"other": str(tom)})
        assert gone.status_code == 404
        junk = _post(http, f"/customers/{ann}/merge", {"other": "x"})
        assert junk.status_code == 400 and "Choose the customer" in junk.text
    with people.app_context():
        assert stats.summary()["revenue_cents"] == before["revenue_cents"]
        assert stats.summary()["orders"] == before["orders"]
        assert stats.summary()["customers"] == before["customers"] - 1
        kept = db.session.get(Customer, ann)
        assert (kept.email, kept.till_id) == ("ann@example.com", "square:C1")  # both kept
        assert db.session.execute(db.select(db.func.count(Order.id))
                                  .filter_by(customer_id=ann)).scalar() == 4
        assert db.session.execute(db.select(Refund.order_id)).scalar() == \
            db.session.execute(db.select(Order.id).filter_by(ref="C-4")).scalar()


def test_a_till_customer_kept_takes_the_duplicates_email(people):
    with people.app_context():
        kept, moved = catalog.merge_customers(people.ids["tom"], people.ids["ann"])
        assert moved == 3 and (kept.email, kept.till_id) == ("ann@example.com", "square:C1")
        assert stats.customer_figures(kept.id)["spent_cents"] == 12345 + 655 + 5000 - 1250
        assert db.session.get(Customer, people.ids["ann"]) is None
