"""Real Redis and Memcached servers for the cache backend tests.

Import the fixtures into a test module (tests/ has no __init__.py, so pytest puts this
folder on sys.path for the test modules):

    from cache_servers import memcached_server, redis_server  # noqa: F401

Each fixture starts its own server on a free 127.0.0.1 port for the session, waits (with
a bounded wait) until it answers, yields how to reach it, and stops it afterwards. When
the binary is missing the test is skipped locally and fails under CI=true, as with
conftest.require_binary.
"""
import contextlib
import os
import shutil
import socket
import subprocess
import time

import pytest

from conftest import require_binary

START_TIMEOUT = 10.0  # seconds to wait for a server to answer
PORT_ATTEMPTS = 3  # another process may grab the free port before the server binds it


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _probe(port, request, expect):
    """True when the server on port answers request with a reply starting with expect."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(request)
            reply = b""
            while len(reply) < len(expect):
                chunk = sock.recv(256)
                if not chunk:
                    break
                reply += chunk
            return reply.startswith(expect)
    except OSError:
        return False


def _stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class ServerStartError(RuntimeError):
    pass


def start_server(name, make_argv, request, expect, log_dir):
    """Start a server on a free port; returns (process, port) once it answers.

    make_argv(port) gives the command line. Raises ServerStartError with the server's
    output when it exits early or does not answer within START_TIMEOUT.
    """
    last_error = None
    for attempt in range(PORT_ATTEMPTS):
        port = free_port()
        log_path = os.path.join(log_dir, f"{name}-{port}.log")
        log = open(log_path, "w+b")
        proc = subprocess.Popen(
            make_argv(port), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if _probe(port, request, expect):
                log.close()
                return proc, port
            time.sleep(0.05)
        exit_code = proc.poll()  # None: still running but not answering
        _stop(proc)
        log.seek(0)
        output = log.read().decode(errors="replace").strip()
        log.close()
        if exit_code is not None and "in use" in output.lower():
            last_error = f"port {port} was taken: {output}"
            continue  # lost the port race: try another one
        if exit_code is not None:
            last_error = f"{name} exited with code {exit_code} at start"
        else:
            last_error = f"{name} did not answer on 127.0.0.1:{port} within {START_TIMEOUT:.0f}s"
        last_error += f"; command: {' '.join(make_argv(port))}; output:\n{output or '(none)'}"
        break
    raise ServerStartError(last_error)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """URL of a private redis-server, e.g. redis://127.0.0.1:45678/0."""
    with run_redis(str(tmp_path_factory.mktemp("redis"))) as url:
        yield url


@contextlib.contextmanager
def run_redis(log_dir):
    """The redis_server fixture's server, for scripts too (bench/scale_out.py)."""
    binary = require_binary("redis-server")

    def argv(port):
        return [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", log_dir]

    proc, port = start_server("redis-server", argv, b"PING\r\n", b"+PONG", log_dir)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def memcached_server(tmp_path_factory):
    """Servers string of a private memcached, e.g. 127.0.0.1:45679."""
    binary = require_binary("memcached")
    log_dir = str(tmp_path_factory.mktemp("memcached"))

    def argv(port):
        cmd = [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd += ["-u", "root"]  # memcached refuses to run as root otherwise
        return cmd

    proc, port = start_server("memcached", argv, b"version\r\n", b"VERSION", log_dir)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        _stop(proc)


def _postgres_bin(name):
    import glob

    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                                                   reverse=True)), None)
    if found is None:
        require_binary(name)  # skips locally, fails in CI
    return found


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL cluster on a free port; yields a SQLAlchemy URL base
    (append a database name). PostgreSQL refuses to run as root: then it runs as the
    `postgres` user."""
    with run_postgres() as url:
        yield url


def new_database(server_url, name):
    """A fresh, empty database `name` on the PostgreSQL server (dropped first if a
    run before left it); its URL."""
    import sqlalchemy

    with sqlalchemy.create_engine(f"{server_url}/postgres",
                                  isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    return f"{server_url}/{name}"


@contextlib.contextmanager
def run_postgres(*settings):
    """The postgres_server fixture's cluster, for scripts too; settings: "name=value"."""
    initdb, postgres = _postgres_bin("initdb"), _postgres_bin("postgres")
    import tempfile
    from pathlib import Path

    # Not under pytest's tmp dir: that is private to root, and as root the server runs
    # as `postgres`, which must reach its folder.
    base = Path(tempfile.mkdtemp(prefix="larder-pg-"))
    data = base / "data"
    as_user = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(base, "postgres")
    subprocess.run(as_user + [initdb, "-D", str(data), "-U", "larder", "--auth=trust",
                              "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen(as_user + [postgres, "-D", str(data), "-p", str(port),
                                       "-c", "listen_addresses=127.0.0.1",
                                       "-c", f"unix_socket_directories={base}",
                                       "-c", "fsync=off",
                                       *[a for kv in settings for a in ("-c", kv)]],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"postgresql+psycopg://larder@127.0.0.1:{port}"
    import sqlalchemy

    deadline = time.time() + 30
    while True:
        try:
            sqlalchemy.create_engine(f"{url}/postgres").connect().close()
            break
        except sqlalchemy.exc.OperationalError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("PostgreSQL did not start")
            time.sleep(0.2)
    try:
        yield url
    finally:
        _stop(proc)
        shutil.rmtree(base, ignore_errors=True)
