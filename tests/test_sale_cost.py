"""What one sale costs the web side (issue 13: POST /api/orders took 24 SQL statements in
three commits and 23 Redis commands, mostly cache invalidation), without a stale page:
a new pending sale changes the figures only; its stock changes, and the product pages
with it, when it is processed. bench/scale_out.py prints the counts."""
from sqlalchemy import event

from cache_servers import redis_server  # noqa: F401  (fixture)
from conftest import TOKEN

ORDER = {"lines": [{"sku": "JAM", "quantity": 2}]}


def make_app(data_dir, **config):
    """Jobs go to the broker (no worker runs): the sale stays pending until run_job."""
    from webapp import catalog, create_app

    app = create_app({"LARDER_TOKEN": TOKEN, **config}, data_dir=data_dir)
    with app.app_context():
        catalog.create_product({"sku": "JAM", "name": "Jam", "category": "Shop",
                                "price": "3.00", "stock": "10"})
        catalog.create_customer({"email": "ann@example.com", "name": "Ann",
                                 "country": "France", "city": "Lyon"})
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {TOKEN}"
    return app, client


def cached(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.headers.get("X-Cache"), response.get_data(as_text=True)


def run_job(app, job_id):
    from webapp.background.tasks import process_order_task

    with app.app_context():
        process_order_task.apply(args=[job_id], task_id=job_id)


def test_a_sale_refreshes_the_figures_and_its_processing_the_stock(data_dir):
    app, client = make_app(data_dir)
    for url in ("/products/", "/products/JAM", "/customers/", "/api/stats", "/"):
        cached(client, url)
    stats_before = client.get("/api/stats").json
    answer = client.post("/api/orders", json=ORDER)
    assert answer.status_code == 201

    # Pending: the figures count it at once; stock and customers are as they were.
    assert client.get("/api/stats").json["orders"] == stats_before["orders"] + 1
    assert "Recorded order " + answer.json["ref"] in cached(client, "/")[1]
    assert cached(client, "/products/")[0] == "HIT"  # before: MISS, remade for nothing
    assert cached(client, "/products/JAM")[0] == "HIT"
    assert cached(client, "/customers/")[0] == "HIT"

    run_job(app, answer.json["task_id"])
    state, page = cached(client, "/products/JAM")
    assert state == "MISS" and "<dd>8" in page  # the stock it took
    assert cached(client, "/products/")[0] == "MISS"


def test_the_stats_queries_are_refreshed_by_the_stats_version_alone(app, shop):
    from webapp import caching, stats
    from webapp.extensions import db
    from webapp.models import Order, now

    with app.app_context():
        before = stats.summary()["orders"]
        db.session.add(Order(ref="BY-HAND", created_at=now(), status="pending",
                             total_cents=100, gross_cents=100))
        db.session.commit()  # written behind the cache's back
        assert stats.summary()["orders"] == before  # memoized
        caching.bump_version("stats")  # what every change of the figures does
        assert stats.summary()["orders"] == before + 1  # before: still memoized


def test_a_sale_is_one_commit_and_its_answer_is_not_read_back(data_dir):
    app, client = make_app(data_dir)
    client.post("/api/orders", json=ORDER)  # warm: settings, versions
    statements, commits = [], []
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
    record = lambda conn, cursor, sql, *rest: statements.append(sql)  # noqa: E731
    commit = lambda conn: commits.append(len(statements))  # noqa: E731
    event.listen(engine, "before_cursor_execute", record)
    event.listen(engine, "commit", commit)
    try:
        answer = client.post("/api/orders", json={**ORDER, "customer_email": "ann@example.com"})
    finally:
        event.remove(engine, "before_cursor_execute", record)
        event.remove(engine, "commit", commit)
    assert answer.status_code == 201 and answer.json["customer_email"] == "ann@example.com"
    assert answer.json["lines"][0]["sku"] == "JAM" and answer.json["refunds"] == []
    assert len(commits) == 1  # before: 3 (the order, its job, the activity line)
    read_back = [sql.split("\n")[0][:80] for sql in statements[commits[0]:]
                 if sql.startswith("SELECT") and any(f"FROM {table}" in sql for table in (
                     "orders", "order_lines", "jobs", "refunds", "users", "products"))]
    assert read_back == []  # before: the order, its lines, refunds, the job, the user


def test_a_sale_on_redis_is_a_few_commands(data_dir, redis_server):  # noqa: F811
    """The stats version, the user's (their activity list) and the job's message: five
    commands (each bump reads the version, then increments it). Before: 23, twelve of
    them the six stats queries' delete_memoized, and the product and customer lists'
    versions bumped for a change they do not show."""
    import redis

    base = redis_server.rsplit("/", 1)[0]
    app, client = make_app(data_dir, CACHE_TYPE="redis", CACHE_REDIS_URL=f"{base}/5",
                           CELERY_BROKER_URL=f"{base}/6")
    server = redis.Redis.from_url(f"{base}/5")
    client.post("/api/orders", json=ORDER)  # warm: the version keys exist
    before = server.info("stats")["total_commands_processed"]
    assert client.post("/api/orders", json=ORDER).status_code == 201
    used = server.info("stats")["total_commands_processed"] - before - 1  # less the INFO
    assert used <= 6, used
