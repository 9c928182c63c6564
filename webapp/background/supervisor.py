"""The bundled worker: a small supervisor whose children are Celery worker nodes
(node.py), and the keeper that `serve` and the launcher use to keep that supervisor running.

- `quick` node: orders and emails, threads pool (works on Windows and frozen too).
- `reports` nodes: solo-pool processes, one per core beyond the first (at least 1, at
  most 2): a report never holds up a quick job (separate queue, separate process), and
  on a 2-core computer one core stays free for the window and quick jobs.
- beat (with --beat): the schedules, in a thread of the quick node (it sleeps until the
  next one is due; Celery's -B would be a process, and is refused on Windows).

The supervisor imports no Flask app, database or Celery (issue 13: 23 MB of USS instead
of 67): with the local broker, the quick node's first start under it queues again every
unfinished job (from the job rows), and the other nodes consume only after that
(`requeue_mark`). A node that dies is started again with backoff; the messages it had
fetched, started or not, go back in the queue. The supervisor writes its state for the
web process every second (webapp.background.status). A stop (SIGTERM, Ctrl+C, or the
parent dying) ends every child within ~1 s: a running job is handed back, not lost. On
Windows a stop is asked by closing the child's stdin pipe, and each process's children
are in a Job Object that kills them with it (procs.py, docs/windows.md).
"""
import logging
import os
import signal
import socket
import sys
import threading
import time

from . import status
from .procs import in_a_thread, on_stop_request, parent_alive, spawn, stop_processes

log = logging.getLogger("larder.worker")
STOP_GRACE = 0.6  # seconds children get to finish before they are killed
STABLE_S = 10.0  # a child up this long (and ready) had a normal life: its streak ends
MAX_DELAY_S = 30.0
REPORT_AFTER = 3  # failed starts in a row before "keeps stopping" is reported
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
HEARTBEAT_S = 1.0  # the status file is rewritten at least this often (status.py)


class WorkerRunning(RuntimeError):
    pass


def node_specs(cpu_count=None):
    reports = max(1, min(2, (cpu_count or os.cpu_count() or 1) - 1))
    specs = [("quick", "quick", "threads", 4)]
    specs += [(f"reports{i + 1}", "reports", "solo", 1) for i in range(reports)]
    return specs


def node_hostname(name, supervisor_pid=None):
    """A node's Celery name: `quick@host`. Several workers on one host sharing a broker
    (scale-out) need their own names: LARDER_WORKER_NAME, else the supervisor's pid when
    given (a remote broker), makes it `quick-<that>@host`."""
    worker = os.environ.get("LARDER_WORKER_NAME") or (str(supervisor_pid) if supervisor_pid
                                                      else "")
    return f"{name}-{worker}@{socket.gethostname()}" if worker else \
        f"{name}@{socket.gethostname()}"


def backoff(failures):
    """Seconds before the next start after `failures` short lives in a row: the first
    restart is at once, then 0.5, 1, 2 ... 30 s; never given up."""
    return 0.0 if failures <= 1 else min(0.5 * 2 ** (failures - 2), MAX_DELAY_S)


class Child:
    """One child process with its restart streak."""

    def __init__(self, name, command, ready_file=None):
        self.name, self.command, self.ready_file = name, command, ready_file
        self.proc, self.started, self.failures, self.restart_at = None, 0.0, 0, None

    def start(self, extra=()):
        if self.ready_file:
            try:
                os.remove(self.ready_file)
            except FileNotFoundError:
                pass
        self.proc = spawn([*self.command, *extra])
        self.started, self.restart_at = time.monotonic(), None

    def ready(self):
        if self.proc is None or self.proc.poll() is not None:
            return False
        if self.ready_file is None:
            return True
        try:
            with open(self.ready_file) as fh:
                return fh.read().strip() == str(self.proc.pid)
        except OSError:
            return False

    def died(self, was_ready):
        """Called once when its process has ended: schedule the next start."""
        lived = time.monotonic() - self.started
        self.failures = 1 if (was_ready and lived >= STABLE_S) else self.failures + 1
        self.restart_at = time.monotonic() + backoff(self.failures)
        self.proc = None


REQUEUER = "quick"  # the node that queues the unfinished jobs again, and runs beat


def requeue_mark(data_dir):
    """Written (with the supervisor's pid) once the jobs are queued again for that
    supervisor: the other nodes consume only after it, the quick node does it only once."""
    return os.path.join(status.folder(data_dir), "requeued")


def requeue_done(data_dir, supervisor_pid):
    try:
        with open(requeue_mark(data_dir)) as fh:
            return fh.read().strip() == str(supervisor_pid)
    except OSError:
        return False


def run_supervisor(data_dir, beat, parent_pid=None):
    """Small on purpose (issue 13): no Flask app, database or Celery here. The quick node
    does the requeue at start and runs beat; this process starts, watches and stops."""
    from ..locks import AlreadyLocked, FileLock
    from .broker_files import celery_settings, prune_wake_ups, restore_node_messages

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    try:
        lock = FileLock(os.path.join(data_dir, "worker.lock")).acquire()
    except AlreadyLocked:
        raise WorkerRunning(f"a worker is already running for {data_dir}") from None
    log.info("worker supervisor %s starting on %s", os.getpid(), data_dir)
    previous = status.read_status(data_dir) or {}
    # Started again after a death: "down" (the banner stays) until every node consumes.
    waiting = "down" if previous.get("state") == "down" else "starting"
    status.write_status(data_dir, waiting)
    me = str(os.getpid())
    try:
        os.remove(requeue_mark(data_dir))  # a former supervisor's
    except FileNotFoundError:
        pass
    children = [Child(name, ["--data-dir", data_dir, "worker-node", "--name", name,
                             "--queues", queue, "--pool", pool, "--concurrency", str(conc),
                             "--parent-pid", me]
                      + (["--beat"] if beat and name == REQUEUER else []),
                      os.path.join(status.folder(data_dir), f"{name}.ready"))
                for name, queue, pool, conc in node_specs()]
    # The local broker's folders (the nodes' settings name the same ones). With another
    # broker there is nothing in them: putting back a dead node's messages does nothing.
    local = celery_settings(data_dir, 0.1, make_folders=False)

    def start(child):
        # The quick node queues the unfinished jobs again, until one of its starts has
        # done it for this supervisor: once per supervisor start, not per node restart.
        child.start(["--requeue"] if child.name == REQUEUER and not requeue_done(data_dir, me)
                    else [])

    stop = threading.Event()
    signal.signal(signal.SIGINT, in_a_thread(stop.set))
    # SIGTERM; Windows: Ctrl+Break, the stop pipe (procs.py)
    on_stop_request(in_a_thread(stop.set))
    ready = {}
    try:
        for child in children:
            start(child)
        last, written = None, 0.0
        while not stop.wait(0.2):
            if parent_pid and not parent_alive(parent_pid):
                log.info("parent %s is gone: stopping", parent_pid)
                break
            problem = ""
            for child in children:
                if child.proc is not None and child.proc.poll() is not None:
                    code = child.proc.returncode
                    child.died(ready.pop(child.name, False))
                    log.warning("%s exited with %s: starting it again in %.1f s", child.name,
                                code, max(0.0, child.restart_at - time.monotonic()))
                    if child.failures == REPORT_AFTER:
                        log.error("%s keeps stopping as it starts (exit %s); still retrying",
                                  child.name, code)
                    # What it had fetched, started or not, is queued again.
                    restore_node_messages(local, node_hostname(child.name))
                    prune_wake_ups(local)
                if child.proc is None and time.monotonic() >= child.restart_at:
                    start(child)
                if child.proc is not None and not ready.get(child.name) and child.ready():
                    ready[child.name] = True
                if child.failures >= REPORT_AFTER and not ready.get(child.name):
                    problem = f"the {child.name} worker keeps stopping as it starts"
            if all(ready.get(c.name) for c in children):
                waiting = "starting"  # a later node death shows "down" again
                state = "ok"
            else:
                crashed = any(c.failures for c in children if not ready.get(c.name))
                state = "down" if crashed or waiting == "down" else "starting"
            if (state, problem) != last or time.monotonic() - written >= HEARTBEAT_S:
                status.write_status(data_dir, state, problem=problem)
                last, written = (state, problem), time.monotonic()
    finally:
        stop.set()
        stop_processes([c.proc for c in children if c.proc is not None], STOP_GRACE)
        status.clear_status(data_dir)
        lock.release()
    # Everything is stopped and saved: skip the interpreter's teardown, as the nodes do.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


LOG_LIMIT = 5_000_000  # bytes of logs/worker.log before it is rotated to worker.log.1


class WorkerKeeper:
    """`serve` and the launcher: run the bundled worker (`worker --beat`) as a child,
    with its output in logs/worker.log (not the terminal), and start it again whenever
    it dies, with backoff (never given up). `on_problem(line)` gets one line per problem.
    """

    def __init__(self, data_dir, on_problem=None):
        self.data_dir = str(data_dir)
        self.on_problem = on_problem or log.warning
        self.log_path = os.path.join(self.data_dir, "logs", "worker.log")
        self.proc = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-keeper", daemon=True)
        self._failures = 0
        self._reported = ""

    @property
    def pid(self):
        return self.proc.pid if self.proc is not None else None

    def start(self):
        """Returns at once: the worker is spawned by the keeper's thread (the caller may
        be between starting its server and setting its signal handlers)."""
        announce_worker(self.data_dir)
        self._thread.start()
        return self

    def processes(self):
        return [self.proc] if self.proc is not None else []

    def stop(self, grace=0.9):
        """No more restarts; stop the worker (SIGTERM, killed after `grace` seconds)."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(5)
        stop_processes(self.processes(), grace)

    def _spawn(self):
        os.makedirs(os.path.dirname(self.log_path), mode=0o700, exist_ok=True)
        self._rotate_log()
        with open(self.log_path, "ab") as out:
            self.proc = spawn(["--data-dir", self.data_dir, "worker", "--beat",
                               "--parent-pid", str(os.getpid())],
                              stdout=out, stderr=out)
        self._started = time.monotonic()
        log.info("worker supervisor started (pid %s)", self.proc.pid)

    def _rotate_log(self):
        """Copy and truncate (the worker's processes keep it open in append mode)."""
        try:
            if os.path.getsize(self.log_path) < LOG_LIMIT:
                return
            with open(self.log_path, "rb") as src, open(self.log_path + ".1", "wb") as dst:
                dst.write(src.read())
            os.truncate(self.log_path, 0)
        except OSError:
            pass

    def _report(self, line):
        if line != self._reported:
            self.on_problem(line)
            self._reported = line

    def _run(self):
        if self._stop.is_set():
            return
        self._spawn()
        ticks = 0
        while not self._stop.wait(0.2):
            code = self.proc.poll()
            if code is None:
                ticks += 1
                if ticks % 300 == 0:  # about once a minute
                    self._rotate_log()
                body = status.read_status(self.data_dir) or {}
                if body.get("problem"):
                    self._report(f"{body['problem']} (see {self.log_path})")
                elif body.get("state") == "ok":
                    self._reported = ""  # healthy again: a new problem gets its line
                continue
            lived = time.monotonic() - self._started
            self._failures = 1 if lived >= STABLE_S else self._failures + 1
            delay = backoff(self._failures)
            log.info("the worker exited with %s after %.1f s: starting it again in %.1f s",
                     code, lived, delay)
            if self._failures == 1:
                self._report(f"the background worker stopped (exit {code}): starting it again")
            elif self._failures == REPORT_AFTER:
                self._report("the background worker keeps stopping as it starts; still "
                             f"retrying (see {self.log_path})")
            status.write_status(self.data_dir, "down", ttl=delay + 60)
            if self._stop.wait(delay):
                return
            self._spawn()


def announce_worker(data_dir, within=60):
    """A worker is about to be started (the launcher defers it): /health says starting."""
    status.write_status(str(data_dir), "starting", ttl=within)


def start_bundled_worker(data_dir, on_problem=None):
    """`worker --beat` as a kept child of this process (which it dies with)."""
    return WorkerKeeper(data_dir, on_problem).start()
