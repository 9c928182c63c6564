"""Every page's server time and size with 100,000 demo orders (issue 12: "Every page's
server time stays as today (under 50 ms cached, dashboard miss under 150 ms at 100,000
orders); pages stay under 100 KB before compression").

Signed in as the owner (the launch token), every GET route of the URL map is asked for
with real rows in its URL (a product, the customer with the most orders, the order with
the most lines, a made report, a closed day, an import preview, an email, a backup).
For each: the first answer after the cache is emptied (uncached; templates already
compiled by a first pass), then the median of --rounds more (cached where the page is),
and the body's size before compression. Through the app in process (test client, no
network), as bench/dashboard.py times the dashboard.

    python bench/page_times.py [--orders 100000] [--rounds 20] [--data-dir DIR]

tests/test_page_sizes.py walks the same pages (pages(), below) with a small shop.
"""
import argparse
import statistics
import time
from datetime import timedelta

from _common import demo_data_dir

TOKEN = "bench"
SKIPPED = {"static", "auth.logout"}  # files of the app itself; signing out ends the session
PAGED = ("/orders/", "/products/", "/customers/")  # long lists, a page at a time
# A small file in Larder's own customers layout: the import preview the page shows.
CUSTOMERS_CSV = b"email,name,country\nnew.one@example.com,New One,France\n"


def make_values(app, client):
    """Rows behind the pages that show one thing, made as the owner makes them: a report,
    a closed day, a new customer (its welcome email), an import preview and a backup.
    `client` is signed in as the owner by Bearer token; the app runs tasks eagerly
    (CELERY_OVERRIDES task_always_eager). Returns the values for the URLs, by argument
    name ("sku") or by endpoint and name ("outbox.show:name")."""
    import io

    from webapp import backups, emails, settings
    from webapp.extensions import db
    from webapp.models import Order, OrderLine, Product

    def posted(path, status, **kw):
        response = client.post(path, **kw)
        assert response.status_code in status, (path, response.status_code,
                                                response.get_data(as_text=True)[:300])
        return response

    report = posted("/api/reports", {202}, json={"preset": "last_month", "format": "pdf"}).json
    email = f"walker.{time.time_ns()}@example.com"  # a new one at each run on a kept folder
    posted("/api/customers", {201}, json={"email": email, "name": "Page Walker",
                                          "country": "France"})
    preview = posted("/import/", {302, 303}, data={"file": (io.BytesIO(CUSTOMERS_CSV), "new.csv")},
                     content_type="multipart/form-data")
    with app.app_context():
        yesterday = settings.today_business_day() - timedelta(days=1)
        closed = posted("/api/zreports", {200, 201}, json={"date": yesterday.isoformat()}).json
        backup = backups.make_backup(app)
        return {
            "sku": db.session.execute(db.select(Product.sku).order_by(Product.id)).scalar(),
            "customer_id": db.session.execute(  # the customer with the most orders
                db.select(Order.customer_id).where(Order.customer_id.is_not(None))
                .group_by(Order.customer_id).order_by(db.func.count().desc()).limit(1)
            ).scalar(),
            "order_id": db.session.execute(  # the order with the most lines
                db.select(OrderLine.order_id).group_by(OrderLine.order_id)
                .order_by(db.func.count().desc()).limit(1)).scalar(),
            "task_id": report["task_id"], "job_id": report["report_id"],
            "data_import.show:job_id": preview.headers["Location"].rstrip("/").rsplit("/")[-1],
            "number": closed["number"], "fmt": "pdf",
            "backups.download:name": backup.name,
            "outbox.show:name": emails.listing()[0]["name"],
        }


def pages(app, client):
    """[(endpoint, path)] of every GET route but SKIPPED, with real rows in the URLs."""
    values = make_values(app, client)
    out = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in SKIPPED:
            continue
        args = {arg: values.get(f"{rule.endpoint}:{arg}", values.get(arg))
                for arg in rule.arguments}
        missing = [arg for arg, value in args.items() if value is None]
        if missing:
            raise AssertionError(f"no real value for {rule.endpoint}'s {missing}")
        out.append((rule.endpoint, rule.build(args, append_unknown=False)[1]))
    return sorted(out, key=lambda item: item[1])


def later_pages(client):
    """[(list, path)]: the long lists' second and last pages (the deepest offset). The
    last page's number is read from the pager ("Page 1 of 2,000")."""
    import re

    out = []
    for path in PAGED:
        html = client.get(path).get_data(as_text=True)
        pages_of = re.search(r"Page 1 of ([\d,.\s]+)", html)
        last = int(re.sub(r"\D", "", pages_of.group(1))) if pages_of else 1
        out += [(path, f"{path}?page={n}") for n in sorted({2, last}) if n <= last]
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--data-dir", help="reuse this data dir (demo data kept)")
    args = parser.parse_args()

    from webapp import caching, create_app

    data_dir = demo_data_dir(args.orders, args.data_dir)
    app = create_app({"LARDER_TOKEN": TOKEN, "CELERY_OVERRIDES": {"task_always_eager": True}},
                     data_dir=data_dir)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {TOKEN}"

    def timed(path):
        started = time.perf_counter()
        response = client.get(path)
        return (time.perf_counter() - started) * 1000, response

    walk = pages(app, client)
    walk += later_pages(client)
    for _, path in walk:  # templates compiled, modules imported: not what is measured
        timed(path)
    print(f"{len(walk)} GET routes with {args.orders} orders, owner, backend "
          f"{app.config['CACHE_TYPE'].rsplit('.', 1)[-1]}; uncached: the first answer after "
          f"the cache is emptied; cached: median of {args.rounds} more")
    print(f"{'path':44} {'status':>6} {'type':>5} {'cache':>5} {'uncached':>9} "
          f"{'cached':>8} {'size':>9}")
    slow, big = [], []
    for _, path in walk:
        with app.app_context():
            caching.clear_all()
        miss, response = timed(path)
        again = [timed(path) for _ in range(args.rounds)]
        median, size = statistics.median(ms for ms, _ in again), len(response.get_data())
        kind = response.mimetype.rsplit("/", 1)[-1][:5]
        print(f"{path[:44]:44} {response.status_code:>6} {kind:>5} "
              f"{again[-1][1].headers.get('X-Cache', '-'):>5} {miss:7.1f}ms "
              f"{median:6.1f}ms {size:>9,} B")
        if median >= 50:
            slow.append(f"{path} ({median:.0f} ms)")
        if response.mimetype == "text/html" and size >= 100_000:
            big.append(f"{path} ({size:,} B)")
    print(f"at 50 ms or more when asked again: {', '.join(slow) or 'none'}")
    print(f"HTML pages of 100 KB or more: {', '.join(big) or 'none'}")


if __name__ == "__main__":
    main()
