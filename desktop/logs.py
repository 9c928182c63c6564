"""Logging for the desktop app and `serve`: a rotating file in the data dir
(DATA_DIR/logs/larder.log), and on the console only problems, one line each. A windowed
build on Windows has sys.stdout/stderr = None: point them at the log folder so that
click, Celery and print() never crash on a missing stream."""
import getpass
import logging
import logging.handlers
import os
import sys
import tempfile
import time
import traceback

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class OneLineFormatter(logging.Formatter):
    """`larder: warning: ...`: the message's first line, never a traceback (the log file
    has it)."""

    def format(self, record):
        message = record.getMessage().strip().splitlines() or [""]
        return f"larder: {record.levelname.lower()}: {message[0]}"


def log_path(data_dir):
    return os.path.join(data_dir, "logs", "larder.log")


def setup_logging(data_dir, level=logging.INFO, console_level=logging.WARNING):
    """Log to DATA_DIR/logs/larder.log; raises OSError when it cannot be written."""
    folder = os.path.join(data_dir, "logs")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    path = log_path(data_dir)
    file_handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000,
                                                        backupCount=3, encoding="utf-8")
    file_handler.setFormatter(logging.Formatter(FORMAT))
    handlers = [file_handler]
    if sys.stderr is None or sys.stdout is None:
        stream = open(os.path.join(folder, "console.log"), "a", encoding="utf-8", buffering=1)
        sys.stdout = sys.stdout or stream
        sys.stderr = sys.stderr or stream
    else:
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(console_level)
        console.setFormatter(OneLineFormatter())
        # Waitress's "task queue depth" warnings are load, not problems: log file only.
        console.addFilter(lambda record: record.name != "waitress.queue")
        handlers.append(console)
    root = logging.getLogger()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("waitress.queue", "kombu", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path


def fallback_log_path():
    """A log in the temporary folder, for when the data dir's own cannot be written."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name (a bare container): one shared name will do
        user = "user"
    return os.path.join(tempfile.gettempdir(), f"larder-{user}.log")


def log_failure(data_dir, message, exc=None):
    """Append `message` and the traceback of `exc` to the data dir's log, or else to the
    fallback log; returns the path written, or None when neither could be."""
    text = f"{time.strftime('%Y-%m-%d %H:%M:%S')} ERROR larder: {message}\n"
    if exc is not None:
        text += "".join(traceback.format_exception(exc))
    candidates = [log_path(data_dir)] if data_dir else []
    for path in candidates + [fallback_log_path()]:
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(text)
            return path
        except OSError:
            continue
    return None


def exit_now(code):
    """End this process at once, its logs and output written: for a process whose work is
    done and saved (the window's launcher, the worker's supervisor, beat), where the
    interpreter's teardown of its many modules took a second more (bench/window_start.py)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    logging.shutdown()
    os._exit(code)
