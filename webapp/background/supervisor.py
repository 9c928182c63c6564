"""The bundled worker: a small supervisor whose children are Celery worker nodes.

- `quick` node: orders and emails, threads pool (works on Windows and frozen too).
- `reports` nodes: one solo-pool process per core (at most 2): two reports run at once on
  two cores, and a report never holds up a quick job (separate queue, separate process).
- beat (with --beat): the schedules, as its own child (Celery's -B is refused on Windows).

With the local broker the supervisor first queues again every unfinished job (the
broker forgets fetched messages; webapp.jobs). A stop (SIGTERM, Ctrl+C, or the parent
dying) ends every child within ~1 s: a running job is handed back, not lost.
"""
import logging
import os
import signal
import socket
import sys
import threading

from desktop.procs import exit_when_parent_dies, parent_alive, spawn, stop_processes

log = logging.getLogger("larder.worker")
STOP_GRACE = 0.6  # seconds children get to finish before they are killed


class WorkerRunning(RuntimeError):
    pass


def node_specs(cpu_count=None):
    reports = max(1, min(2, cpu_count or os.cpu_count() or 1))
    specs = [("quick", "quick", "threads", 4)]
    specs += [(f"reports{i + 1}", "reports", "solo", 1) for i in range(reports)]
    return specs


def node_hostname(name):
    return f"{name}@{socket.gethostname()}"


def run_supervisor(data_dir, beat, parent_pid=None):
    from webapp import create_app
    from webapp.celery_app import uses_local_broker
    from webapp.jobs import requeue_unfinished
    from webapp.local_broker import purge_queue_folder

    from desktop.locks import AlreadyLocked, FileLock

    try:
        lock = FileLock(os.path.join(data_dir, "worker.lock")).acquire()
    except AlreadyLocked:
        raise WorkerRunning(f"a worker is already running for {data_dir}") from None
    app = create_app(data_dir=data_dir)
    if uses_local_broker(app):
        with app.app_context():
            requeue_unfinished(lambda: purge_queue_folder(app.config["CELERY"]))
    me = str(os.getpid())
    commands = {name: ["--data-dir", data_dir, "worker-node", "--name", name, "--queues", queue,
                       "--pool", pool, "--concurrency", str(conc), "--parent-pid", me]
                for name, queue, pool, conc in node_specs()}
    if beat:
        commands["beat"] = ["--data-dir", data_dir, "beat", "--parent-pid", me]
    children = {name: spawn(cmd) for name, cmd in commands.items()}
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    restarts = 0
    try:
        while not stop.wait(0.2):
            if parent_pid and not parent_alive(parent_pid):
                log.info("parent %s is gone: stopping", parent_pid)
                break
            for name, proc in children.items():
                if proc.poll() is not None and restarts < 20:
                    log.warning("%s exited with %s: restarting", name, proc.returncode)
                    restarts += 1
                    if uses_local_broker(app) and name != "beat":
                        # Its running job's message is gone with it: hand the job back.
                        with app.app_context():
                            requeue_unfinished(worker=node_hostname(name))
                    children[name] = spawn(commands[name])
    finally:
        stop_processes(list(children.values()), STOP_GRACE)
        lock.release()
    return 0


def run_node(data_dir, name, queues, pool, concurrency, parent_pid=None):
    from webapp import create_app

    app = create_app(data_dir=data_dir)
    celery = app.extensions["celery"]
    if parent_pid:
        exit_when_parent_dies(parent_pid)
    argv = ["worker", "--queues", queues, "--pool", pool, "--concurrency", str(concurrency),
            "--hostname", node_hostname(name), "--loglevel", os.environ.get("LARDER_WORKER_LOGLEVEL", "INFO"),
            "--without-gossip", "--without-mingle", "--without-heartbeat"]
    try:
        celery.worker_main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    else:
        code = 0
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
    celery.start(["beat", "--loglevel", os.environ.get("LARDER_WORKER_LOGLEVEL", "INFO"),
                  "--schedule", app.config["CELERY"]["beat_schedule_filename"]])


def start_bundled_worker(data_dir):
    """`worker --beat` as a child of this process, exiting if this process dies."""
    return spawn(["--data-dir", data_dir, "worker", "--beat", "--parent-pid", str(os.getpid())])
