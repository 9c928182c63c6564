"""The shop's settings kept in each process behind the "settings" version of the shared
cache (webapp.settings._rows): no query for them on every request, and a change
committed by any process (the page, a script or command through the models, a bulk
update) seen by every other at its next request."""
import subprocess
import sys

from sqlalchemy import event

from conftest import TOKEN, http_session
from webapp import create_app, settings
from webapp.extensions import db
from webapp.models import Setting
from worker_proc import ROOT, child_env

# Another process on the same data dir, writing the currency through the models.
CHILD = r"""
import sys
from sqlalchemy import update
from webapp import create_app
from webapp.extensions import db
from webapp.models import Setting

data_dir, how, currency = sys.argv[1:4]
app = create_app({"TESTING": True, "LARDER_TOKEN": "t"}, data_dir=data_dir)
with app.app_context():
    if how == "row":
        row = db.session.get(Setting, "currency")
        if row is None:
            db.session.add(Setting(key="currency", value='"%s"' % currency))
        else:
            row.value = '"%s"' % currency
    else:
        db.session.execute(update(Setting).where(Setting.key == "currency")
                           .values(value='"%s"' % currency))
    db.session.commit()
"""


def in_another_process(data_dir, how, currency):
    subprocess.run([sys.executable, "-c", CHILD, str(data_dir), how, currency], cwd=ROOT,
                   env=child_env(), check=True, timeout=120)


def settings_queries(app):
    """A list that grows by one for each query of the settings table."""
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if "FROM settings" in statement:
            seen.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
    return seen


def test_requests_do_not_query_the_settings_while_nothing_changed(app):
    queries = settings_queries(app)
    with http_session(app) as http:
        assert http.get(http.base + "/settings/").status_code == 200
        first = len(queries)
        for url in ("/orders/", "/settings/", "/orders/", "/customers/"):
            assert http.get(http.base + url).status_code == 200
        assert len(queries) == first  # the settings came from this process's copy
        with app.app_context():
            settings.save({"shop_name": "Corner Shop"})
        assert "Corner Shop" in http.get(http.base + "/settings/").text
        assert len(queries) > first  # read again after the change


def test_a_change_committed_by_another_process_shows_at_the_next_request(app, data_dir):
    with http_session(app) as http:
        assert 'name="currency" value="EUR"' in http.get(http.base + "/settings/").text
        in_another_process(data_dir, "row", "GBP")
        assert 'name="currency" value="GBP"' in http.get(http.base + "/settings/").text
        in_another_process(data_dir, "bulk", "USD")  # update(Setting), no object
        assert 'name="currency" value="USD"' in http.get(http.base + "/settings/").text


def test_a_change_by_another_app_on_the_data_dir_shows_here(app, data_dir):
    """Two apps in one process stand for two processes: each keeps its own copy."""
    other = create_app({"TESTING": True, "LARDER_TOKEN": TOKEN}, data_dir=data_dir)
    with app.app_context():
        assert settings.get("locale") == "en_GB"
    with other.app_context():
        settings.save({"locale": "de_DE"})
    with app.app_context():
        assert settings.get("locale") == "de_DE"
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_write_not_committed_yet_is_read_in_its_own_transaction_only(app):
    with app.app_context():
        assert settings.get("currency") == "EUR"
        db.session.add(Setting(key="currency", value='"GBP"'))
        db.session.flush()
        assert settings.get("currency") == "GBP"  # this transaction's own value
        db.session.rollback()
    with app.app_context():
        assert settings.get("currency") == "EUR"  # the rolled-back value was not kept


def test_a_cache_of_this_process_only_reads_the_table_each_time(data_dir):
    """SimpleCache is this process's own: another process's change could not bump it,
    so nothing is kept (a write straight into the table is seen)."""
    import sqlite3

    app = create_app({"TESTING": True, "LARDER_TOKEN": TOKEN, "CACHE_TYPE": "simple"},
                     data_dir=data_dir)
    try:
        with app.app_context():
            assert settings.get("currency") == "EUR"
            db.session.commit()
            path = db.engine.url.database
        con = sqlite3.connect(path)
        with con:
            con.execute("""INSERT INTO settings (key, value, updated_at)
                           VALUES ('currency', '"GBP"', '2026-01-01 00:00:00')""")
        con.close()
        with app.app_context():
            assert settings.get("currency") == "GBP"
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
