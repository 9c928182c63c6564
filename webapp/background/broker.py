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
- The settings of this broker are decided here (`celery_settings`).
- Windows: results are written and read through webapp.atomic_files (a file that the
  web process is reading cannot be replaced there: the write waits a moment), and the
  result store's URL is built so that a `C:\\...` folder is not read as host and port
  (`result_backend_url`).
- `drain_events` waits at most 0.1 s per call: the worker's loop checks its stop flag
  between calls, so a stop is noticed in well under a second instead of ~2-3 s.
"""
import logging
import os
import uuid
from time import monotonic

from celery.backends.filesystem import FilesystemBackend
from kombu.serialization import loads as decode_body
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads
from queue import Empty

from ..atomic_files import read_bytes, replace_file, retrying, write_atomically

STOP_CHECK_SECONDS = 0.1
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
            os.path.dirname(self.data_folder_in), "rejected")

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

    def basic_reject(self, delivery_tag, requeue=False):
        super().basic_reject(delivery_tag, requeue=requeue)
        # Not requeued: refused by Celery (e.g. an unknown task); kept for a look.
        self._forget(delivery_tag, None if requeue else "refused by the worker")

    def _restore(self, message):
        # Handed back (a graceful stop): queued again first, then its taken copy removed.
        super()._restore(message)
        self._forget(message.delivery_tag)

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


class Transport(filesystem.Transport):
    Channel = Channel
    global_state = filesystem.virtual.BrokerState()

    def drain_events(self, connection, timeout=None):
        if timeout is None or timeout > STOP_CHECK_SECONDS:
            timeout = STOP_CHECK_SECONDS
        return super().drain_events(connection, timeout=timeout)


class AtomicFileBackend(FilesystemBackend):
    """Celery's file:// result backend with atomic writes (and reads that wait out a
    replace in progress on Windows)."""

    def set(self, key, value):
        write_atomically(self._filename(key), str_to_bytes(value))

    def get(self, key):
        try:
            return read_bytes(self._filename(key))
        except FileNotFoundError:
            return None

    def delete(self, key):
        retrying(os.unlink, self._filename(key))


def file_url(path):
    """A file:// URL for a folder, in the form Celery's FilesystemBackend reads back
    (it takes the text after `file://` as is, no unquoting, and on Windows drops one
    leading "/"): `file:///home/x/results`, `file:///C:\\x\\results`,
    `file:///\\\\server\\share\\results`. With `file://C:\\x` Celery (and kombu's
    URL parser, which reads `C:` as host and port) fail: issue 9."""
    path = str(path)
    return "file://" + path if path.startswith("/") else "file:///" + path


def result_backend_url(results_folder):
    return f"webapp.background.broker:AtomicFileBackend+{file_url(results_folder)}"


def celery_settings(data_dir, polling_interval, result_backend=None):
    """The Celery settings of the local broker and result store, decided here."""
    broker = os.path.join(data_dir, "broker")
    folders = {name: os.path.join(broker, name)
               for name in ("queue", "processing", "control", "rejected")}
    for folder in (broker, *folders.values()):
        os.makedirs(folder, mode=0o700, exist_ok=True)
    results = os.path.join(data_dir, "results")
    os.makedirs(results, mode=0o700, exist_ok=True)
    return {
        "broker_url": "filesystem://",
        "broker_transport": "webapp.background.broker:Transport",
        "broker_transport_options": {
            "data_folder_in": folders["queue"],
            "data_folder_out": folders["queue"],
            "processed_folder": folders["processing"],
            "rejected_folder": folders["rejected"],
            "control_folder": folders["control"],
            "store_processed": False,
            "polling_interval": polling_interval,
        },
        "result_backend": result_backend or result_backend_url(results),
        # The filesystem transport has no broadcast: no remote control, no events.
        "worker_enable_remote_control": False,
    }


def node_folder(celery_conf, node):
    """Where a node keeps the messages it fetched and has not finished."""
    return os.path.join(celery_conf["broker_transport_options"]["processed_folder"], node)


def node_options(celery_conf, node):
    return {**celery_conf["broker_transport_options"],
            "processed_folder": node_folder(celery_conf, node)}


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


def restore_node_messages(celery_conf, node):
    """Put the messages a dead node had fetched (started or not) back in the queue."""
    folder = node_folder(celery_conf, node)
    queue = celery_conf["broker_transport_options"]["data_folder_in"]
    restored = 0
    for name in os.listdir(folder) if os.path.isdir(folder) else ():
        if name.endswith(".msg"):
            try:
                os.rename(os.path.join(folder, name), os.path.join(queue, name))
                restored += 1
            except FileNotFoundError:
                pass
    if restored:
        log.warning("%s: %d fetched message(s) queued again", node, restored)
    return restored


def purge_queue_folder(celery_conf):
    """Delete every waiting or fetched message (the supervisor then queues every
    unfinished job again from its row)."""
    options = celery_conf["broker_transport_options"]
    removed = 0
    folders = [options["data_folder_in"]]
    processing = options["processed_folder"]
    folders += [os.path.join(processing, n) for n in os.listdir(processing)
                if os.path.isdir(os.path.join(processing, n))]
    for folder in folders:
        for name in os.listdir(folder):
            if name.endswith(".msg"):
                try:
                    os.remove(os.path.join(folder, name))
                    removed += 1
                except FileNotFoundError:
                    pass
    return removed
