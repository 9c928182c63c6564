"""Background work through a real worker process on the real local broker."""
import io
import os
import signal
import subprocess
import sys

import pytest
from pypdf import PdfReader

from conftest import TOKEN, http_session
from worker_proc import ROOT, WorkerProcess, alive, cmdline, process_tree, wait_for

FINISHED = ("SUCCESS", "FAILURE")


@pytest.fixture
def real_app(data_dir):
    """The app as `serve` runs it: tasks go to the broker, not run in-process."""
    from webapp import create_app
    from webapp.demo_data import load_demo

    # Shared with the worker process through the data dir: sync dropped files at once.
    (data_dir / "larder.toml").write_text("LARDER_INBOX_SETTLE_SECONDS = 0\n")
    app = create_app({"LARDER_TOKEN": TOKEN}, data_dir=data_dir)
    with app.app_context():
        load_demo(orders=3000, seed=7)
    return app


@pytest.fixture
def http(real_app):
    with http_session(real_app) as session:
        yield session


@pytest.fixture
def worker(data_dir):
    procs = []

    def start(**kwargs):
        proc = WorkerProcess(data_dir, log_name=f"worker{len(procs)}.log", **kwargs)
        procs.append(proc)
        return proc.wait_ready()

    yield start
    for proc in procs:
        proc.stop()


def wait_task(http, status_url, timeout=60):
    seen = []

    def done():
        body = http.get(http.base + status_url, timeout=5).json()
        seen.append((body["state"], body["progress"]))
        return body if body["state"] in FINISHED else None

    return wait_for(done, timeout=timeout, interval=0.05, what=status_url), seen


def test_report_over_http_reaches_success_and_downloads_a_valid_pdf(real_app, http, worker):
    from webapp import reports
    from webapp.money import cents_for_display

    worker()
    response = http.post(http.base + "/api/reports",
                         json={"from": "2025-01-01", "to": "2025-12-31", "format": "pdf"})
    assert response.status_code == 202
    body = response.json()
    assert set(body) >= {"report_id", "task_id", "status_url"}
    final, seen = wait_task(http, body["status_url"])
    assert final["state"] == "SUCCESS" and final["progress"] == 100, final
    progress = [p for _, p in seen]
    assert progress == sorted(progress)  # never goes backwards

    download = http.get(f"{http.base}/reports/{body['report_id']}/download")
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/pdf"
    assert ('filename=larder-report-2025-01-01-to-2025-12-31.pdf'
            in download.headers["Content-Disposition"])
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(download.content)).pages)
    with real_app.app_context():
        totals = reports.collect(*reports.parse_range("2025-01-01", "2025-12-31"))["totals"]
    assert totals["orders"] > 0
    assert f"{totals['orders']:,}" in text
    assert cents_for_display(totals["revenue_cents"]) in text
    page = http.get(http.base + "/reports/").text
    assert "Sales report, 2025, PDF" in page and "Download" in page


def test_order_is_processed_by_the_worker_which_refreshes_caches(real_app, http, worker):
    from webapp.extensions import db
    from webapp.models import Customer

    with real_app.app_context():
        customer = db.session.execute(db.select(Customer).limit(1)).scalar()
        email, name = customer.email, customer.name
    stock_before = http.get(http.base + "/api/products/BAK-001").json()["stock"]
    created = http.post(http.base + "/api/orders", json={
        "customer_email": email, "lines": [{"sku": "BAK-001", "quantity": 2}]})
    assert created.status_code == 201 and created.json()["status"] == "pending"
    # Cache the product page while the order waits: only the worker can refresh it.
    http.get(http.base + "/products/?q=BAK-001")
    assert http.get(http.base + "/products/?q=BAK-001").headers["X-Cache"] == "HIT"

    worker()
    final, _ = wait_task(http, created.json()["status_url"])
    assert final["state"] == "SUCCESS" and final["result"]["status"] == "processed"
    page = http.get(http.base + "/products/?q=BAK-001")
    assert page.headers["X-Cache"] == "MISS"
    assert f'<td class="num">{stock_before - 2}</td>' in page.text

    ref = created.json()["ref"]
    eml = real_app.config["DATA_DIR"] + f"/outbox/order-{ref}.eml"
    wait_for(lambda: os.path.exists(eml), what="the confirmation email")
    outbox = http.get(http.base + "/outbox/").text
    assert f"Your order {ref}" in outbox
    shown = http.get(f"{http.base}/outbox/order-{ref}.eml").text
    assert f"Dear {name}" in shown and f"invoice-{ref}.pdf" in shown
    assert http.get(http.base + "/outbox/..%2Fsecret_key").status_code == 404


def test_hourly_sync_run_now_imports_dropped_files(real_app, http, worker):
    inbox = os.path.join(real_app.config["DATA_DIR"], "inbox")
    with open(os.path.join(inbox, "products-new.csv"), "w") as fh:
        fh.write("sku,name,category,price,stock\nNEW-1,Rye Loaf,Bakery,3.20,5\n")
    with open(os.path.join(inbox, "orders-bad.csv"), "w") as fh:
        fh.write("order_ref,created_at,customer_email,sku,quantity\nX1,yesterday,a@b.c,NOPE,1\n")
    worker()
    page = http.get(http.base + "/schedules/").text
    assert "hourly-sync" in page and "every hour at minute 0" in page
    # (Bearer calls need no CSRF token.)
    response = http.post(http.base + "/schedules/hourly-sync/run", allow_redirects=False)
    assert response.status_code == 302
    wait_for(lambda: os.path.exists(os.path.join(inbox, "done", "products-new.csv")),
             what="the synced file")
    assert http.get(http.base + "/api/products/NEW-1").json()["name"] == "Rye Loaf"
    errors = os.path.join(inbox, "failed", "orders-bad.csv.errors.txt")
    wait_for(lambda: os.path.exists(errors), what="the error file")
    assert "line 2: created_at" in open(errors).read()


def test_beat_runs_the_schedule(data_dir, real_app, worker):
    (data_dir / "larder.toml").write_text(
        'LARDER_INBOX_SETTLE_SECONDS = 0\n'
        '[CELERY_OVERRIDES.beat_schedule.hourly-sync]\n'
        'task = "larder.sync_inbox"\nschedule = 1.0\n')
    with open(data_dir / "inbox" / "customers.csv", "w") as fh:
        fh.write("email,name,country\nnew@example.org,New Person,France\n")
    worker(beat=True)
    wait_for(lambda: (data_dir / "inbox" / "done" / "customers.csv").exists(), timeout=30,
             what="beat to run the sync")


def test_quick_jobs_do_not_wait_behind_reports(real_app, http, worker):
    """Deterministic, not a race: the report nodes are frozen (SIGSTOP) while three
    reports and an order are submitted; the order must still be done, the reports not
    started. Then the report nodes go on and finish them."""
    from webapp.extensions import db
    from webapp.models import Customer

    with real_app.app_context():
        email = db.session.execute(db.select(Customer.email).limit(1)).scalar()
    running = worker()
    report_nodes = [pid for pid in process_tree(running.proc.pid)
                    if " worker-node " in cmdline(pid) and "--queues reports" in cmdline(pid)]
    assert report_nodes, "no report node found"
    for pid in report_nodes:
        os.kill(pid, signal.SIGSTOP)
    try:
        # Three long reports (all the data; distinct days so they are not one job).
        reports = [http.post(http.base + "/api/reports", json={
            "from": f"2024-01-0{day}", "to": "2026-12-31", "format": "pdf"}).json()
            for day in (1, 2, 3)]
        order = http.post(http.base + "/api/orders", json={
            "customer_email": email, "lines": [{"sku": "BAK-002", "quantity": 1}]}).json()
        final, _ = wait_task(http, order["status_url"])
        assert final["state"] == "SUCCESS"
        states = [http.get(http.base + r["status_url"]).json()["state"] for r in reports]
        assert states == ["PENDING"] * 3, states
    finally:
        for pid in report_nodes:
            os.kill(pid, signal.SIGCONT)
    for report in reports:
        assert wait_task(http, report["status_url"])[0]["state"] == "SUCCESS"
    # Reports run in the report nodes (one per core beyond the first), never on the
    # quick node.
    from webapp.models import Job

    with real_app.app_context():
        nodes = {db.session.get(Job, r["report_id"]).worker.split("@")[0] for r in reports}
        order_node = db.session.execute(db.select(Job.worker).filter_by(kind="order")).scalar()
    from webapp.background.supervisor import node_specs

    assert nodes == {name for name, queue, _, _ in node_specs() if queue == "reports"}
    assert order_node.startswith("quick@")


def test_killed_worker_finishes_the_report_after_restart(data_dir, real_app, http, worker):
    from webapp.extensions import db
    from webapp.models import Job

    first = worker()
    body = http.post(http.base + "/api/reports", json={
        "from": "2024-01-01", "to": "2026-12-31", "format": "pdf"}).json()

    def state():
        with real_app.app_context():
            return db.session.get(Job, body["report_id"]).state

    wait_for(lambda: state() == "running", interval=0.005, what="the report to start")
    first.kill_all()
    assert state() == "running"  # nobody finished it
    worker()
    final, _ = wait_task(http, body["status_url"])
    assert final["state"] == "SUCCESS"
    with real_app.app_context():
        job = db.session.get(Job, body["report_id"])
        assert job.attempts == 2
        assert db.session.execute(db.select(db.func.count(Job.id)).filter_by(kind="report")).scalar() == 1
    files = [n for n in os.listdir(data_dir / "reports") if not n.startswith(".")]
    assert files == [f"{body['report_id']}.pdf"]  # one report, not two


def test_identical_report_request_returns_the_same_job(http):
    first = http.post(http.base + "/api/reports",
                      json={"from": "2025-01-01", "to": "2025-03-31", "format": "csv"}).json()
    again = http.post(http.base + "/api/reports",
                      json={"from": "2025-01-01", "to": "2025-03-31", "format": "csv"}).json()
    assert again["report_id"] == first["report_id"] and again["task_id"] == first["task_id"]
    other = http.post(http.base + "/api/reports",
                      json={"from": "2025-01-01", "to": "2025-03-31", "format": "json"}).json()
    assert other["report_id"] != first["report_id"]
    status = http.get(http.base + first["status_url"]).json()
    assert status["state"] == "PENDING" and status["progress"] == 0
    assert http.get(f"{http.base}/reports/{first['report_id']}/download").status_code == 409


def test_report_and_task_errors(http):
    for body, reason in [({"from": "2025-13-01", "to": "2025-12-31", "format": "pdf"}, "bad date"),
                         ({"from": "2025-02-01", "to": "2025-01-01", "format": "pdf"}, "after"),
                         ({"from": "2025-01-01", "to": "2025-01-31", "format": "doc"}, "format")]:
        response = http.post(http.base + "/api/reports", json=body)
        assert response.status_code == 400 and reason in response.json()["error"], body
    assert http.post(http.base + "/api/reports", data="x").status_code == 400
    assert http.get(http.base + "/api/tasks/nope").status_code == 404
    assert http.get(http.base + "/reports/nope/download").status_code == 404


def _start_serve(data_dir):
    info = data_dir / "server.json"
    proc = subprocess.Popen([sys.executable, "-m", "desktop", "--data-dir", str(data_dir), "serve"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(info.exists, what="server.json")
    from webapp.background.supervisor import node_specs

    # the worker's supervisor (with beat) and its nodes
    wait_for(lambda: len(process_tree(proc.pid)) >= len(node_specs()) + 1,
             what="the bundled worker")
    return proc


def test_serve_runs_the_bundled_worker_and_stops_it(data_dir):
    proc = _start_serve(data_dir)
    tree = process_tree(proc.pid)
    proc.send_signal(signal.SIGTERM)
    proc.wait(10)
    wait_for(lambda: not any(alive(p) for p in tree), timeout=5,
             what="every worker process to exit")


def test_worker_exits_when_serve_is_killed(data_dir):
    proc = _start_serve(data_dir)
    tree = process_tree(proc.pid)
    proc.kill()
    proc.wait(5)
    wait_for(lambda: not any(alive(p) for p in tree), timeout=15,
             what="the orphaned worker to exit")


def test_second_worker_on_the_same_data_dir_is_refused(data_dir, worker):
    worker()
    result = subprocess.run([sys.executable, "-m", "desktop", "--data-dir", str(data_dir), "worker"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "a worker is already running" in result.stderr
