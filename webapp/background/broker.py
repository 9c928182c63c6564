"""The embedded broker and result store: kombu's filesystem transport and Celery's
`file://` result backend, made safe for a web process and workers sharing a folder.

What changed from the stock parts, and why (docs/tasks.md):
- Messages and results appear atomically: written under a temporary name, then renamed
  into place. The stock transport creates a message file before writing it, and a worker
  that reads it empty dies ("Unrecoverable error: JSONDecodeError"); the stock result
  backend can likewise be read half written.
- A fetched message is moved into the node's own folder `processing/<node>/` (not the
  system temp folder, where other users could read it) and deleted once acknowledged:
  when a node dies, what it had fetched, started or not, is put back in the queue.
- A message that cannot be decoded is moved to `rejected/` and logged; it never
  crashes a node (the stock transport dies on it).
- The settings of this broker are decided in broker_files.py (`celery_settings`, with
  the folders and the file work the supervisor does without importing Celery).
- Windows: results are written and read through webapp.atomic_files (a file that the
  web process is reading cannot be replaced there: the write waits a moment), and the
  result store's URL is built so that a `C:\\...` folder is not read as host and port
  (`result_backend_url`).
- A task is picked up when it is written, and a result seen when it is written, not at
  the next poll: the writer nudges the waiting processes through a local socket
  (wake.py). A node waits for a nudge, or a stop request (the same socket), up to
  RECHECK_SECONDS; without wake-ups it polls every `polling_interval` and returns
  after at most 0.1 s so that its stop flag is checked (a stop in well under a second).
"""
import logging
import os
import socket
import uuid
from time import monotonic

from celery import states
from celery.backends.filesystem import FilesystemBackend
from celery.exceptions import TimeoutError
from kombu.serialization import loads as decode_body
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads
from queue import Empty

from ..atomic_files import read_bytes, replace_file, retrying, write_atomically
from . import wake
# Named here too, where config.py and older callers look for them.
from .broker_files import celery_settings, result_backend_url  # noqa: F401

STOP_CHECK_SECONDS = 0.1  # longest wait without wake-ups: the stop flag is checked between
RECHECK_SECONDS = 2.0  # with wake-ups: look at the folder anyway this often (what no nudge
#                        announced: a message another host or an old version wrote)
ACCEPTED = ["application/json"]  # what Celery sends; anything else is set aside
log = logging.getLogger("larder.broker")


class Channel(filesystem.Channel):
    """Messages move queue/ -> processing/<node>/ -> deleted on ack. A node that dies
    leaves its fetched messages (started or not) in its folder, and the supervisor puts
    them back in the queue (`restore_node_messages`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._taken = {}  # delivery tag -> its file in the processing folder

    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        write_atomically(os.path.join(self.data_folder_out, name), str_to_bytes(dumps(payload)))
        wake.nudge(self.broker_folder)

    @property
    def broker_folder(self):
        return os.path.dirname(self.data_folder_in)

    def _look_again(self):
        # A job finished (acked, rejected or handed back): the node may take another,
        # which its loop waiting on the socket would otherwise only see at the recheck.
        listener = getattr(self.connection, "listener", None)
        if listener is not None:
            listener.poke()

    def _get(self, queue):
        wanted = f"{queue}.msg"
        processing = self.processed_folder
        os.makedirs(processing, mode=0o700, exist_ok=True)
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            taken = os.path.join(processing, name)
            try:
                # rename is atomic: of two consumers racing for a message, one wins.
                os.rename(os.path.join(self.data_folder_in, name), taken)
            except OSError:
                continue
            payload = self._decode(taken)
            if payload is None:
                continue
            self._taken[payload["properties"]["delivery_tag"]] = taken
            return payload
        raise Empty()

    def _decode(self, path):
        """The message in path, or None after moving it to rejected/ (it would crash the
        node: empty, not JSON, not a message, or a body that is not JSON)."""
        try:
            # Windows: a message just renamed into this node's folder can refuse to open
            # for a moment (PermissionError, seen under Wine): read_bytes waits that out.
            payload = loads(bytes_to_str(read_bytes(path)))
            message = self.Message(payload, channel=self)
            decode_body(message.body, message.content_type, message.content_encoding,
                        accept=ACCEPTED)
            if not isinstance(payload["properties"]["delivery_tag"], str):
                raise TypeError("delivery_tag is not a string")
        except Exception as exc:  # anything undecodable: set aside, never crash the node
            reject_file(path, self.rejected_folder, f"{type(exc).__name__}: {exc}")
            return None
        return payload

    @property
    def rejected_folder(self):
        return self.transport_options.get("rejected_folder") or os.path.join(
            self.broker_folder, "rejected")

    def _forget(self, delivery_tag, reject_reason=None):
        path = self._taken.pop(delivery_tag, None)
        if path is None:
            return
        if reject_reason:
            reject_file(path, self.rejected_folder, reject_reason)
            return
        try:
            os.remove(path)
        except FileNotFoundError:  # put back by a new supervisor meanwhile
            pass

    def basic_ack(self, delivery_tag, multiple=False):
        super().basic_ack(delivery_tag, multiple)
        self._forget(delivery_tag)
        self._look_again()

    def basic_reject(self, delivery_tag, requeue=False):
        super().basic_reject(delivery_tag, requeue=requeue)
        # Not requeued: refused by Celery (e.g. an unknown task); kept for a look.
        self._forget(delivery_tag, None if requeue else "refused by the worker")
        self._look_again()

    def _restore(self, message):
        # Handed back (a graceful stop): queued again first, then its taken copy removed.
        super()._restore(message)
        self._forget(message.delivery_tag)
        wake.nudge(self.broker_folder)  # another node may take it now

    def _size(self, queue):
        wanted = f"{queue}.msg"
        return sum(1 for n in os.listdir(self.data_folder_in) if n.partition(".")[2] == wanted)

    def _purge(self, queue):
        wanted = f"{queue}.msg"
        count = 0
        for name in os.listdir(self.data_folder_in):
            if name.partition(".")[2] == wanted:
                try:
                    os.remove(os.path.join(self.data_folder_in, name))
                    count += 1
                except FileNotFoundError:
                    pass
        return count


def stopping():
    """Celery's worker was asked to stop (its signal handler ran)."""
    from celery.worker import state

    return state.should_stop not in (None, False) or state.should_terminate not in (None, False)


class Transport(filesystem.Transport):
    """A consumer (a worker node) sleeps on a wake.Listener between looks at its queue
    folder: woken by a new message, a finished job or a stop request."""
    Channel = Channel
    global_state = filesystem.virtual.BrokerState()
    listener = None
    _listening = None  # None: not tried yet; True: waits on the listener; False: polls
    _catches_signals = False

    def _listen(self):
        if self._listening is None:
            options = self.client.transport_options
            self._listening = False
            if options.get("wake", True):
                folder = os.path.dirname(options["data_folder_in"])
                self.listener = wake.Listener.open(folder, "the task queue")
                self._listening = self.listener is not None
                self._catches_signals = self._listening and self.listener.catch_signals()
            if not self._listening:
                log.info("checking the task queue every %s s", self.polling_interval)
        return self._listening

    def drain_events(self, connection, timeout=None):
        if not self._listen():
            if timeout is None or timeout > STOP_CHECK_SECONDS:
                timeout = STOP_CHECK_SECONDS
            return super().drain_events(connection, timeout=timeout)
        # Registered before the first look: a message written after it nudges a socket
        # that is already there, so no nudge is lost between the look and the wait.
        try:
            return self.cycle.get(self._deliver, timeout=timeout)
        except Empty:
            pass
        wait = RECHECK_SECONDS if timeout is None else min(timeout, RECHECK_SECONDS)
        if not self._catches_signals or self.listener.signalled_within(1.0):
            # A stop request would not wake the wait, or one just came: Celery's loop
            # makes one more call after it raises its stop (a `finally`), and Python
            # may run the signal's handler a moment after the wake-up.
            wait = min(wait, STOP_CHECK_SECONDS)
        if stopping():
            wait = 0
        self.listener.wait(wait)
        try:
            return self.cycle.get(self._deliver, timeout=timeout)
        except Empty:
            # Back to the worker's loop, which checks its stop flag, then calls again.
            raise socket.timeout() from None

    def close_connection(self, connection):
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        return super().close_connection(connection)


class AtomicFileBackend(FilesystemBackend):
    """Celery's file:// result backend with atomic writes (and reads that wait out a
    replace in progress on Windows)."""

    def set(self, key, value):
        write_atomically(self._filename(key), str_to_bytes(value))
        wake.nudge(self.path)

    def wait_for(self, task_id, timeout=None, interval=0.5, no_ack=True, on_interval=None):
        """Celery's loop (look, sleep `interval`, look ...), but the sleep ends as soon as
        a result is written (wake.py): `AsyncResult.get()` returns at once."""
        self._ensure_not_eager()
        waiter = None
        if (self.app.conf.broker_transport_options or {}).get("wake", True):
            waiter = wake.waiter(self.path, "task results")
        if waiter is None:
            return super().wait_for(task_id, timeout, interval, no_ack, on_interval)
        deadline = None if timeout is None else monotonic() + timeout
        while True:
            seen = waiter.generation  # before looking: a write after the look wakes us
            meta = self.get_task_meta(task_id)
            if meta["status"] in states.READY_STATES:
                return meta
            if on_interval:
                on_interval()
            nap = interval
            if deadline is not None:
                nap = min(nap, deadline - monotonic())
                if nap <= 0:
                    raise TimeoutError("The operation timed out.")
            waiter.wait_after(seen, nap)

    def get(self, key):
        try:
            return read_bytes(self._filename(key))
        except FileNotFoundError:
            return None

    def delete(self, key):
        retrying(os.unlink, self._filename(key))


def reject_file(path, rejected_folder, reason):
    """Set an undecodable or refused message aside in broker/rejected/, and log it."""
    os.makedirs(rejected_folder, mode=0o700, exist_ok=True)
    target = os.path.join(rejected_folder, os.path.basename(path))
    try:
        replace_file(path, target)
    except FileNotFoundError:
        return
    log.error("message %s set aside in %s: %s", os.path.basename(path), rejected_folder,
              reason)
