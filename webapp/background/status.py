"""What the web process knows of the worker: `worker/status.json` in the data dir.

The supervisor rewrites it every second (a heartbeat): `state` ("ok" once every node
consumes, "starting", "down" while a node is being started again), its `pid`, and
`expires` (a status not refreshed by then means its writer is gone). The keeper in
`serve` and the launcher writes "starting" (or "down", when it starts a dead worker
again) before the supervisor is up. No file, an expired one, or a dead pid: "down".

With a remote broker (Redis) and no local supervisor, the workers are asked over the
broker (a Celery ping, 0.5 s, remembered for 5 s).
"""
import json
import os
import threading
import time

from markupsafe import escape

from ..atomic_files import read_bytes, write_atomically
from .procs import pid_alive

STATES = ("ok", "starting", "down")
BANNER = '<p class="banner" role="status">{}</p>'
MARKER = b"<!--worker-banner-->"
_remote = {"at": 0.0, "state": "down"}
_remote_lock = threading.Lock()


def folder(data_dir):
    return os.path.join(data_dir, "worker")


def status_path(data_dir):
    return os.path.join(folder(data_dir), "status.json")


def write_status(data_dir, state, pid=None, ttl=10.0, **extra):
    """Best effort: a failed write (a reader holding it on Windows for longer than
    atomic_files waits) skips one beat."""
    os.makedirs(folder(data_dir), mode=0o700, exist_ok=True)
    body = {"state": state, "pid": pid or os.getpid(), "expires": time.time() + ttl, **extra}
    try:
        write_atomically(status_path(data_dir), json.dumps(body).encode())
    except OSError:
        return False
    return True


def read_status(data_dir):
    try:
        body = json.loads(read_bytes(status_path(data_dir)))
    except (OSError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def clear_status(data_dir):
    try:
        os.remove(status_path(data_dir))
    except FileNotFoundError:
        pass


def local_state(data_dir):
    """"ok", "starting" or "down"; None when no local worker ever wrote a status."""
    body = read_status(data_dir)
    if body is None:
        return None
    try:
        fresh = time.time() <= float(body["expires"]) and pid_alive(int(body["pid"]))
    except (KeyError, TypeError, ValueError):
        return "down"
    state = body.get("state")
    return state if fresh and state in STATES else "down"


def worker_state(app):
    state = local_state(app.config["DATA_DIR"])
    if state is not None or app.config["CELERY"]["broker_url"] == "filesystem://":
        return state or "down"
    return remote_state(app)


def remote_state(app):
    with _remote_lock:
        if time.monotonic() - _remote["at"] > 5:
            try:
                replies = app.extensions["celery"].control.ping(timeout=0.5)
            except Exception:  # broker unreachable: no worker can get jobs either
                replies = []
            _remote.update(at=time.monotonic(), state="ok" if replies else "down")
        return _remote["state"]


def banner(app, lang=None, state=None):
    """What goes at MARKER, the place every HTML page keeps for it (base.html): filled
    after any page cache (webapp/views/chrome.py, with the menu and messages), so a
    cached page shows the worker's state of now. In the page's language: `lang` (the fast
    path reads it from the cached page, without the shop's settings), else the shop's;
    each language's banner is made once per process. `state`: the worker's, read
    already by the caller."""
    if (state or worker_state(app)) != "down":
        return b""
    # Imported here: the worker supervisor reads and writes this module's file and
    # never shows a banner, so it loads no Flask or Babel (tests/test_worker_light.py).
    from ..i18n import force_locale, gettext, language

    lang = lang or language()
    made = app.extensions.setdefault("larder_banner", {})
    if lang not in made:
        with force_locale(lang):
            text = gettext("Reports and order processing are paused: restarting…")
        made[lang] = BANNER.format(escape(text)).encode()
    return made[lang]
