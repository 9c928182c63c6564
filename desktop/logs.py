"""Logging for the desktop app: a rotating file in the data dir, and the console when
there is one. A windowed build on Windows has sys.stdout/stderr = None: point them at the
log so that click, Celery and print() never crash on a missing stream."""
import logging
import logging.handlers
import os
import sys


def setup_logging(data_dir, level=logging.INFO):
    folder = os.path.join(data_dir, "logs")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    path = os.path.join(folder, "larder.log")
    handlers = [logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3,
                                                     encoding="utf-8")]
    if sys.stderr is None or sys.stdout is None:
        stream = open(os.path.join(folder, "console.log"), "a", encoding="utf-8", buffering=1)
        sys.stdout = sys.stdout or stream
        sys.stderr = sys.stderr or stream
    else:
        # The terminal gets problems only (the link is printed); the rest is in the file.
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(logging.WARNING)
        handlers.append(console)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(fmt)
        root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("waitress.queue", "kombu", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path
