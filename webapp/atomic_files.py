"""Files that readers see whole or not at all, also on Windows: one helper for the
broker and result store, reports, emails, the worker's status and server.json.

A file is written under a temporary name in its folder, then renamed over the old one
(`os.replace`). On Windows a file that another process holds open cannot be replaced
(or opened while it is being replaced): `PermissionError` (WinError 5 "access denied"
or 32 "sharing violation"). That is normal there and lasts as long as the reader's
read, so such a failure is tried again with a short backoff, at most RETRY_FOR seconds
in all; any other error, and any error on Linux or macOS, is raised at once.
"""
import contextlib
import os
import tempfile
import time
from pathlib import Path

RETRY_FOR = 2.0  # seconds in all; a reader holds a result or status file for milliseconds
FIRST_PAUSE = 0.005


def transient(exc, os_name=None):
    """True for an error that a moment's wait can clear: on Windows, another process
    holding the file open (both WinError 5 and 32 arrive as PermissionError)."""
    return (os_name or os.name) == "nt" and isinstance(exc, PermissionError)


def pauses(total=RETRY_FOR, first=FIRST_PAUSE):
    """The waits between tries: doubling from `first`, capped at 0.1 s, `total` in all."""
    waited, pause = 0.0, first
    while waited + pause <= total:
        yield pause
        waited += pause
        pause = min(pause * 2, 0.1)


def retrying(operation, *args, is_transient=transient, total=RETRY_FOR):
    """operation(*args), tried again while it fails with a transient error; the last
    error is raised when `total` seconds of waiting did not clear it."""
    for pause in pauses(total):
        try:
            return operation(*args)
        except OSError as exc:
            if not is_transient(exc):
                raise
        time.sleep(pause)
    return operation(*args)


def replace_file(src, dst):
    """os.replace(src, dst), waiting for a reader on Windows to let go of dst."""
    retrying(os.replace, src, dst)


def read_bytes(path):
    """The whole file, read and closed at once (a reader never keeps a file that may be
    replaced); on Windows a file being replaced right now is read a moment later."""
    def read():
        with open(path, "rb") as fh:
            return fh.read()
    return retrying(read)


@contextlib.contextmanager
def atomic_output(out_path, mode=None, durable=True):
    """Yield a binary file in out_path's folder; on success it replaces out_path (fsynced
    first when `durable`), on an exception it is removed and out_path is left as it was.
    `mode`: the file's permissions (mkstemp makes it 0600)."""
    out_path = Path(out_path)
    fd, tmp = tempfile.mkstemp(dir=out_path.parent, prefix=f".{out_path.name}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)  # Windows: only the read-only bit is honoured
        replace_file(tmp, out_path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_atomically(path, data, mode=None):
    """Write bytes to path so that readers see either nothing or all of it (not fsynced:
    broker messages, results and status files are many and short-lived)."""
    with atomic_output(os.fsdecode(path), mode, durable=False) as fh:
        fh.write(data)
