"""Issue 13's gaps one by one, each on the real database it happened on: orders that
deadlocked on PostgreSQL, a job lost to a deadlock, identical requests making several
jobs, and the settings several processes must share. The whole shop run this way (two
`serve`, two workers) is tests/test_scale_out.py."""
import itertools
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy

from cache_servers import new_database, postgres_server  # noqa: F401  (fixture)
from conftest import TOKEN

_names = itertools.count()
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def pg_shop(postgres_server, data_dir):  # noqa: F811
    """Larder on a new PostgreSQL database with three products (jobs run in-process)."""
    from webapp import catalog, create_app
    from webapp.extensions import db

    url = new_database(postgres_server, f"larder_fix_{next(_names)}")
    app = create_app({"TESTING": True, "LARDER_TOKEN": TOKEN, "DATABASE_URL": url,
                      "CELERY_OVERRIDES": {"task_always_eager": True}}, data_dir=data_dir)
    with app.app_context():
        ids = [catalog.create_product({"sku": f"P{i}", "name": f"Product {i}", "category": "Shop", "price": "2.00",
                                       "stock": "100"}).id for i in (1, 2, 3)]
    app.product_ids = ids
    app.db_url = url
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


class Holder:
    """Another transaction on its own connection (a test's hand on the locks)."""

    def __init__(self, url, deadlock_timeout="1s"):
        self.engine = sqlalchemy.create_engine(url)
        self.conn = self.engine.connect()
        self.conn.execute(sqlalchemy.text(f"SET deadlock_timeout = '{deadlock_timeout}'"))

    def lock(self, product_id):
        self.conn.execute(sqlalchemy.text(
            "SELECT id FROM products WHERE id = :id FOR NO KEY UPDATE"), {"id": product_id})

    def waiting(self):
        """How many other sessions of this database wait for a lock."""
        with self.engine.connect() as conn:
            return conn.execute(sqlalchemy.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")).scalar()

    def close(self):
        self.conn.close()
        self.engine.dispose()


def in_thread(app, fn):
    """Run fn in the app's context on a thread; .join() returns (result, error)."""
    out = {}

    def run():
        with app.app_context():
            try:
                out["result"] = fn()
            except Exception as exc:  # noqa: BLE001  (the test looks at it)
                out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.result = lambda: (thread.join(30), out.get("result"), out.get("error"))[1:]
    return thread


def wait_until(predicate, timeout=15):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_an_order_is_recorded_while_another_is_processed_on_the_same_products(pg_shop):
    """The issue's deadlock, made to happen every time: processing locks the first
    product and waits for the second (held by a third transaction, as a busy moment
    would); meanwhile an order with the same products in the other order is recorded.
    Before: its lines' foreign-key checks waited for processing's FOR UPDATE, processing
    then waited for their KEY SHARE, and PostgreSQL killed one ("deadlock detected")."""
    from webapp import ordering
    from webapp.extensions import db

    p1, p2, _ = pg_shop.product_ids
    with pg_shop.app_context():
        first = ordering.create_order({"lines": [{"sku": "P1", "quantity": 1},
                                                 {"sku": "P2", "quantity": 1}]}).id
        db.session.remove()
    holder = Holder(pg_shop.db_url, deadlock_timeout="30s")
    try:
        holder.lock(p2)
        worker = in_thread(pg_shop, lambda: ordering.process_order(first).status)
        wait_until(lambda: holder.waiting() >= 1)  # processing holds P1, waits for P2
        web = in_thread(pg_shop, lambda: ordering.create_order(
            {"lines": [{"sku": "P2", "quantity": 2}, {"sku": "P1", "quantity": 3}]}).id)
        wait_until(lambda: not web.is_alive() or holder.waiting() >= 2)
        holder.conn.commit()
        assert worker.result() == ("processed", None)
        second, error = web.result()
        assert error is None, error
    finally:
        holder.close()
    with pg_shop.app_context():
        from webapp.models import Order, Product

        assert ordering.process_order(second).status == "processed"
        # The lines keep the order they were entered in.
        assert [line.product_id for line in db.session.get(Order, second).lines] == [p2, p1]
        assert [db.session.get(Product, p).stock for p in (p1, p2)] == [96, 97]


def test_a_job_that_meets_a_deadlock_is_run_again_not_lost(pg_shop):
    """A real deadlock between processing and another writer that locks the same
    products the other way round: PostgreSQL ends processing's transaction (it waited
    first: its deadlock check runs first). Before: the job failed with "deadlock
    detected" and the order stayed pending for ever; now it is run again and done."""
    from webapp import ordering
    from webapp.background import jobs
    from webapp.extensions import db
    from webapp.models import Job, Order

    p1, p2, _ = pg_shop.product_ids
    with pg_shop.app_context():
        order = ordering.create_order({"lines": [{"sku": "P2", "quantity": 1},
                                                 {"sku": "P1", "quantity": 1}]})
        order_id = order.id
        db.session.remove()
    holder = Holder(pg_shop.db_url, deadlock_timeout="20s")
    try:
        holder.lock(p2)

        def submit():
            job, _ = jobs.submit("order", "Process order", {"order_id": order_id},
                                 dedup_key=f"order:{order_id}")
            return job.id

        worker = in_thread(pg_shop, submit)  # eager: runs the task here and now
        wait_until(lambda: holder.waiting() >= 1)
        other = threading.Thread(target=lambda: (holder.lock(p1), holder.conn.commit()),
                                 daemon=True)
        other.start()  # now each waits for the other: PostgreSQL picks processing
        job_id, error = worker.result()
        other.join(30)
        assert error is None, error
    finally:
        holder.close()
    with pg_shop.app_context():
        job = db.session.get(Job, job_id)
        assert (job.state, job.attempts, job.active_key) == ("success", 2, None)
        assert db.session.get(Order, order_id).status == "processed"


def test_a_busy_database_is_a_clear_503_that_saved_nothing(pg_shop):
    """A request that loses a deadlock anyway (or waits too long for a lock) is answered
    503 "not saved, send it again", never a 500."""
    from webapp.extensions import db
    from webapp.models import Order

    client = pg_shop.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {TOKEN}"
    holder = Holder(pg_shop.db_url)
    try:
        holder.conn.execute(sqlalchemy.text("LOCK TABLE orders IN EXCLUSIVE MODE"))
        # Every new connection of the app's engine waits 200 ms for a lock, no longer.
        with pg_shop.app_context():
            sqlalchemy.event.listen(db.engine, "connect", lambda conn, _: conn.execute(
                "SET lock_timeout = '200ms'"))
            db.engine.dispose()
        answer = client.post("/api/orders", json={"lines": [{"sku": "P1", "quantity": 1}]})
    finally:
        holder.close()
    assert answer.status_code == 503, answer.get_data(as_text=True)
    assert answer.json == {"error": "Larder is busy: this was not saved. Send it again in "
                                    "a moment."}
    assert answer.headers["Retry-After"] == "1"
    with pg_shop.app_context():
        assert db.session.query(Order).count() == 0


def _report_burst(base, n, start):
    import requests

    barrier = threading.Barrier(n)
    answers = []

    def one():
        barrier.wait()
        answers.append(requests.post(f"{base}/api/reports", timeout=30, json={
            "from": start, "to": "2026-12-31", "format": "csv"},
            headers={"Authorization": f"Bearer {TOKEN}"}))

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return answers


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_identical_report_requests_at_once_make_one_job(database, request, data_dir):
    """Six identical requests at the same moment, five times: one job each time, and all
    six answers name it. Before, the check-then-insert made up to six."""
    from desktop.server import ServerThread
    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import Job

    config = {"LARDER_TOKEN": TOKEN}  # no worker: the jobs stay queued, keys stay active
    if database == "postgresql":
        url = request.getfixturevalue("postgres_server")
        config["DATABASE_URL"] = new_database(url, f"larder_fix_{next(_names)}")
    app = create_app(config, data_dir=data_dir)
    server = ServerThread(app).start()
    try:
        for round_ in range(5):
            answers = _report_burst(server.url, 6, f"2026-0{round_ + 1}-01")
            assert [a.status_code for a in answers] == [202] * 6
            assert len({a.json()["report_id"] for a in answers}) == 1
        with app.app_context():
            assert db.session.query(Job).filter_by(kind="report").count() == 5
            db.engine.dispose()
    finally:
        server.stop()


def test_a_finished_job_frees_its_key(app):
    from webapp.background import jobs
    from webapp.extensions import db

    with app.app_context():
        first, created = jobs.submit("cleanup", "Cleanup", {}, dedup_key="schedule:x")
        db.session.refresh(first)  # finished by the task (eager), in its own session
        assert created and first.state == "success" and first.active_key is None  # eager
        second, created = jobs.submit("cleanup", "Cleanup", {}, dedup_key="schedule:x")
        assert created and second.id != first.id


def test_upgrade_keys_the_oldest_unfinished_job_of_each_request(tmp_path):
    """0009 on the previous release's database (0.3.0) holding the duplicates the race
    made: the oldest unfinished job of a key gets it, the others and finished jobs none."""
    from webapp import create_app
    from webapp.background import jobs
    from webapp.extensions import db
    from webapp.models import Job

    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(FIXTURES / "larder-0.3.0.db", data / "larder.db")
    con = sqlite3.connect(data / "larder.db")
    for job_id, state, at in (("old", "queued", "2026-01-01 10:00:00"),
                              ("dup", "queued", "2026-01-01 10:00:01"),
                              ("done", "success", "2025-12-31 09:00:00")):
        con.execute("INSERT INTO jobs (id, task_id, kind, title, params, dedup_key, state, "
                    "progress, message, result, error, attempts, worker, created_at) VALUES "
                    "(?, ?, 'report', 'Sales', '{}', 'report:k', ?, 0, '', '', '', 0, '', ?)",
                    (job_id, job_id, state, at))
    con.commit()
    con.close()
    app = create_app({"TESTING": True, "LARDER_TOKEN": TOKEN,
                      "CELERY_OVERRIDES": {"task_always_eager": True}}, data_dir=data)
    with app.app_context():
        keys = {j.id: j.active_key for j in db.session.query(Job)}
        assert keys == {"old": "report:k", "dup": None, "done": None}
        job, created = jobs.submit("report", "Sales", {}, dedup_key="report:k")
        assert (job.id, created) == ("old", False)
        db.engine.dispose()


def test_files_dir_is_where_every_process_reads_and_writes_files(tmp_path, monkeypatch):
    """LARDER_FILES_DIR: two data dirs (two processes) on one files folder see one
    report; a folder name other than the shared ones is refused."""
    from webapp import create_app
    from webapp.config import SHARED_FOLDERS, files_folder

    shared = tmp_path / "share"
    monkeypatch.setenv("LARDER_FILES_DIR", str(shared))
    one = create_app({"LARDER_TOKEN": TOKEN}, data_dir=tmp_path / "one")
    two = create_app({"LARDER_TOKEN": TOKEN}, data_dir=tmp_path / "two")
    for folder in SHARED_FOLDERS:
        assert (shared / folder).is_dir()
        assert files_folder(folder, one.config) == files_folder(folder, two.config) == \
            shared / folder
    assert not (tmp_path / "one" / "reports").exists()
    assert (tmp_path / "one" / "logs").is_dir()  # each process's own
    with pytest.raises(ValueError):
        files_folder("../secret_key", one.config)


def test_a_deployment_token_is_taken_and_a_short_one_refused(tmp_path, monkeypatch):
    from webapp import create_app
    from webapp.config import ConfigError

    token = "x" * 40
    monkeypatch.setenv("LARDER_TOKEN", token)
    assert create_app(data_dir=tmp_path / "a").config["LARDER_TOKEN"] == token
    monkeypatch.setenv("LARDER_TOKEN", "short")
    with pytest.raises(ConfigError, match="at least 32 characters"):
        create_app(data_dir=tmp_path / "b")


def test_two_workers_on_one_host_have_their_own_names(monkeypatch):
    from webapp.background.supervisor import node_hostname

    assert node_hostname("quick") == node_hostname("quick", None)  # the desktop's name
    assert node_hostname("quick", 101) != node_hostname("quick", 102)
    monkeypatch.setenv("LARDER_WORKER_NAME", "till-2")
    assert node_hostname("quick", 101).startswith("quick-till-2@")
