"""Pages stay under 100 KB before compression (issue 12), with a shop that has a history:
every GET page of the URL map (bench/page_times.py's walk, real rows in each URL: the
customer with the most orders, the order with the most lines, a report, a closed day, an
import preview, an email, a backup), the long lists on their first, second and last
page, and the lists that show their latest rows full (background jobs, reports, emails).
Sizes, not times: the times are bench/page_times.py's (docs/benchmarks.md)."""
import sys
from datetime import timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from page_times import PAGED, later_pages, pages  # noqa: E402  (bench/ is not a package)

LIMIT = 100_000  # bytes of HTML, before compression


@pytest.fixture
def history(app):
    """Demo data (3,000 orders over 90 days, ~375 customers, ~120 products), plus 150
    finished jobs (the job lists show up to 100, reports 50) and 250 emails (the outbox
    shows 200): each list as full as it gets."""
    from webapp import emails, models
    from webapp.demo_data import load_demo
    from webapp.extensions import db
    from webapp.models import Job

    with app.app_context():
        load_demo(orders=3000, days=90, replace=True)
        now = models.now()
        db.session.add_all([Job(
            id=f"{i:032x}", task_id=f"{i:032x}", kind="report", state="success", progress=100,
            title=f"Sales report, 1 to {i % 28 + 1} March 2025, PDF",
            params='{"from": "2025-03-01", "to": "2025-03-28", "format": "pdf"}',
            created_at=now - timedelta(minutes=i)) for i in range(150)])
        db.session.commit()
        for i in range(250):
            message = emails._message(f"customer{i}@example.com", "Your order",
                                      "Thank you for your order.\n" * 20)
            emails.deliver(message, f"order-{i}.eml")
    return app


def test_every_page_stays_under_100_kb(history, client):
    checked, sizes = 0, {}
    for endpoint, path in pages(history, client):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        if response.mimetype != "text/html":
            continue  # files (PDF, backups) and JSON answers
        sizes[path] = len(response.get_data())
        checked += 1
    later = later_pages(client)
    # each long list comes a page at a time: a second page, and a last one further on
    assert sorted({path for path, _ in later}) == sorted(PAGED), later
    assert len(later) == 2 * len(PAGED), later
    for _, path in later:
        response = client.get(path)
        assert response.status_code == 200, path
        sizes[path] = len(response.get_data())
    too_big = {path: size for path, size in sizes.items() if size >= LIMIT}
    assert not too_big, f"pages of 100 KB or more: {too_big}"
    assert checked >= 25, sorted(sizes)  # the walk found the pages
    # the full lists were really shown full (else their size says little)
    assert client.get("/outbox/").get_data(as_text=True).count("@example.com") >= 200
    assert client.get("/tasks/").get_data(as_text=True).count('<tr class="job"') >= 100
    assert client.get("/reports/").get_data(as_text=True).count('<tr class="job"') >= 50
