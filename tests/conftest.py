"""Shared fixtures (flaskr style): app, client, runner, plus a live Waitress server."""
import os

import pytest

from webapp import create_app
from webapp.extensions import db as _db

TOKEN = "test-launch-token"


@pytest.fixture
def data_dir(tmp_path):
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def app(data_dir):
    app = create_app({"TESTING": True, "LARDER_TOKEN": TOKEN}, data_dir=data_dir)
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


def require_binary(name):
    """Skip when a server binary is missing locally; in CI a missing binary is a failure."""
    import shutil

    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required in CI (.ci/run installs it)")
        pytest.skip(f"{name} is not installed")
    return path
