"""A worker node: one Celery worker process under the supervisor (supervisor.py), and
beat. The quick node also does what needs the app at a worker's start (the requeue of
unfinished jobs, local broker) and runs beat in a thread: the supervisor stays small.
`larder beat` runs the scheduler alone (scale-out).
"""
import logging
import os
import sys
import threading
import time
from contextlib import contextmanager

from . import status
from .procs import exit_when_parent_dies, stop_when_stdin_closes
from .supervisor import LOG_FORMAT, backoff, node_hostname, requeue_done, requeue_mark

log = logging.getLogger("larder.worker")


def run_beat_thread(celery, stop):
    """Celery beat's loop (celery.beat.Service.start) in a thread: look at the schedule,
    send what is due, sleep until the next one (or a stop). A failure is logged and the
    schedule started again, with backoff, like a node."""
    from celery.beat import Service

    failures = 0
    while not stop.is_set():
        scheduler = None
        try:
            scheduler = Service(celery, remote_control=False).scheduler
            log.info("beat: sending the schedules")
            while True:
                interval = scheduler.tick()
                if stop.wait(max(interval or 0.0, 0.0)):
                    break
                if scheduler.should_sync():
                    scheduler._do_sync()
                failures = 0
        except Exception:  # never the node's death: its jobs go on
            failures += 1
            log.exception("beat stopped: starting it again in %.1f s", backoff(failures))
            stop.wait(backoff(failures))
        finally:
            if scheduler is not None:
                try:
                    scheduler.close()  # saves the schedule's last run times
                except Exception:
                    log.exception("beat: saving the schedule failed")


@contextmanager
def logged():
    """What a node logs before Celery's worker sets up logging (which then takes over):
    to stderr, the worker's log, like the supervisor's lines."""
    root = logging.getLogger()
    if root.handlers:
        yield
        return
    handler, level = logging.StreamHandler(), root.level
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def requeue_at_start(app, data_dir, supervisor_pid):
    """The quick node's first start under a supervisor (local broker): forget stale
    wake-ups, empty the queue and the nodes' folders, queue every unfinished job again
    from its row; then mark it done (the other nodes wait for that before consuming, so
    no job is taken from the queue while it is emptied)."""
    from ..atomic_files import write_atomically
    from .broker_files import prune_wake_ups, purge_queue_folder
    from .jobs import requeue_unfinished

    conf = app.config["CELERY"]
    if conf["broker_url"] == "filesystem://":
        prune_wake_ups(conf)
        with app.app_context():
            requeue_unfinished(lambda: purge_queue_folder(conf))
    os.makedirs(status.folder(data_dir), mode=0o700, exist_ok=True)
    write_atomically(requeue_mark(data_dir), str(supervisor_pid).encode())


def wait_for_requeue(data_dir, supervisor_pid):
    """A node's start under a supervisor (local broker): consume only once the quick node
    has queued the unfinished jobs again. A stop or the supervisor's death ends the wait
    (the usual handlers: nothing was fetched yet)."""
    waited = False
    while not requeue_done(data_dir, supervisor_pid):
        if not waited:
            log.info("waiting for the unfinished jobs to be queued again")
            waited = True
        time.sleep(0.05)


def run_node(data_dir, name, queues, pool, concurrency, parent_pid=None, beat=False,
             requeue=False):
    from celery.signals import worker_ready
    from webapp import create_app

    from .broker_files import node_options

    app = create_app(data_dir=data_dir)
    celery = app.extensions["celery"]
    local = celery.conf.broker_url == "filesystem://"
    hostname = node_hostname(name, None if local else parent_pid)
    if local:
        # Fetched messages wait in this node's own folder until done (broker.py).
        celery.conf.broker_transport_options = node_options(app.config["CELERY"], hostname)
    if parent_pid:
        exit_when_parent_dies(parent_pid)
    stop_when_stdin_closes()  # Windows: a SIGTERM to itself, Celery's warm shutdown
    with logged():
        if requeue:
            requeue_at_start(app, data_dir, parent_pid)
        elif local and parent_pid:
            wait_for_requeue(data_dir, parent_pid)
    beat_stop, beat_thread = threading.Event(), []

    @worker_ready.connect(weak=False)
    def announce(**_):
        os.makedirs(status.folder(data_dir), mode=0o700, exist_ok=True)
        with open(os.path.join(status.folder(data_dir), f"{name}.ready"), "w") as fh:
            fh.write(str(os.getpid()))
        if beat and not beat_thread:
            # Once this node consumes (less to share the CPU with while the nodes start).
            # One quick node at a time, so one beat: a restarted node starts it again.
            beat_thread.append(threading.Thread(target=run_beat_thread, args=(celery, beat_stop),
                                                name="beat", daemon=True))
            beat_thread[0].start()

    argv = ["worker", "--queues", queues, "--pool", pool, "--concurrency", str(concurrency),
            "--hostname", hostname,
            "--loglevel", os.environ.get("LARDER_WORKER_LOGLEVEL", "INFO"),
            "--without-gossip", "--without-mingle", "--without-heartbeat"]
    try:
        celery.worker_main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    else:
        code = 0
    beat_stop.set()
    for thread in beat_thread:
        thread.join(1.0)  # its schedule file saved
    # The worker has shut down (jobs finished or handed back, results written): skip the
    # interpreter's slow teardown (~0.3 s) so a stop stays well under a second.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_beat(data_dir, parent_pid=None):
    from webapp import create_app

    app = create_app(data_dir=data_dir)
    celery = app.extensions["celery"]
    if parent_pid:
        exit_when_parent_dies(parent_pid)
    stop_when_stdin_closes()
    celery.start(["beat", "--loglevel", os.environ.get("LARDER_WORKER_LOGLEVEL", "INFO"),
                  "--schedule", app.config["CELERY"]["beat_schedule_filename"]])
