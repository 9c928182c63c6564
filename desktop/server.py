"""Waitress, started and stopped from code (it has no official shutdown: keep the server
object from create_server() and close() it)."""
import json
import logging
import os
import select
import threading

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import WSGITask

log = logging.getLogger("larder.server")
THREADS = 8

# Slow or idle clients (a byte every few seconds, or nothing at all): Waitress hands a
# request to its threads only once the request is complete, so such a client holds a
# socket, not a thread. What blocked the owner's own page was Waitress's connection
# limit (100 by default: the next connection waited in the listen backlog) and select(),
# which cannot watch a descriptor numbered 1024 or above; poll() has no such ceiling.
# Measured (bench/slow_clients.py): 1,000 slow connections made /health time out
# before; a few ms with these settings.
USE_POLL = hasattr(select, "poll")  # not on Windows, whose select() takes 512 sockets
CONNECTION_LIMIT = 4000 if USE_POLL else 500
CHANNEL_TIMEOUT = 30  # seconds a connection may stay silent (Waitress's default: 120)
CLEANUP_INTERVAL = 5  # how often silent connections are looked for (default: 30)


def raise_open_file_limit(wanted):
    """The soft limit on open files (often 1024; 256 on macOS) up to `wanted` when the
    hard limit allows; returns the limit in force (None where unknown)."""
    try:
        import resource
    except ImportError:  # Windows: no per-process descriptor limit of this kind
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):  # macOS refuses more than its OPEN_MAX
            pass
    return None if soft == resource.RLIM_INFINITY else soft


def connection_limit():
    """CONNECTION_LIMIT, or less when the open-file limit cannot make room for it (each
    connection is a descriptor; the database, cache and logs need some too)."""
    files = raise_open_file_limit(CONNECTION_LIMIT + 512)
    if files is None:
        return CONNECTION_LIMIT
    return max(100, min(CONNECTION_LIMIT, files - 512))


class _KeepAliveTask(WSGITask):
    """Keeps the connection open after a 304 (or 204, 1xx). Waitress closes it: it keeps a
    connection only when the response has a Content-Length, which these must not carry,
    although their end is known (they have no body). Every 304 then cost the client a new
    connection: a conditional request ran at ~0.7 of a trivial route (bench/cached_page.py).
    Anything else (HTTP/1.0, the client's or the app's "Connection: close") as Waitress does."""

    def build_response_header(self):
        keep = (not self.has_body and self.version == "1.1" and not self.close_on_finish
                and self.request.headers.get("CONNECTION", "").lower() != "close"
                and not any(name.lower() == "connection" for name, _ in self.response_headers))
        head = super().build_response_header()
        if keep and self.close_on_finish:
            self.close_on_finish = False
            self.response_headers = [(name, value) for name, value in self.response_headers
                                     if name != "Connection"]
            head = head.replace(b"\r\nConnection: close\r\n", b"\r\n", 1)
        return head


class _Channel(HTTPChannel):
    task_class = _KeepAliveTask


def make_server(app, host="127.0.0.1", port=0, threads=THREADS):
    server = create_server(app, host=host, port=port, threads=threads, ident="Larder",
                           asyncore_use_poll=USE_POLL, connection_limit=connection_limit(),
                           channel_timeout=CHANNEL_TIMEOUT, cleanup_interval=CLEANUP_INTERVAL)
    server.channel_class = _Channel
    # Waitress reports the port as text (getnameinfo): a number for server.json.
    server.effective_port = int(server.effective_port)
    if hasattr(app, "config"):  # a Flask app (not an AppGate, whose app comes later)
        app.config["LARDER_SERVER_PORT"] = server.effective_port
    return server


class AppGate:
    """The WSGI app of a server that listens before its Flask app is made (the window's
    start): a request waits until open(app), then goes to it; after fail(), it gets a
    plain 503. Nothing is answered before the app exists, so the token check and the
    database upgrade come first as always."""

    def __init__(self):
        self.app = None
        self._ready = threading.Event()

    def open(self, app):
        self.app = app
        self._ready.set()

    def fail(self):
        self._ready.set()

    def __call__(self, environ, start_response):
        self._ready.wait()
        if self.app is None:
            start_response("503 Service Unavailable",
                           [("Content-Type", "text/plain; charset=utf-8")])
            return [b"Larder could not start: see its log."]
        return self.app(environ, start_response)


def server_url(host, port):
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}"


def serve_until(server, stop_event, tick=0.2):
    """Run Waitress's loop until stop_event is set, then close every connection.

    server.close() alone leaves keep-alive connections in the loop's map (so run() never
    returns) and the worker threads running: we loop in short ticks and tidy up here, on
    the loop's own thread.
    """
    try:
        while not stop_event.is_set():
            server.asyncore.loop(timeout=tick, map=server._map,
                                 use_poll=server.adj.asyncore_use_poll, count=1)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        wasyncore.close_all(server._map)
        server.task_dispatcher.shutdown(timeout=5)


class ServerThread:
    """Waitress in a background thread: used by the desktop window and the tests."""

    def __init__(self, app, host="127.0.0.1", port=0):
        self.app = app
        self.server = make_server(app, host, port)
        self.host = host
        self.port = self.server.effective_port
        self.url = server_url(host, self.port)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=serve_until, args=(self.server, self._stop),
                                        name="waitress", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self, timeout=5):
        """Stop serving; waits up to `timeout` seconds for the loop to end (0: not at all)."""
        self._stop.set()
        if timeout:
            self._thread.join(timeout)


def write_server_file(data_dir, url, port, token):
    """DIR/server.json (url, port, token, pid), readable by the owner only."""
    from webapp.atomic_files import write_atomically

    path = os.path.join(data_dir, "server.json")
    # mkstemp's mode 0600 (the token is a key to the app); replaced whole, also on Windows.
    write_atomically(path, json.dumps({"url": url, "port": port, "token": token,
                                       "pid": os.getpid()}).encode())
    return path


def read_server_file(data_dir):
    """What server.json says (url, port, token, pid), or None."""
    try:
        with open(os.path.join(data_dir, "server.json")) as fh:
            info = json.load(fh)
        return info if isinstance(info, dict) else None
    except (OSError, ValueError):
        return None


def remove_server_file(data_dir):
    """Remove server.json if this process wrote it: another instance's file is its own."""
    info = read_server_file(data_dir)
    if info is None or info.get("pid") != os.getpid():
        return
    try:
        os.remove(os.path.join(data_dir, "server.json"))
    except FileNotFoundError:
        pass
