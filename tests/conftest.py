"""Shared fixtures (flaskr style): app, client, runner, plus a live Waitress server."""
import contextlib
import os

import pytest

from webapp import create_app
from webapp.extensions import db as _db

TOKEN = "test-launch-token"

# The browser tests' fixtures (tests/browser.py), registered once for the whole run: a
# module importing them would make its own session Chromium, and a second Playwright in
# one process fails ("Sync API inside the asyncio loop").
pytest_plugins = ["browser"]

# The default currency and number format come from the computer's locale (webapp.settings:
# LC_ALL, LC_MONETARY / LC_NUMERIC, LANG): pin them to none, so money reads "€1,234.50"
# (EUR, en_GB) on every machine. Worker processes started by tests inherit this.
os.environ.pop("LC_ALL", None)
os.environ["LC_MONETARY"] = os.environ["LC_NUMERIC"] = "C"


@pytest.fixture
def data_dir(tmp_path):
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def app(data_dir):
    # Tasks run eagerly (in-process, real task code) here; tests/test_worker.py runs
    # them through a real worker process on the real local broker.
    app = create_app({"TESTING": True, "LARDER_TOKEN": TOKEN,
                      "CELERY_OVERRIDES": {"task_always_eager": True}}, data_dir=data_dir)
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def client(app):
    """A test client signed in as the owner by the launch token (Bearer header)."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {TOKEN}"
    return client


@pytest.fixture
def anon_client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def live_server(app):
    """The app served by real Waitress on 127.0.0.1 in a thread."""
    from desktop.server import ServerThread

    server = ServerThread(app, host="127.0.0.1", port=0)
    server.start()
    yield server
    server.stop()


@contextlib.contextmanager
def http_session(app):
    """Serve app with Waitress on 127.0.0.1; yield a requests session signed in by
    Bearer token, with `.base` the server's URL."""
    import requests

    from desktop.server import ServerThread

    server = ServerThread(app).start()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    session.base = server.url
    try:
        yield session
    finally:
        server.stop()


def require_binary(name):
    """Skip when a server binary is missing locally; in CI a missing binary is a failure."""
    import shutil

    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required in CI (.ci/run installs it)")
        pytest.skip(f"{name} is not installed")
    return path


@pytest.fixture
def shop(app):
    """A small shop: 30 products over 3 categories, 3 customers."""
    from webapp import catalog

    with app.app_context():
        for i in range(30):
            catalog.create_product({
                "sku": f"SKU-{i:03d}", "name": f"Product {i:03d}",
                "category": ["Bakery", "Dairy", "Produce"][i % 3],
                "price": f"{i + 1}.50", "stock": "10",
            })
        for name in ("ann", "bob", "cy"):
            catalog.create_customer({"email": f"{name}@example.com", "name": name.title(),
                                     "country": "France", "city": "Lyon"})
    return app


def csrf_from(client, url):
    """Load a page that holds a form and return its CSRF token (as a browser would)."""
    import re

    html = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


@pytest.fixture
def owner_browser(app):
    """A cookie client signed in the way the desktop window is: ?token= once."""
    client = app.test_client()
    response = client.get(f"/?token={TOKEN}")
    assert response.status_code == 302
    return client
