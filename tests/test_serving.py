"""`larder serve` for real (a child process, real Waitress): one instance per data dir
(serve or window), its own log, a quiet terminal, and slow clients that do not block
the owner's pages."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from test_cli import larder, one_line_error
from worker_proc import ROOT, alive, wait_for


class Served:
    """`larder serve --no-worker` (or the headless window) with its output in files."""

    def __init__(self, data_dir, *args):
        self.data_dir = data_dir
        self.out = open(data_dir.parent / f"serve-{time.time_ns()}.out", "w+")
        self.err = open(data_dir.parent / f"serve-{time.time_ns()}.err", "w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "desktop", "--data-dir", str(data_dir), *args],
            cwd=ROOT, stdout=self.out, stderr=self.err, env={**os.environ, "BROWSER": "true"})
        self.info = wait_for(self._info, timeout=60, what="server.json")

    def _info(self):
        assert self.proc.poll() is None, self.output() + self.errors()
        path = self.data_dir / "server.json"
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return info if info.get("pid") == self.proc.pid else None

    def output(self):
        self.out.seek(0)
        return self.out.read()

    def errors(self):
        self.err.seek(0)
        return self.err.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        return self.proc.returncode


@pytest.fixture
def serve(data_dir):
    started = []

    def start(*args):
        started.append(Served(data_dir, *args))
        return started[-1]

    yield start
    for served in started:
        if served.proc.poll() is None:
            served.proc.kill()
            served.proc.wait()


def server_file(data_dir):
    return json.loads((data_dir / "server.json").read_text())


@pytest.mark.parametrize("second", [["serve", "--no-worker"], ["--headless"]],
                         ids=["serve", "window"])
def test_second_instance_refuses_and_leaves_the_first_alone(data_dir, serve, second):
    first = serve("serve", "--no-worker")
    error = one_line_error(larder(data_dir, *second, env={"BROWSER": "true"}))
    assert f"already running for {data_dir} at {first.info['url']} (process {first.proc.pid})" \
        in error
    assert server_file(data_dir) == first.info  # not overwritten, not removed
    assert requests.get(f"{first.info['url']}/health", timeout=5).status_code == 200
    assert first.stop() == 0
    assert not (data_dir / "server.json").exists()  # its owner removed it


def test_serve_next_to_a_running_window_refuses(data_dir, serve):
    window = serve("--headless")  # the window mode without a display
    error = one_line_error(larder(data_dir, "serve", "--no-worker"))
    assert f"(process {window.proc.pid})" in error
    assert server_file(data_dir) == window.info
    assert requests.get(f"{window.info['url']}/health", timeout=5).status_code == 200


def test_serve_logs_to_its_file_and_prints_only_the_link(data_dir, serve):
    served = serve("serve", "--no-worker")
    url = served.info["url"]
    assert requests.get(f"{url}/?token={served.info['token']}", timeout=5).status_code == 200
    assert served.stop() == 0
    log = data_dir / "logs" / "larder.log"
    lines = served.output().splitlines()
    assert lines == [f"Larder {__import__('webapp').__version__} serving {data_dir} (log: {log})",
                     f"Open {url}/?token={served.info['token']}"]
    assert served.errors() == ""
    text = log.read_text()
    assert f"serving {data_dir} at {url} (pid {served.proc.pid})" in text
    assert "stopped" in text


def test_a_stale_server_file_is_replaced(data_dir, serve):
    """server.json left by a process that was killed belongs to nobody: the next
    instance takes the lock and writes its own."""
    first = serve("serve", "--no-worker")
    first.proc.kill()
    first.proc.wait()
    second = serve("serve", "--no-worker")
    assert server_file(data_dir)["pid"] == second.proc.pid
    assert second.stop() == 0


def _raise_open_files(need):
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            pytest.skip(f"the open-file limit ({hard}) is below {need}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def test_slow_clients_do_not_block_the_owner(data_dir, serve):
    """1,000 connections that send a byte every few seconds and never finish a request:
    /health still answers within 200 ms (before: it waited as long as they stayed)."""
    _raise_open_files(1300)
    served = serve("serve", "--no-worker")
    url, port = served.info["url"], int(served.info["port"])
    socks = []
    try:
        for _ in range(1000):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            socks.append(sock)
        # The server accepts the 1,000 at its own pace: the first answer may take longer.
        assert requests.get(f"{url}/health", timeout=30).status_code == 200
        times = []
        for round_ in range(3):
            for sock in socks:
                sock.send(b"a")  # still there, still unfinished
            for _ in range(5):
                started = time.perf_counter()
                assert requests.get(f"{url}/health", timeout=10).status_code == 200
                times.append(time.perf_counter() - started)
                time.sleep(0.2)
        assert max(times) < 0.2, [round(t * 1000) for t in times]
        assert alive(served.proc.pid)
    finally:
        for sock in socks:
            sock.close()
