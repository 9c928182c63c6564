"""Sentences Larder stores for people to read later (an order's reason, the activity list,
a background job's failure) read in the shop's language wherever they are shown: the
order page, the API, the jobs, the dashboard (issue 12; docs/interface.md, "Languages").
They stay English in the database, so rows written by earlier releases, which hold the
same sentences, are translated too; a sentence someone typed is shown as it is."""
import html

from test_translations import set_locale

ENGLISH_REASON = "not enough stock: SKU-003: 10 ordered, 9 in stock"
GERMAN_REASON = "nicht genug auf Lager: SKU-003: 10 bestellt, 9 auf Lager"


def failed_order(shop, client):
    """An order recorded while its stock was there, which then went before processing
    (another sale, an edit): processed by the real task code (eager, in-process), it
    fails with its reason. Returns (order id, ref, task id)."""
    from webapp import ordering
    from webapp.background import jobs

    with shop.app_context():
        order = ordering.create_order({"lines": [{"sku": "SKU-003", "quantity": 10}]})
        order_id, ref = order.id, order.ref
    assert client.patch("/api/products/SKU-003", json={"stock": 9}).status_code == 200
    with shop.app_context():
        job, _ = jobs.submit("order", f"Process order {ref}", {"order_id": order_id},
                             dedup_key=f"order:{order_id}")
        task_id = job.task_id
    return order_id, ref, task_id


def stored_reason(app, order_id):
    from webapp.extensions import db
    from webapp.models import Order

    with app.app_context():
        return db.session.get(Order, order_id).status_reason


def page(client, path):
    response = client.get(path)
    assert response.status_code == 200, path
    return html.unescape(response.get_data(as_text=True))


def test_a_failed_order_reads_german_on_its_page_in_the_api_and_the_jobs(shop, client):
    set_locale(shop, "de_DE")
    order_id, ref, task_id = failed_order(shop, client)
    assert stored_reason(shop, order_id) == ENGLISH_REASON  # the database keeps English
    detail = page(client, f"/orders/{order_id}")
    assert GERMAN_REASON in detail and "not enough stock" not in detail
    assert client.get(f"/api/orders/{order_id}").json["status_reason"] == GERMAN_REASON
    status = client.get(f"/api/tasks/{task_id}").json
    assert status["state"] == "FAILURE"
    assert status["error"] == f"Bestellung {ref} wurde nicht verarbeitet: {GERMAN_REASON}"
    assert status["title"] == f"Bestellung {ref} verarbeiten"  # the job's title too
    for path in ("/tasks/", "/system/"):
        jobs_page = page(client, path)
        assert GERMAN_REASON in jobs_page and "not enough stock" not in jobs_page
        assert f"Bestellung {ref} verarbeiten" in jobs_page


def test_an_english_shop_reads_the_reason_as_before(shop, client):
    order_id, ref, task_id = failed_order(shop, client)
    assert ENGLISH_REASON in page(client, f"/orders/{order_id}")
    assert client.get(f"/api/orders/{order_id}").json["status_reason"] == ENGLISH_REASON
    assert client.get(f"/api/tasks/{task_id}").json["error"] == \
        f"Order {ref} was not processed: {ENGLISH_REASON}"


def test_reasons_stored_by_earlier_releases_read_german(shop, client):
    """Rows as 0.4.0 wrote them (the same English sentences: a failed order of two short
    lines, the default reason of a cancel, activity lines), and a reason someone typed,
    which no catalog knows and is shown as typed."""
    from webapp import ordering
    from webapp.extensions import db
    from webapp.auth import owner_user
    from webapp.models import Activity, Order

    set_locale(shop, "de_DE")
    with shop.app_context():
        ids = [ordering.create_order({"lines": [{"sku": "SKU-001", "quantity": 1}]}).id
               for _ in range(3)]
        old = {ids[0]: ("failed", "not enough stock: SKU-001: 4 ordered, 2 in stock; "
                                  "SKU-002: 12 ordered, 10 in stock"),
               ids[1]: ("cancelled", "cancelled"),
               ids[2]: ("cancelled", "Entered twice")}
        for order_id, (status, reason) in old.items():
            db.session.execute(db.update(Order).where(Order.id == order_id)
                               .values(status=status, status_reason=reason))
        owner = owner_user()
        for text in ("Created product SKU-001", "Deleted product SKU-002", "Signed in",
                     "Closed the day 2025-03-14 (Z-report 7)", "Said hello to the cat"):
            db.session.add(Activity(user_id=owner.id, text=text))
        db.session.commit()
    assert client.get(f"/api/orders/{ids[0]}").json["status_reason"] == (
        "nicht genug auf Lager: SKU-001: 4 bestellt, 2 auf Lager; "
        "SKU-002: 12 bestellt, 10 auf Lager")
    assert ": storniert" in page(client, f"/orders/{ids[1]}")
    assert client.get(f"/api/orders/{ids[2]}").json["status_reason"] == "Entered twice"
    dashboard = page(client, "/")
    for german in ("Artikel SKU-001 angelegt", "Artikel SKU-002 gelöscht", "Angemeldet",
                   "Tag 2025-03-14 abgeschlossen (Z-Bericht 7)", "Said hello to the cat"):
        assert german in dashboard, german
    assert "Created product" not in dashboard


def test_new_activity_and_job_titles_read_german_and_are_stored_english(shop, client):
    from webapp.extensions import db
    from webapp.models import Activity, Job

    set_locale(shop, "de_DE")
    answer = client.post("/api/orders", json={"lines": [{"sku": "SKU-001", "quantity": 1}]})
    assert answer.status_code == 201
    ref = answer.json["ref"]
    assert client.patch("/api/products/SKU-004", json={"stock": 3}).status_code == 200
    dashboard = page(client, "/")
    assert f"Bestellung {ref} erfasst" in dashboard and "Artikel SKU-004 bearbeitet" in dashboard
    report = client.post("/api/reports", json={"from": "2025-03-01", "to": "2025-03-31",
                                               "format": "csv"}).json
    assert report["title"] == "Verkaufsbericht, März 2025, CSV"
    with shop.app_context():
        texts = {a.text for a in db.session.query(Activity)}
        titles = {j.title for j in db.session.query(Job)}
    assert {f"Recorded order {ref}", "Edited product SKU-004"} <= texts
    assert {f"Process order {ref}", "Sales report, März 2025, CSV"} <= titles


def test_every_stored_sentence_is_marked_and_each_writer_uses_one():
    """record_activity's first argument is one of webapp.i18n.STORED (written N_("...")
    or a table of them), so the dashboard can translate what it stored."""
    import ast
    from pathlib import Path

    from webapp.i18n import PRODUCT_GONE, STORED

    root = Path(__file__).resolve().parent.parent / "webapp"
    calls = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == \
                    "record_activity" and node.args:
                calls.append((path.name, node.args[0]))
    assert len(calls) > 20
    for name, arg in calls:
        if isinstance(arg, ast.Subscript):  # PRODUCT_GONE[outcome], CLEAR[area][0]...
            continue
        assert isinstance(arg, ast.Call) and arg.func.id == "N_", (name, ast.dump(arg))
        assert arg.args[0].value in STORED, (name, arg.args[0].value)
    assert set(PRODUCT_GONE.values()) <= set(STORED)
