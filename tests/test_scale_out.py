"""The shop run as a growing business runs it (issue 13, docs/scaling.md): two `serve`
processes and two workers, each with its own data dir, on one PostgreSQL and one Redis
(broker, results, cache), one shared files folder, one launch token and secret key.

Orders with several lines in a random order and product edits go to every web process at
once. Then: no answer but 201, every order processed and none left behind, stock exact,
no stale cached page on any process after an edit, the report the same as the
single-process result and downloadable from every process (invoices too), a browser
session that moves between processes, and every worker node with its own name.
tests/test_scale_out_fixes.py holds each gap's own test.
"""
import json
import re

import pytest
import requests

from cache_servers import postgres_server, redis_server  # noqa: F401  (fixtures)
from scale_out_site import Site
from worker_proc import wait_for


def price_text(cents):
    return f"€{cents // 100:,}.{cents % 100:02d}"


def edit_rounds(site, rounds, stale, seed=0):
    """Each round: every process has the product's page cached, one process changes the
    price, then every process must show the new price (on the page and in the list)."""
    def run():
        for r in range(rounds):
            sku = site.skus[(r * 7 + seed) % len(site.skus)]
            writer = site.urls[r % len(site.urls)]
            for url in site.urls:  # cached everywhere, with the old price
                assert site.session.get(f"{url}/products/{sku}", timeout=30).status_code == 200
                site.session.get(f"{url}/products/?q={sku}", timeout=30)
            cents = 100_000 + seed * 1000 + r * 10 + 5
            answer = site.session.patch(f"{writer}/api/products/{sku}", timeout=30,
                                        json={"price": f"{cents / 100:.2f}"})
            if answer.status_code != 200:
                stale.append(f"edit of {sku} on {writer}: {answer.status_code} {answer.text}")
                continue
            for url in site.urls:
                for page in (f"/products/{sku}", f"/products/?q={sku}"):
                    html = site.session.get(url + page, timeout=30).text
                    if price_text(cents) not in html:
                        stale.append(f"{url}{page} after round {r}")
    return run


def check_site(site, orders_per_web, edit_count):
    from webapp import reports
    from webapp.config import files_folder
    from webapp.extensions import db
    from webapp.models import Order, Product

    with site.app().app_context():
        stock_before = {p.sku: p.stock for p in db.session.query(Product)}
    stale = []
    sent = site.post_orders(per_web=orders_per_web, clients=4,
                            edits=edit_rounds(site, edit_count, stale))
    # No 500, no 503: every order was recorded the first time it was sent.
    assert sent["answers"] == {201: orders_per_web * len(site.urls)}, sent["errors"][:5]
    assert stale == []
    # Nothing lost or stuck: every recorded order is processed (none pending for ever).
    states = site.wait_processed(sent["ids"], timeout=180)
    assert states == {"processed": len(sent["ids"])}, states
    with site.app().app_context():
        assert db.session.query(Order).count() == len(sent["ids"])
        stock = {p.sku: p.stock for p in db.session.query(Product)}
    assert stock == {sku: stock_before[sku] - sent["quantities"].get(sku, 0)
                     for sku in stock_before}

    # The report: asked on one process, followed on another, downloaded from each, and
    # the same as this process computes alone from the same database.
    first, second = site.urls[0], site.urls[-1]
    body = site.session.post(f"{first}/api/reports", timeout=30, json={
        "from": "2020-01-01", "to": "2030-12-31", "format": "json"}).json()
    wait_for(lambda: site.session.get(second + body["status_url"], timeout=30).json()["state"]
             == "SUCCESS", timeout=120, what="the report")
    downloads = [site.session.get(f"{url}/reports/{body['report_id']}/download", timeout=30)
                 for url in site.urls]
    assert [d.status_code for d in downloads] == [200] * len(site.urls)
    assert len({d.content for d in downloads}) == 1
    from datetime import date

    alone = site.root / "alone.json"
    with site.app().app_context():
        reports.build_report(date(2020, 1, 1), date(2030, 12, 31), "json", alone)
        invoices = files_folder("invoices", site.app().config)
    assert downloads[0].json() == json.loads(alone.read_text())
    assert downloads[0].json()["totals"]["orders"] == len(sent["ids"])

    # An invoice the workers wrote, from every process: the same file.
    order = site.session.get(f"{first}/api/orders/{sent['ids'][0]}", timeout=30).json()
    written = (invoices / f"{order['ref']}.pdf").read_bytes()
    for url in site.urls:
        got = site.session.get(f"{url}/orders/{sent['ids'][0]}/invoice.pdf", timeout=30)
        assert got.status_code == 200 and got.content == written


def check_moving_between_processes(site):
    """A browser signed in by the link of one process goes on on another (a load
    balancer may send each request anywhere)."""
    browser = requests.Session()
    signed_in = browser.get(f"{site.urls[0]}/?token={site.token}", timeout=30)
    assert signed_in.status_code == 200 and "Sign in" not in signed_in.text
    for url in site.urls:
        page = browser.get(f"{url}/orders/", timeout=30, allow_redirects=False)
        assert page.status_code == 200, url
        bearer = requests.get(f"{url}/api/stats", timeout=30,
                              headers={"Authorization": f"Bearer {site.token}"})
        assert bearer.status_code == 200, url


def check_worker_names(site, workers):
    from webapp.background.supervisor import node_specs

    celery = site.app().extensions["celery"]
    names = [name for reply in celery.control.ping(timeout=2) for name in reply]
    assert len(names) == len(set(names)) == workers * len(node_specs()), names
    assert all(re.match(r"(quick|reports\d)-\d+@", n) for n in names), names


@pytest.fixture
def site(tmp_path, postgres_server, redis_server):  # noqa: F811
    site = Site(tmp_path / "site", postgres_server, redis_server).setup(products=12)
    yield site
    site.stop()


def test_two_web_processes_and_two_workers_on_postgres_and_redis(site):
    site.start(web=2, workers=2)
    check_site(site, orders_per_web=20, edit_count=4)
    check_moving_between_processes(site)
    check_worker_names(site, workers=2)


@pytest.mark.slow
def test_three_web_processes_and_two_workers_under_load(site):
    """The issue's own trial, smaller: 3 web processes, 2 workers, 600 orders while 40
    rounds of edits check every process's cache."""
    site.start(web=3, workers=2)
    check_site(site, orders_per_web=200, edit_count=40)
    check_moving_between_processes(site)

