"""The same background work with Redis as broker and result store (scale-out mode)."""
import pytest

from cache_servers import redis_server  # noqa: F401  (fixture)
from conftest import TOKEN, http_session
from worker_proc import WorkerProcess, wait_for


@pytest.fixture
def redis_env(redis_server):  # noqa: F811
    base = redis_server.rsplit("/", 1)[0]
    return {"CELERY_BROKER_URL": f"{base}/1", "CELERY_RESULT_BACKEND": f"{base}/2",
            "LARDER_VISIBILITY_TIMEOUT": "3"}


@pytest.fixture
def redis_app(data_dir, redis_env):
    import redis

    from webapp import create_app
    from webapp.demo_data import load_demo

    for db in (1, 2):  # a clean broker and result store for each test
        redis.Redis.from_url(redis_env["CELERY_BROKER_URL"].rsplit("/", 1)[0] + f"/{db}").flushdb()
    app = create_app({"LARDER_TOKEN": TOKEN, **redis_env}, data_dir=data_dir)
    with app.app_context():
        load_demo(orders=3000, seed=3)
    return app


@pytest.fixture
def http(redis_app):
    with http_session(redis_app) as session:
        yield session


def status(http, url):
    return http.get(http.base + url, timeout=5).json()


def test_redis_broker_and_results(redis_app, http, redis_env, data_dir):
    assert redis_app.extensions["celery"].conf.broker_url.startswith("redis://")
    # No worker anywhere: nobody answers the broker's ping.
    assert http.get(http.base + "/health").json()["worker"] == "down"
    worker = WorkerProcess(data_dir, env=redis_env).wait_ready()
    try:
        wait_for(lambda: http.get(http.base + "/health").json()["worker"] == "ok",
                 what="the worker seen as ok")
        # A worker on another host writes no local status: it is asked over the broker.
        from webapp.background.status import remote_state

        wait_for(lambda: remote_state(redis_app) == "ok", what="the worker to answer a ping")
        body = http.post(http.base + "/api/reports",
                         json={"from": "2025-01-01", "to": "2025-12-31", "format": "json"}).json()
        final = wait_for(lambda: (s := status(http, body["status_url"]))["state"] in
                         ("SUCCESS", "FAILURE") and s, what="the report")
        assert final["state"] == "SUCCESS", final
        download = http.get(f"{http.base}/reports/{body['report_id']}/download")
        assert download.headers["Content-Type"] == "application/json"
        assert list(download.json())[:6] == ["currency", "totals", "by_month", "by_category",
                                             "by_country", "top_products"]
        # The task's state lives in Redis, not in files.
        from celery.result import AsyncResult

        with redis_app.app_context():
            result = AsyncResult(body["task_id"], app=redis_app.extensions["celery"])
            assert result.state == "SUCCESS"
        assert not (data_dir / "results").exists() or not any((data_dir / "results").iterdir())
    finally:
        worker.stop()


def test_redis_redelivers_a_task_whose_worker_was_killed(redis_app, http, redis_env, data_dir):
    from webapp.extensions import db
    from webapp.models import Job

    first = WorkerProcess(data_dir, env=redis_env, log_name="w1.log").wait_ready()
    body = http.post(http.base + "/api/reports",
                     json={"from": "2024-01-01", "to": "2026-12-31", "format": "pdf"}).json()

    def state():
        with redis_app.app_context():
            return db.session.get(Job, body["report_id"]).state

    wait_for(lambda: state() == "running", interval=0.005, what="the report to start")
    first.kill_all()
    second = WorkerProcess(data_dir, env=redis_env, log_name="w2.log").wait_ready()
    try:
        # acks_late + reject_on_worker_lost: Redis hands the message out again once its
        # visibility timeout (3 s here) has passed.
        final = wait_for(lambda: (s := status(http, body["status_url"]))["state"] in
                         ("SUCCESS", "FAILURE") and s, timeout=60, what="redelivery")
        assert final["state"] == "SUCCESS"
        with redis_app.app_context():
            assert db.session.get(Job, body["report_id"]).attempts == 2
    finally:
        second.stop()
