"""A big file on two cores: the file is read and turned into records (the format's work,
about a third of an import's time) in a child process while this one matches, prices and
writes them.

    with records_of(fmt, table, context) as stream:
        for item in stream: ...           # the format's records, in file order
        stream.fraction_read()            # for the progress bar

Files under MIN_BYTES, and systems without fork (Windows; macOS, where forking a process
with GUI threads is unsafe), are read in this process as before. The child is forked
after the file is opened (it reads the same open file); it touches no database
connection and leaves with os._exit, so nothing of this process's is closed or flushed by
it. Records go by a pipe in batches (records.pack: plain tuples, cheap to pickle); the
pipe's small buffer keeps at most a couple of batches in flight, so memory stays bounded
and the child waits when the writer is behind. An error in the child is raised here; a
cancelled or failed import ends the child.

Words: the child's Problems carry records.Reason (said in the shop's language by this
process, when the plan lists them); the shared rules' reasons (webapp/validation.py, the
Larder layouts) are said in the child, in the app context it inherits from this process,
with the shop's language looked up here before the fork so that the child never needs
the database for it.
"""
import contextlib
import multiprocessing
import os
import pickle
import sys

from ..i18n import get_locale
from .records import pack, unpack

MIN_BYTES = 8 << 20   # ~120,000 lines of Larder's orders layout; below, one process
BATCH = 1_000         # records per message


@contextlib.contextmanager
def records_of(fmt, table, context, path):
    if not _worth_it(path):
        yield _InProcess(fmt.records(table, context), table)
        return
    stream = _Child(fmt, table, context)
    try:
        yield stream
    finally:
        stream.close()


def _worth_it(path):
    if not sys.platform.startswith("linux") or os.cpu_count() == 1 \
            or multiprocessing.current_process().daemon:  # a daemon may not have children
        return False
    try:
        return os.path.getsize(path) >= MIN_BYTES
    except OSError:
        return False


class _InProcess:
    def __init__(self, records, table):
        self._records, self.fraction_read = records, table.fraction_read

    def __iter__(self):
        return self._records


class _Child:
    def __init__(self, fmt, table, context):
        get_locale()  # kept in this app context, which the child inherits: see above
        fork = multiprocessing.get_context("fork")
        self._conn, child_end = fork.Pipe(duplex=False)
        self._process = fork.Process(target=_read, args=(child_end, fmt, table, context),
                                     daemon=True, name="larder-import-reader")
        self._process.start()
        child_end.close()
        self._fraction = 0.0

    def fraction_read(self):
        return self._fraction

    def __iter__(self):
        while True:
            try:
                message = pickle.loads(self._conn.recv_bytes())
            except EOFError:
                raise RuntimeError("the process reading the file stopped unexpectedly "
                                   f"(exit code {self._process.exitcode})") from None
            kind, payload = message[0], message[1]
            if kind == "error":
                raise payload
            self._fraction = message[2]
            yield from map(unpack, payload)
            if kind == "end":
                return

    def close(self):
        self._conn.close()   # a child still sending gets a broken pipe and ends
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


def _read(conn, fmt, table, context):
    """The child: read, pack, send; its last message says "end" or "error"."""
    try:
        batch = []
        for item in fmt.records(table, context):
            batch.append(pack(item))
            if len(batch) >= BATCH:
                conn.send_bytes(pickle.dumps(("records", batch, table.fraction_read()), 5))
                batch = []
        conn.send_bytes(pickle.dumps(("end", batch, 1.0), 5))
    except (BrokenPipeError, ConnectionResetError):
        pass  # the import stopped (cancelled, or failed): nobody is reading
    except BaseException as exc:  # noqa: BLE001 - whatever it is, the import must hear it
        try:
            blob = pickle.dumps(("error", exc), 5)
        except Exception:  # noqa: BLE001 - an exception that cannot be pickled
            blob = pickle.dumps(("error", RuntimeError(f"reading the file failed: {exc!r}")))
        with contextlib.suppress(OSError):
            conn.send_bytes(blob)
    finally:
        conn.close()
