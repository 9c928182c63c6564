"""The embedded broker and result store: kombu's filesystem transport and Celery's
`file://` result backend, made safe for a web process and workers sharing a folder.

What changed from the stock parts, and why (docs/tasks.md):
- Messages and results appear atomically: written under a temporary name, then renamed
  into place. The stock transport creates a message file before writing it, and a worker
  that reads it empty dies ("Unrecoverable error: JSONDecodeError"); the stock result
  backend can likewise be read half written.
- A fetched message is moved into the broker's own `processing/` folder, not the
  system temp folder (where other users could read it), and deleted after reading.
- `drain_events` waits at most 0.1 s per call: the worker's loop checks its stop flag
  between calls, so a stop is noticed in well under a second instead of ~2-3 s.
"""
import os
import tempfile
import uuid
from time import monotonic

from celery.backends.filesystem import FilesystemBackend
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads
from queue import Empty

STOP_CHECK_SECONDS = 0.1


def write_atomically(path, data):
    """Write bytes to path so that readers see either nothing or all of it."""
    path = os.fsdecode(path)
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        write_atomically(os.path.join(self.data_folder_out, name), str_to_bytes(dumps(payload)))

    def _get(self, queue):
        wanted = f"{queue}.msg"
        processing = self.processed_folder
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            taken = os.path.join(processing, name)
            try:
                # rename is atomic: of two consumers racing for a message, one wins.
                os.rename(os.path.join(self.data_folder_in, name), taken)
            except OSError:
                continue
            with open(taken, "rb") as fh:
                payload = fh.read()
            os.remove(taken)
            return loads(bytes_to_str(payload))
        raise Empty()

    def _size(self, queue):
        wanted = f"{queue}.msg"
        return sum(1 for n in os.listdir(self.data_folder_in) if n.partition(".")[2] == wanted)

    def _purge(self, queue):
        count = 0
        for _ in range(10**9):
            try:
                self._get(queue)
            except Empty:
                return count
            count += 1
        return count


class Transport(filesystem.Transport):
    Channel = Channel
    global_state = filesystem.virtual.BrokerState()

    def drain_events(self, connection, timeout=None):
        if timeout is None or timeout > STOP_CHECK_SECONDS:
            timeout = STOP_CHECK_SECONDS
        return super().drain_events(connection, timeout=timeout)


class AtomicFileBackend(FilesystemBackend):
    """Celery's file:// result backend with atomic writes."""

    def set(self, key, value):
        write_atomically(self._filename(key), str_to_bytes(value))


def transport_options(broker_dir, polling_interval):
    folders = {name: os.path.join(broker_dir, name)
               for name in ("queue", "processing", "control")}
    for folder in folders.values():
        os.makedirs(folder, mode=0o700, exist_ok=True)
    return {
        "data_folder_in": folders["queue"],
        "data_folder_out": folders["queue"],
        "processed_folder": folders["processing"],
        "control_folder": folders["control"],
        "store_processed": False,
        "polling_interval": polling_interval,
    }


def purge_queue_folder(celery_conf):
    """Delete every waiting message (the supervisor queues unfinished jobs again)."""
    folder = celery_conf["broker_transport_options"]["data_folder_in"]
    removed = 0
    for name in os.listdir(folder):
        if name.endswith(".msg"):
            try:
                os.remove(os.path.join(folder, name))
                removed += 1
            except FileNotFoundError:
                pass
    return removed
