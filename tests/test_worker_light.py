"""A small supervisor (issue 13, memory): the worker's supervisor builds no Flask app, no
database and no Celery; the quick node does the start-up requeue (once per supervisor
start) and runs beat. Real processes on the real local broker."""
import os
import shelve
import signal
import textwrap
import uuid

import pytest

from conftest import TOKEN
from worker_proc import WorkerProcess, probe, process_tree, wait_for

HEAVY = ("flask", "flask_babel", "sqlalchemy", "flask_sqlalchemy", "flask_caching",
         "celery", "kombu", "webapp.models",
         "webapp.extensions")

PROBE = textwrap.dedent("""
    import json, os, signal, sys, threading, time
    from webapp.background.status import local_state

    data_dir = sys.argv[1]

    def probe():
        deadline = time.time() + 120
        while local_state(data_dir) != "ok" and time.time() < deadline:
            time.sleep(0.05)
        seen = {"state": local_state(data_dir),
                "loaded": [m for m in %r if m in sys.modules]}
        print("SEEN " + json.dumps(seen), flush=True)
        os.kill(os.getpid(), signal.SIGTERM)  # the supervisor's own stop

    threading.Thread(target=probe, daemon=True).start()
    from desktop.cli import main
    sys.argv = ["larder", "--data-dir", data_dir, "worker", "--beat"]
    main()
""" % (HEAVY,))


def test_the_supervisor_loads_no_app_database_or_celery(data_dir):
    """A real supervisor (`worker --beat`) with its real nodes, looked at from inside once
    every node consumes."""
    from webapp import create_app

    create_app({"LARDER_TOKEN": "t"}, data_dir=data_dir)  # the schema made beforehand
    seen, proc = probe(PROBE, data_dir, timeout=180)
    assert seen == {"state": "ok", "loaded": []}
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.fixture
def app(data_dir):
    from webapp import create_app

    (data_dir / "larder.toml").write_text("LARDER_INBOX_SETTLE_SECONDS = 0\n")
    return create_app({"LARDER_TOKEN": TOKEN}, data_dir=data_dir)


def unfinished_job(app, message=False):
    """A job row left queued (as after a crash), with its message still in the queue or
    with none: only a requeue sends it then."""
    from webapp.background import jobs
    from webapp.extensions import db
    from webapp.models import Job

    with app.app_context():
        job_id = uuid.uuid4().hex
        job = Job(id=job_id, task_id=job_id, kind="sync", title="Inbox sync", params="{}",
                  state="queued")
        db.session.add(job)
        db.session.commit()
        if message:
            jobs.send(job)
    return job_id


def job_state(app, job_id):
    from webapp.extensions import db
    from webapp.models import Job

    with app.app_context():
        db.session.expire_all()
        return db.session.get(Job, job_id).state


def node_pid(worker, name):
    for pid in process_tree(worker.proc.pid):
        args = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        if b"worker-node" in args and args[args.index(b"--name") + 1] == name.encode():
            return pid
    return None


def restart_quick_node(worker):
    """SIGKILL the quick node; returns once the supervisor's new one consumes."""
    first = node_pid(worker, "quick")
    ready = worker.log().count(" ready.")
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: worker.log().count(" ready.") > ready, timeout=60,
             what="the quick node started again")
    assert node_pid(worker, "quick") not in (None, first)


def test_unfinished_jobs_are_queued_again_once_per_supervisor_start(data_dir, app):
    from webapp.background.supervisor import node_hostname

    left = unfinished_job(app)
    kept = unfinished_job(app, message=True)  # its message survived: not sent twice
    # What a node killed mid-job left in its folder: emptied at the start, like the queue.
    taken = data_dir / "broker" / "processing" / node_hostname("reports1")
    taken.mkdir(parents=True)
    (taken / "1_stale.reports.msg").write_text("{}")
    worker = WorkerProcess(data_dir).wait_ready()
    try:
        for job_id in (left, kept):
            wait_for(lambda: job_state(app, job_id) == "success", what="the requeued job")
        assert worker.log().count("queued again 2 unfinished job(s)") == 1
        assert os.listdir(taken) == []
        # A job left unfinished now is not the start's business: a node restart does not
        # queue it (only a new supervisor start would).
        stray = unfinished_job(app)
        restart_quick_node(worker)
        # The new quick node consumes: a job sent now runs; the stray one is still queued.
        from webapp.background import jobs

        with app.app_context():
            job, _ = jobs.submit("sync", "Inbox sync", {})
            sent = job.id
        wait_for(lambda: job_state(app, sent) == "success", what="a job sent after the restart")
        assert job_state(app, stray) == "queued"
        assert worker.log().count("unfinished job(s)") == 1
        # Sent once: the queue was emptied before the requeue (the log names each task
        # a node receives; the jobs are taken oldest first).
        assert worker.log().count(f"[{kept}] received") == 1
    finally:
        worker.stop()
    # The next supervisor start queues it again.
    worker = WorkerProcess(data_dir, log_name="worker2.log").wait_ready()
    try:
        wait_for(lambda: job_state(app, stray) == "success", what="the stray job requeued")
    finally:
        worker.stop()


def test_beat_runs_in_the_quick_node_again_after_it_restarts_and_saves_its_schedule(
        data_dir, app):
    (data_dir / "larder.toml").write_text(
        'LARDER_INBOX_SETTLE_SECONDS = 0\n'
        '[CELERY_OVERRIDES.beat_schedule.hourly-sync]\n'
        'task = "larder.sync_inbox"\nschedule = 1.0\n')
    inbox = data_dir / "inbox"
    (inbox / "customers.csv").write_text("email,name,country\na@example.org,A Person,France\n")
    worker = WorkerProcess(data_dir, beat=True).wait_ready()
    try:
        wait_for(lambda: (inbox / "done" / "customers.csv").exists(), timeout=30,
                 what="beat to run the sync")
        assert worker.log().count("beat: sending the schedules") == 1
        restart_quick_node(worker)
        (inbox / "more.csv").write_text("email,name,country\nb@example.org,B Person,Spain\n")
        wait_for(lambda: (inbox / "done" / "more.csv").exists(), timeout=30,
                 what="beat to run the sync after the restart")
        # One beat per quick node's life, the dead one's gone with it.
        assert worker.log().count("beat: sending the schedules") == 2
    finally:
        worker.stop()
    assert worker.proc.returncode == 0
    with shelve.open(str(data_dir / "beat-schedule"), flag="r") as schedule:
        assert schedule["entries"]["hourly-sync"].total_run_count >= 1
