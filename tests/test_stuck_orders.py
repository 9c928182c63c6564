"""No order stays pending for ever (issue 13): a sale recorded while the broker cannot
take its job (Redis stopped, the local queue folder not writable) answers 201, is
recorded with its job's row, and the sweep (larder.sweep, webapp.background.outbox)
queues it once the broker is back; it is then processed once, stock taken once, however
many times the sweep runs or the message is delivered. docs/tasks.md, "Lost messages"."""
import contextlib
import itertools
import subprocess
import time

import pytest

from cache_servers import _probe, _stop, free_port, new_database, postgres_server  # noqa: F401  (fixture)
from conftest import TOKEN, http_session, require_binary

_names = itertools.count()


def make_app(data_dir, **config):
    """The app as `serve` runs it: jobs go to the broker, not run in-process."""
    from webapp import catalog, create_app

    app = create_app({"LARDER_TOKEN": TOKEN, **config}, data_dir=data_dir)
    with app.app_context():
        catalog.create_product({"sku": "JAM", "name": "Jam", "category": "Shop",
                                "price": "3.00", "stock": "10"})
        catalog.create_product({"sku": "TEA", "name": "Tea", "category": "Shop",
                                "price": "4.00", "stock": "10"})
    return app


ORDER = {"lines": [{"sku": "TEA", "quantity": 1}, {"sku": "JAM", "quantity": 2}]}


@contextlib.contextmanager
def redis_on(port, folder):
    """A real redis-server on `port` (started again on the same port after a stop)."""
    binary = require_binary("redis-server")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save",
                             "", "--appendonly", "no", "--dir", str(folder)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while not _probe(port, b"PING\r\n", b"+PONG"):
            assert proc.poll() is None and time.monotonic() < deadline, "redis did not start"
            time.sleep(0.05)
        yield
    finally:
        _stop(proc)


@contextlib.contextmanager
def queue_folder_broken(data_dir):
    """The local broker's queue folder replaced by a file: no message can be written
    (a chmod would not stop root)."""
    queue = data_dir / "broker" / "queue"
    away = queue.with_name("queue.away")
    queue.rename(away)
    queue.write_text("not a folder")
    try:
        yield
    finally:
        queue.unlink()
        away.rename(queue)


def post_order(app):
    with http_session(app) as http:
        answer = http.post(http.base + "/api/orders", json=ORDER, timeout=60)
    assert answer.status_code == 201, answer.text  # before: 500, the sale recorded anyway
    return answer.json()


def state(app, order_id):
    from webapp.extensions import db
    from webapp.models import Job, Order, Product

    with app.app_context():
        order = db.session.get(Order, order_id)
        jobs = db.session.execute(db.select(Job).where(
            Job.dedup_key == f"order:{order_id}")).scalars().all()
        stock = {p.sku: p.stock for p in db.session.execute(db.select(Product)).scalars()}
        out = order.status, [j.state for j in jobs], stock
        db.session.remove()
        return out


def sweep(app):
    from webapp.background.tasks import sweep_task

    with app.app_context():
        return sweep_task(grace_seconds=0)


def run_job(app, job_id):
    """Deliver the job's message as a worker would (real task code, in this process)."""
    from webapp.background.tasks import process_order_task

    with app.app_context():
        return process_order_task.apply(args=[job_id], task_id=job_id).result


def waiting_ids(app):
    from webapp.background.outbox import broker_task_ids

    with app.app_context():
        return broker_task_ids(app.extensions["celery"])


def test_a_sale_made_while_the_local_queue_is_not_writable_is_processed_by_the_sweep(data_dir):
    app = make_app(data_dir)
    with queue_folder_broken(data_dir):
        body = post_order(app)
        assert sweep(app)["sent_again"] == 0  # still broken: left for the next sweep
    assert state(app, body["id"])[:2] == ("pending", ["queued"])
    assert waiting_ids(app) == set()  # nothing reached the broker

    assert sweep(app) == {"sent_again": 1, "orders_queued": 0, "orders_failed": 0}
    assert waiting_ids(app) == {body["task_id"]}
    assert sweep(app)["sent_again"] == 0  # its message is waiting: not sent twice
    run_job(app, body["task_id"])
    run_job(app, body["task_id"])  # delivered twice: skipped the second time
    status, job_states, stock = state(app, body["id"])
    assert (status, job_states) == ("processed", ["success"])
    assert stock == {"JAM": 8, "TEA": 9}
    assert sweep(app) == {"sent_again": 0, "orders_queued": 0, "orders_failed": 0}


def test_the_desk_form_records_the_sale_when_the_broker_cannot_take_it(data_dir):
    from conftest import csrf_from

    app = make_app(data_dir)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {TOKEN}"
    form = {"csrf_token": csrf_from(client, "/orders/new"), "action": "record",
            "sku0": "JAM", "qty0": "3", "once": "desk-once-1"}
    with queue_folder_broken(data_dir):
        answer = client.post("/orders/new", data=form)
    assert answer.status_code == 302, answer.text  # the receipt; before: 500
    order_id = int(answer.headers["Location"].split("/")[-2])
    assert state(app, order_id)[0] == "pending"
    sweep(app)
    (job_id,) = waiting_ids(app)
    run_job(app, job_id)
    assert state(app, order_id)[0] == "processed"
    assert state(app, order_id)[2]["JAM"] == 7


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_sale_made_while_redis_is_stopped_is_processed_once_by_the_sweep(
        database, data_dir, tmp_path, request):
    port = free_port()
    config = {"CELERY_BROKER_URL": f"redis://127.0.0.1:{port}/0"}
    if database == "postgresql":
        server = request.getfixturevalue("postgres_server")
        config["DATABASE_URL"] = new_database(server, f"larder_stuck_{next(_names)}")
    with redis_on(port, tmp_path):
        app = make_app(data_dir, **config)
        with http_session(app) as http:  # the web side has talked to Redis already
            assert http.get(http.base + "/api/stats", timeout=30).status_code == 200
    body = post_order(app)  # Redis is stopped
    assert state(app, body["id"])[:2] == ("pending", ["queued"])
    assert sweep(app)["sent_again"] == 0  # cannot look at the broker: the next sweep

    with redis_on(port, tmp_path):
        assert sweep(app)["sent_again"] == 1
        assert waiting_ids(app) == {body["task_id"]}
        assert sweep(app)["sent_again"] == 0  # waiting in Redis: not sent twice
        run_job(app, body["task_id"])
        run_job(app, body["task_id"])
        status, job_states, stock = state(app, body["id"])
        assert (status, job_states) == ("processed", ["success"])
        assert stock == {"JAM": 8, "TEA": 9}
    with app.app_context():
        from webapp.extensions import db
        db.session.remove()
        db.engine.dispose()


def test_a_pending_order_without_a_job_is_queued_by_the_sweep(shop):
    """An order recorded but never queued (the process killed between the two, or
    recorded before the outbox): jobs run in-process here."""
    from webapp import ordering
    from webapp.extensions import db
    from webapp.models import Order, Product

    with shop.app_context():
        order_id = ordering.create_order({"lines": [{"sku": "SKU-001", "quantity": 4}]}).id
    assert sweep(shop)["orders_queued"] == 1
    assert sweep(shop)["orders_queued"] == 0
    with shop.app_context():
        assert db.session.get(Order, order_id).status == "processed"
        assert db.session.execute(db.select(Product.stock).filter_by(sku="SKU-001")).scalar() == 6


def test_an_order_whose_jobs_keep_failing_is_marked_failed_not_left_pending(shop):
    from webapp import ordering
    from webapp.background import outbox
    from webapp.extensions import db
    from webapp.models import Job, Order

    with shop.app_context():
        order_id = ordering.create_order({"lines": [{"sku": "SKU-002", "quantity": 1}]}).id
        for i in range(outbox.MAX_TRIES):  # what a job ended by an unexpected error leaves
            db.session.add(Job(id=f"failed-{i}", task_id=f"failed-{i}", kind="order",
                               title="Process", params=f'{{"order_id": {order_id}}}',
                               dedup_key=f"order:{order_id}", state="failure",
                               error="OperationalError: the disk is full"))
        db.session.commit()
    assert sweep(shop) == {"sent_again": 0, "orders_queued": 0, "orders_failed": 1}
    with shop.app_context():
        order = db.session.get(Order, order_id)
        assert order.status == "failed"
        assert order.status_reason == "could not be processed: OperationalError: the disk is full"
        ordering.cancel_order(order_id)  # the owner can cancel it now


def test_sweep_runs_every_minute_from_beat(app):
    schedule = app.config["CELERY"]["beat_schedule"]["sweep"]
    assert schedule["task"] == "larder.sweep" and schedule["schedule"] == 60.0
    assert "larder.sweep" in app.extensions["celery"].tasks


def test_two_deliveries_at_the_same_moment_take_the_stock_once_on_postgresql(data_dir, request):
    """The order's claim is a conditional UPDATE: the second delivery waits on the first's
    row lock, then finds the order no longer pending and does nothing. Made to overlap
    every time: a third transaction holds a product, so the first processing waits with
    its claim held while the second starts."""
    from test_scale_out_fixes import Holder, in_thread, wait_until
    from webapp import ordering
    from webapp.extensions import db
    from webapp.models import Order, Product

    url = new_database(request.getfixturevalue("postgres_server"),
                       f"larder_stuck_{next(_names)}")
    app = make_app(data_dir, DATABASE_URL=url,
                   CELERY_OVERRIDES={"task_always_eager": True})
    with app.app_context():
        order_id = ordering.create_order(ORDER).id
        jam = db.session.execute(db.select(Product.id).filter_by(sku="JAM")).scalar()
        db.session.remove()
    holder = Holder(url, deadlock_timeout="30s")
    try:
        holder.lock(jam)
        first = in_thread(app, lambda: ordering.process_order(order_id).status)
        wait_until(lambda: holder.waiting() >= 1)
        second = in_thread(app, lambda: ordering.process_order(order_id).status)
        wait_until(lambda: holder.waiting() >= 2)  # the second waits on the first's claim
        holder.conn.rollback()
        assert first.result() == ("processed", None)
        assert second.result()[1] is None
    finally:
        holder.close()
    with app.app_context():
        assert db.session.get(Order, order_id).status == "processed"
        stock = {p.sku: p.stock for p in db.session.execute(db.select(Product)).scalars()}
        assert stock == {"JAM": 8, "TEA": 9}
        db.session.remove()
        db.engine.dispose()


def test_beat_in_a_real_worker_sweeps_a_sale_made_while_the_queue_was_not_writable(data_dir):
    """The whole way: the sale through Waitress while the queue folder is broken, then
    the real worker's beat sends the sweep (every second here, no grace) once it is
    writable again, and a worker node processes the order."""
    from worker_proc import WorkerProcess, wait_for

    (data_dir / "larder.toml").write_text(
        '[CELERY_OVERRIDES.beat_schedule.sweep]\ntask = "larder.sweep"\nschedule = 1.0\n'
        'kwargs = {grace_seconds = 0}\n')
    app = make_app(data_dir)
    worker = WorkerProcess(data_dir, beat=True)
    try:
        worker.wait_ready()
        with queue_folder_broken(data_dir):
            body = post_order(app)
            time.sleep(1.5)  # beat meets the broken folder too, and carries on
            assert state(app, body["id"])[0] == "pending"
        wait_for(lambda: state(app, body["id"])[0] == "processed", timeout=60,
                 what="the order processed")
        time.sleep(2)  # more sweeps: nothing sent twice, nothing taken twice
        status, job_states, stock = state(app, body["id"])
        assert job_states == ["success"] and stock == {"JAM": 8, "TEA": 9}
    finally:
        worker.stop()


def test_the_sweep_is_not_on_the_scheduled_jobs_page(client):
    """It has no job of its own: no row for the page to show, no "Run now"."""
    page = client.get("/schedules/").get_data(as_text=True)
    assert "larder.sweep" not in page and "/schedules/sweep/run" not in page
    assert client.post("/schedules/sweep/run").status_code == 404  # before: 500


def test_an_old_pending_order_is_found_by_the_hourly_look_at_every_order(shop):
    """Most sweeps read the last day's orders only (a range of the date index); once an
    hour they read every pending order, so an older one is not left behind either."""
    from datetime import timedelta

    from webapp import ordering
    from webapp.extensions import cache, db
    from webapp.models import Order

    with shop.app_context():
        order = ordering.create_order({"lines": [{"sku": "SKU-003", "quantity": 1}]})
        order.created_at -= timedelta(days=3)
        order_id = order.id
        db.session.commit()
        assert sweep(shop)["orders_queued"] == 1  # the first sweep looks at every order
        db.session.execute(db.update(Order).where(Order.id == order_id)
                           .values(status="pending"))
        db.session.execute(db.text("DELETE FROM jobs"))
        db.session.commit()
    assert sweep(shop)["orders_queued"] == 0  # within the hour: the last day's only
    with shop.app_context():
        cache.delete("outbox/every-order-looked-at")  # an hour later
    assert sweep(shop)["orders_queued"] == 1
