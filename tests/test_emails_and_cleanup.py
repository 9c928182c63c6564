"""Emails (outbox files, SMTP when configured) and the daily cleanup, run as jobs."""
import os
import time
from datetime import datetime, timedelta

import pytest

from conftest import csrf_from


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 that keeps what it receives."""
    from aiosmtpd.controller import Controller

    class Keep:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope)
            return "250 OK"

    from cache_servers import free_port

    handler = Keep()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    controller.messages = handler.messages
    yield controller
    controller.stop()


def test_new_customer_gets_a_welcome_email(app, owner_browser):
    token = csrf_from(owner_browser, "/customers/new")
    response = owner_browser.post("/customers/new", data={
        "csrf_token": token, "email": "Zoe@Example.com", "name": "Zoë <b>", "country": "FR"})
    assert response.status_code == 302
    outbox = os.listdir(os.path.join(app.config["DATA_DIR"], "outbox"))
    assert len(outbox) == 1 and outbox[0].startswith("welcome-")
    listing = owner_browser.get("/outbox/").get_data(as_text=True)
    assert "zoe@example.com" in listing and "Welcome!" in listing
    shown = owner_browser.get(f"/outbox/{outbox[0]}").get_data(as_text=True)
    assert "Dear Zoë &lt;b&gt;," in shown  # escaped on the page


def test_order_confirmation_is_sent_by_smtp_once(shop, client, smtp_server):
    from webapp import emails
    from webapp.background import jobs
    from webapp.models import Job

    shop.config.update(LARDER_SMTP_HOST="127.0.0.1", LARDER_SMTP_PORT=smtp_server.port)
    order = client.post("/api/orders", json={"customer_email": "ann@example.com",
                                             "lines": [{"sku": "SKU-001", "quantity": 1}]}).json
    assert len(smtp_server.messages) == 1
    envelope = smtp_server.messages[0]
    assert envelope.rcpt_tos == ["ann@example.com"]
    assert f"Your order {order['ref']}".encode() in envelope.content
    assert b"invoice-" in envelope.content  # the invoice PDF is attached
    with shop.app_context():
        job = Job.query.filter_by(kind="email").one()
        # Run the same email job again (a redelivery): same file, not sent twice.
        emails.send_templated(jobs.params(job))
    assert len(smtp_server.messages) == 1
    files = os.listdir(os.path.join(shop.config["DATA_DIR"], "outbox"))
    assert sorted(files) == [f"order-{order['ref']}.eml", f"order-{order['ref']}.sent"]


def test_unreachable_smtp_fails_the_job_but_keeps_the_email(shop, client):
    shop.config.update(LARDER_SMTP_HOST="127.0.0.1", LARDER_SMTP_PORT=1)  # nothing listens
    order = client.post("/api/orders", json={"customer_email": "bob@example.com",
                                             "lines": [{"sku": "SKU-002", "quantity": 1}]}).json
    tasks = client.get("/tasks/").get_data(as_text=True)
    assert "Order confirmation" in tasks and "state-failure" in tasks
    assert os.path.exists(os.path.join(shop.config["DATA_DIR"], "outbox", f"order-{order['ref']}.eml"))


def test_daily_cleanup_removes_only_old_things(app, client):
    from webapp.extensions import cache, db
    from webapp.models import Job

    data = app.config["DATA_DIR"]
    old = time.time() - 40 * 86400
    paths = {}
    for folder, name in [("reports", "old.pdf"), ("outbox", "old.eml"), ("invoices", "old.pdf"),
                         ("reports", "new.pdf")]:
        path = os.path.join(data, folder, name)
        open(path, "w").close()
        paths[(folder, name)] = path
    for key in [k for k in paths if k[1].startswith("old")]:
        os.utime(paths[key], (old, old))
    with app.app_context():
        db.session.add(Job(id="oldjob", kind="report", title="old", state="success",
                           created_at=datetime.now() - timedelta(days=40)))
        db.session.commit()
        cache.set("short-lived", 1, timeout=1)
    time.sleep(1.1)
    page = client.post("/schedules/daily-cleanup/run")
    assert page.status_code == 302
    assert sorted(os.listdir(os.path.join(data, "reports"))) == ["new.pdf"]
    assert os.listdir(os.path.join(data, "outbox")) == []
    with app.app_context():
        assert db.session.get(Job, "oldjob") is None
        job = Job.query.filter_by(kind="cleanup").one()
        assert job.state == "success"
        assert '"reports": 1' in job.result and '"cache_expired": 1' in job.result
    assert client.post("/schedules/no-such/run").status_code == 404
