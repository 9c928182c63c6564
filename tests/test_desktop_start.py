"""Issue 13: the window before the app. The window opens on its loading page while the
app is still being made (its imports, the database check), and it can be closed then;
the server already listens and the window's request for the first page waits in it,
answered once the app is made. Here the app is held back for real: another process (the
worker, at an upgrade) holds the schema's upgrade lock, which a new database must take.
Also: the web process loads no PDF or migration code to serve its pages, and no email
header parser or PostgreSQL dialect (SQLite) for its first page."""
import json
import textwrap
import threading

import pytest
import requests

from desktop.server import AppGate, ServerThread
from desktop_app import DesktopApp, alive, process_tree
from webapp.locks import FileLock
from worker_proc import probe, wait_for
from x11 import VirtualDisplay


@pytest.fixture(scope="module")
def screen():
    pytest.importorskip("webview")
    display = VirtualDisplay()
    yield display
    display.stop()


def test_window_shows_before_the_app_is_ready(screen, data_dir):
    held = FileLock(data_dir / "upgrade.lock").acquire()
    app = DesktopApp(data_dir, screen.display)
    try:
        try:
            wait_for(lambda: screen.find_windows("Larder"), timeout=60, what="the window")
            assert "window: shown" in app.log()
            assert "app ready" not in app.log()
            assert not (data_dir / "server.json").exists()  # no server yet
            assert app.proc.poll() is None
        finally:
            held.release()
        app.wait_page_loaded()
        log = app.log()
        assert log.index("window: shown") < log.index("app ready") < log.index("GET / 200")
        info = json.loads((data_dir / "server.json").read_text())
        assert requests.get(f"{info['url']}/health", timeout=5).status_code == 200
    finally:
        app.stop()


def _connections(pid, status):
    import psutil

    return [c for c in psutil.Process(pid).net_connections(kind="tcp4")
            if c.status == status and c.laddr.ip == "127.0.0.1"]


def test_window_asks_for_its_first_page_while_the_app_is_made(screen, data_dir):
    """The window's first request waits in the listening server while the app is held
    back, and is answered (through the token check, after the upgrade) once it is made."""
    held = FileLock(data_dir / "upgrade.lock").acquire()
    app = DesktopApp(data_dir, screen.display)
    try:
        try:
            wait_for(lambda: "window: asking for the app" in app.log(), timeout=60,
                     what="the window's request for its first page")
            listening = wait_for(lambda: _connections(app.proc.pid, "LISTEN"), timeout=10,
                                 what="the server listening")
            port = listening[0].laddr.port
            # The web engine's connection is open, answered by nobody yet.
            wait_for(lambda: [c for c in _connections(app.proc.pid, "ESTABLISHED")
                              if c.laddr.port == port], timeout=30,
                     what="the window's connection to the server")
            log = app.log()
            assert "app ready" not in log and "GET /" not in log
            assert not (data_dir / "server.json").exists()
        finally:
            held.release()
        app.wait_page_loaded()
        log = app.log()
        assert log.index("window: asking for the app") < log.index("app ready") \
            < log.index("GET / 302") < log.index("GET / 200") < log.index("window: page loaded")
        info = json.loads((data_dir / "server.json").read_text())
        assert info["port"] == port
    finally:
        app.stop()


def test_requests_before_the_app_wait_for_it(data_dir):
    """AppGate in front of real Waitress: a request made before the app exists is held,
    then answered by the app; after a failed start, by a plain 503."""
    from webapp import create_app

    gate = AppGate()
    server = ServerThread(gate).start()
    try:
        answers = []
        early = threading.Thread(target=lambda: answers.append(
            requests.get(f"{server.url}/", timeout=60, allow_redirects=False)))
        early.start()
        early.join(0.5)
        assert early.is_alive() and not answers  # held: no app yet
        gate.open(create_app({"LARDER_TOKEN": "tok"}, data_dir=data_dir))
        early.join(30)
        # The app's own sign-in check answered: no token, so to the sign-in page.
        assert answers[0].status_code == 302 and "login" in answers[0].headers["Location"]
        signed_in = requests.get(f"{server.url}/", timeout=10,
                                 headers={"Authorization": "Bearer tok"})
        assert signed_in.status_code == 200
    finally:
        server.stop()

    failed = AppGate()
    server = ServerThread(failed).start()
    try:
        failed.fail()
        answer = requests.get(f"{server.url}/", timeout=10)
        assert answer.status_code == 503 and "could not start" in answer.text
    finally:
        server.stop()


def test_window_closed_while_the_app_starts(screen, data_dir):
    held = FileLock(data_dir / "upgrade.lock").acquire()
    app = DesktopApp(data_dir, screen.display)
    try:
        try:
            window = wait_for(lambda: screen.find_windows("Larder"), timeout=60,
                              what="the window")[0]
            screen.close_window(window)
            wait_for(lambda: not screen.find_windows("Larder"), what="the window to close")
        finally:
            held.release()
        assert app.proc.wait(60) == 0
        tree = process_tree(app.proc.pid)
        wait_for(lambda: not any(alive(p) for p in tree), timeout=10, what="every process")
        assert not (data_dir / "server.json").exists()
        log = app.log()
        assert "stopped" in log and "worker started" not in log
    finally:
        app.stop()


PAGES = textwrap.dedent("""
    import json, sys
    import requests
    from desktop.server import ServerThread
    from webapp import create_app

    app = create_app({"LARDER_TOKEN": "tok",
                      "CELERY_OVERRIDES": {"task_always_eager": True}}, data_dir=sys.argv[1])
    server = ServerThread(app).start()
    web = requests.Session()
    web.get(server.url + "/?token=tok", timeout=30).raise_for_status()
    # What the first page (the dashboard) does not need, at ~20-35 ms each of the start.
    seen_first = [m for m in ("email.policy", "sqlalchemy.dialects.postgresql")
                  if m in sys.modules]
    codes = [web.get(server.url + page, timeout=30).status_code
             for page in ("/", "/reports/", "/products/", "/orders/", "/customers/",
                          "/settings/", "/import/", "/backups/", "/end-of-day")]
    heavy = ("reportlab", "alembic", "flask_migrate", "mako")
    seen = {"codes": codes, "pages": [m for m in heavy if m in sys.modules],
            "first_page": seen_first}
    web.headers["Authorization"] = "Bearer tok"
    made = web.post(server.url + "/api/reports", timeout=60,
                    json={"from": "2025-01-01", "to": "2025-01-31", "format": "pdf"})
    seen["report"] = made.status_code
    seen["after_pdf"] = [m for m in heavy if m in sys.modules]
    server.stop()
    print("SEEN " + json.dumps(seen))
""")


def test_web_process_loads_no_pdf_or_migration_code_for_its_pages(data_dir):
    from webapp import create_app

    create_app({"LARDER_TOKEN": "t"}, data_dir=data_dir)  # the schema made beforehand
    seen, proc = probe(PAGES, data_dir)
    assert seen["codes"] == [200] * 9
    assert seen["pages"] == []
    assert seen["first_page"] == []
    assert seen["report"] in (200, 201, 202)
    assert seen["after_pdf"] == ["reportlab"]  # loaded when a PDF is made, and only then
