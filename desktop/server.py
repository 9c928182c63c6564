"""Waitress, started and stopped from code (it has no official shutdown: keep the server
object from create_server() and close() it)."""
import json
import os
import threading

from waitress import wasyncore
from waitress.server import create_server

THREADS = 8


def make_server(app, host="127.0.0.1", port=0, threads=THREADS):
    server = create_server(app, host=host, port=port, threads=threads, ident="Larder")
    app.config["LARDER_SERVER_PORT"] = server.effective_port
    return server


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
        self._stop.set()
        self._thread.join(timeout)


def write_server_file(data_dir, url, port, token):
    """DIR/server.json (url, port, token, pid), readable by the owner only."""
    path = os.path.join(data_dir, "server.json")
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"url": url, "port": port, "token": token, "pid": os.getpid()}, fh)
    os.replace(tmp, path)
    return path


def remove_server_file(data_dir):
    try:
        os.remove(os.path.join(data_dir, "server.json"))
    except FileNotFoundError:
        pass
