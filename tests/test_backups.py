"""Backups and restore: real files, the real CLI in a child process, the real page."""
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from cache_servers import new_database, postgres_server  # noqa: F401  (fixture)
from conftest import csrf_from
from webapp import backups, db_upgrade
from webapp.extensions import cache, db
from webapp.locks import FileLock
from webapp.money_display import format_moment

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parent.parent


def larder(data_dir, *args, env=None):
    return subprocess.run([sys.executable, "-m", "desktop", "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, **(env or {})})


def one_error_line(proc):
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("larder: error:"), proc.stderr
    return lines[0]


def count(path, table="orders"):
    con = sqlite3.connect(path)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


def integrity(path):
    con = sqlite3.connect(path)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def place_order(client, email="ann@example.com"):
    response = client.post("/api/orders", json={"customer_email": email,
                                                "lines": [{"sku": "SKU-001", "quantity": 1}]})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["id"]


def release(app):
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# ---- making backups ---------------------------------------------------------------------

def test_cli_backup_is_a_checked_copy_named_by_date_and_why(shop, client, data_dir):
    place_order(client)
    release(shop)
    proc = larder(data_dir, "backup")
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.strip().splitlines()) == 1 and "integrity ok" in proc.stdout
    folder = data_dir / "backups"
    assert folder.stat().st_mode & 0o777 == 0o700
    [made] = backups.list_backups(data_dir)
    assert made.name.startswith(f"larder-{datetime.now():%Y-%m-%d}-")
    assert made.name.endswith("-manual.db") and made.why == "Made by hand"
    assert integrity(made.path) == "ok"
    assert count(made.path) == 1 and count(made.path, "products") == 30
    # one self-contained file: no -wal beside it is needed to read it
    assert not list(folder.glob("*-wal")) and not list(folder.glob("*.part"))

    out = data_dir.parent / "elsewhere.db"
    proc = larder(data_dir, "backup", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert integrity(out) == "ok" and count(out) == 1
    assert len(backups.list_backups(data_dir)) == 1  # -o files are not in the listing
    line = one_error_line(larder(data_dir, "backup", "-o", str(data_dir / "larder.db")))
    assert "the database itself" in line and count(data_dir / "larder.db") == 1


def test_backup_while_another_connection_writes_is_consistent(shop, data_dir):
    """Each write adds two products in one transaction: a consistent copy holds an even
    number of the writer's products, never half a transaction."""
    stop = threading.Event()
    written = []

    def writer():
        con = sqlite3.connect(data_dir / "larder.db", timeout=30)
        n = 0
        while not stop.is_set():
            with con:
                for _ in range(2):
                    con.execute("INSERT INTO products (sku, name, category, price_cents, stock,"
                                " updated_at) VALUES (?, 'w', 'W', 100, 1, '2026-01-01')",
                                (f"W-{n}",))
                    n += 1
            written.append(n)
        con.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 50:
            threading.Event().wait(0.01)
        with shop.app_context():
            paths = [backups.make_backup(shop, "manual") for _ in range(3)]
    finally:
        stop.set()
        thread.join()
    for path in paths:
        assert integrity(path) == "ok"
        con = sqlite3.connect(path)
        theirs = con.execute("SELECT count(*) FROM products WHERE sku LIKE 'W-%'").fetchone()[0]
        con.close()
        assert theirs % 2 == 0 and theirs >= 100


def fake_daily(folder, when, reason="daily"):
    path = folder / f"larder-{when:%Y-%m-%d-%H%M%S}-{reason}.db"
    path.write_bytes(b"")
    return path.name


def test_pruning_keeps_the_last_7_days_and_4_weeks_and_never_other_backups(app, data_dir):
    folder = backups.backup_dir(data_dir)
    start = datetime(2026, 11, 29, 2, 30)  # a Sunday
    daily = [fake_daily(folder, start - timedelta(days=d)) for d in range(60)]
    extra = fake_daily(folder, start - timedelta(hours=1))  # two on the newest day
    others = [fake_daily(folder, start - timedelta(days=90), "manual"),
              fake_daily(folder, start - timedelta(days=80), "before-upgrade-from-0.1.0"),
              fake_daily(folder, start - timedelta(days=70), "before-restore")]
    gone = backups.prune(app)
    kept = {b.name for b in backups.list_backups(data_dir)}
    # the newest of each of the last 7 days (Mon 23 .. Sun 29 Nov: one ISO week) ...
    assert set(daily[:7]) <= kept and extra not in kept
    # ... and the newest of each of the 4 weeks before (Sundays 22, 15, 8, 1 Nov)
    weekly = {daily[d] for d in (7, 14, 21, 28)}
    assert kept == set(daily[:7]) | weekly | set(others)
    assert len(gone) == 61 - 11

    with app.app_context():
        app.config.update(LARDER_BACKUP_KEEP_DAILY=2, LARDER_BACKUP_KEEP_WEEKLY=0)
    backups.prune(app)
    assert {b.name for b in backups.list_backups(data_dir)} == set(daily[:2]) | set(others)


def test_retention_is_configured_by_environment(data_dir, monkeypatch):
    from webapp.config import ConfigError, build_config

    monkeypatch.setenv("LARDER_BACKUP_KEEP_DAILY", "14")
    assert build_config(data_dir)["LARDER_BACKUP_KEEP_DAILY"] == 14
    monkeypatch.setenv("LARDER_BACKUP_KEEP_WEEKLY", "many")
    with pytest.raises(ConfigError, match="LARDER_BACKUP_KEEP_WEEKLY"):
        build_config(data_dir)


def test_daily_job_is_scheduled_and_backs_up(app, client, data_dir):
    entry = app.config["CELERY"]["beat_schedule"]["daily-backup"]
    assert entry["task"] == "larder.backup"
    response = client.post("/schedules/daily-backup/run")  # the "Run now" button
    assert response.status_code in (302, 303), response.get_data(as_text=True)
    [made] = backups.list_backups(data_dir)
    assert made.reason == "daily" and integrity(made.path) == "ok"
    from webapp.models import Job

    with app.app_context():
        job = db.session.execute(db.select(Job).filter_by(kind="backup")).scalar_one()
        assert job.state == "success" and made.name in job.result


# ---- restoring --------------------------------------------------------------------------

@pytest.mark.parametrize("lock_name, what", [("app.lock", "Larder app"),
                                             ("worker.lock", "Larder worker")])
def test_cli_restore_refuses_while_larder_runs(shop, client, data_dir, lock_name, what):
    place_order(client)
    with shop.app_context():
        saved = backups.make_backup(shop, "manual")
    place_order(client)
    release(shop)
    lock = FileLock(data_dir / lock_name).acquire()  # held as the running app holds it
    try:
        line = one_error_line(larder(data_dir, "restore", str(saved), "--yes"))
    finally:
        lock.release()
    assert what in line and "Backups page" in line
    assert count(data_dir / "larder.db") == 2
    assert not any(b.reason == "before-restore" for b in backups.list_backups(data_dir))


def test_cli_restore_takes_a_safety_copy_swaps_and_clears_the_cache(shop, client, data_dir):
    first = place_order(client)
    with shop.app_context():
        saved = backups.make_backup(shop, "manual")
    second = place_order(client)
    with shop.app_context():
        cache.set("stale-page", "the old totals")
    release(shop)
    proc = larder(data_dir, "restore", str(saved), "--yes")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("\n") == 1 and "before-restore" in proc.stdout
    con = sqlite3.connect(data_dir / "larder.db")
    ids = {r[0] for r in con.execute("SELECT id FROM orders")}
    con.close()
    assert ids == {first}
    [safety] = [b for b in backups.list_backups(data_dir) if b.reason == "before-restore"]
    assert integrity(safety.path) == "ok" and count(safety.path) == 2 and second
    with shop.app_context():
        assert cache.get("stale-page") is None
    assert integrity(data_dir / "larder.db") == "ok"


def _newer_larder_db(tmp_path, source):
    path = tmp_path / "newer.db"
    shutil.copy(source, path)
    con = sqlite3.connect(path)
    con.execute("UPDATE alembic_version SET version_num = '9999'")
    con.commit()
    con.close()
    return path


def test_cli_restore_refuses_files_it_cannot_restore(shop, client, data_dir, tmp_path):
    place_order(client)
    with shop.app_context():
        good = backups.make_backup(shop, "manual")
    release(shop)
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("hello")
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE things (x)")
    con.commit()
    con.close()
    damaged = tmp_path / "damaged.db"
    data = bytearray(good.read_bytes())
    data[4096 * 2:4096 * 4] = b"\xff" * 8192  # two pages of garbage
    damaged.write_bytes(bytes(data))
    cases = {not_sqlite: "not a SQLite database", other: "not Larder's",
             _newer_larder_db(tmp_path, good): "newer version of Larder",
             damaged: "damaged", tmp_path / "missing.db": "cannot read"}
    before = (data_dir / "larder.db").read_bytes()
    for path, reason in cases.items():
        line = one_error_line(larder(data_dir, "restore", str(path), "--yes"))
        assert reason in line and str(path) in line, line
    assert (data_dir / "larder.db").read_bytes() == before
    assert [b.reason for b in backups.list_backups(data_dir)] == ["manual"]


def test_restoring_a_0_1_0_database_upgrades_it(app, data_dir):
    import json

    release(app)
    proc = larder(data_dir, "restore", str(FIXTURES / "larder-0.1.0.db"), "--yes")
    assert proc.returncode == 0, proc.stderr
    assert "schema 0.1.0" in proc.stdout
    expected = json.loads((FIXTURES / "larder-0.1.0.expected.json").read_text())
    assert count(data_dir / "larder.db") == expected["counts"]["orders"]
    con = sqlite3.connect(data_dir / "larder.db")
    assert con.execute("SELECT version_num FROM alembic_version").fetchone()[0] == \
        db_upgrade.HEAD
    con.close()


def test_backup_and_restore_refuse_postgresql_with_pg_dump_advice(data_dir):
    env = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/larder"}
    for args in (("backup",), ("restore", str(FIXTURES / "larder-0.1.0.db"), "--yes")):
        assert "pg_dump" in one_error_line(larder(data_dir, *args, env=env))


# ---- the Backups page -------------------------------------------------------------------

def test_page_lists_makes_and_downloads_backups(shop, owner_browser, data_dir):
    page = owner_browser.get("/backups/").get_data(as_text=True)
    assert "No backups yet" in page
    token = csrf_from(owner_browser, "/backups/")
    response = owner_browser.post("/backups/", data={"csrf_token": token},
                                  follow_redirects=True)
    page = response.get_data(as_text=True)
    [made] = backups.list_backups(data_dir)
    assert "Backup made and checked" in page and "Made by hand" in page
    assert format_moment(made.created, "medium") in page  # the shop's locale: en_GB here
    download = owner_browser.get(f"/backups/{made.name}")
    assert download.status_code == 200 and download.data == made.path.read_bytes()
    for bad in ("../larder.db", "..%2Flarder.db", "larder.db", "secret_key",
                "larder-2026-01-01-000000-manual.db"):
        assert owner_browser.get(f"/backups/{bad}").status_code == 404, bad


def test_page_is_for_the_owner_only(shop, app, data_dir):
    from webapp.auth import add_user

    with app.app_context():
        add_user("sam", "correct horse battery")
    staff = app.test_client()
    token = csrf_from(staff, "/login")
    staff.post("/login", data={"username": "sam", "password": "correct horse battery",
                               "csrf_token": token})
    response = staff.get("/backups/")
    assert response.status_code == 403 and "Your account cannot see backups" in response.text


def test_page_restore_swaps_under_open_connections(shop, client, owner_browser, data_dir):
    """Another process's connection (the worker's, in WAL) stays open through the restore
    and then reads the restored database."""
    first = place_order(client)
    with shop.app_context():
        saved = backups.make_backup(shop, "manual")
    place_order(client)
    other = sqlite3.connect(data_dir / "larder.db")
    assert other.execute("SELECT count(*) FROM orders").fetchone()[0] == 2
    token = csrf_from(owner_browser, "/backups/")
    refused = owner_browser.post(f"/backups/{saved.name}/restore", data={"csrf_token": token})
    assert refused.status_code == 400 and "confirm" in refused.get_data(as_text=True)
    response = owner_browser.post(f"/backups/{saved.name}/restore",
                                  data={"csrf_token": token, "confirm": "yes"},
                                  follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Restored" in page and "before-restore" in page
    assert [r[0] for r in other.execute("SELECT id FROM orders")] == [first]
    other.close()
    assert client.get(f"/api/orders/{first}").status_code == 200
    assert client.get("/api/stats").get_json()["orders"] == 1
    assert integrity(data_dir / "larder.db") == "ok"


def test_restore_queues_again_the_jobs_the_backup_left_unfinished(shop, client, owner_browser,
                                                                   data_dir):
    """A backup taken while a job was running: after the restore the job is run again
    (here eagerly, with the real task code) instead of showing 'running' forever."""
    from webapp.models import Job

    order_id = place_order(client)
    with shop.app_context():
        job = db.session.execute(db.select(Job).filter_by(kind="order")).scalar_one()
        assert job.state == "success"
        job.state, job.result = "running", ""  # as the backup caught it
        db.session.commit()
        saved = backups.make_backup(shop, "manual")
        job.state = "success"
        db.session.commit()
        db.session.remove()
    token = csrf_from(owner_browser, "/backups/")
    response = owner_browser.post(f"/backups/{saved.name}/restore",
                                  data={"csrf_token": token, "confirm": "yes"})
    assert response.status_code == 302
    with shop.app_context():
        job = db.session.execute(db.select(Job).filter_by(kind="order")).scalar_one()
        assert job.state == "success" and job.attempts == 2 and str(order_id) in job.result


def test_on_postgresql_the_page_and_the_daily_job_give_pg_dump_advice(data_dir, request):
    from conftest import TOKEN
    from webapp import create_app

    server = request.getfixturevalue("postgres_server")
    new_database(server, "larder_backups")
    app = create_app({"TESTING": True, "LARDER_TOKEN": TOKEN,
                      "DATABASE_URL": f"{server}/larder_backups"}, data_dir=data_dir)
    try:
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {TOKEN}"
        page = client.get("/backups/").get_data(as_text=True)
        assert "pg_dump" in page and "Back up now" not in page
        refused = client.post("/backups/")
        assert refused.status_code == 400 and "pg_dump" in refused.get_data(as_text=True)
        with app.app_context():
            assert "pg_dump" in backups.daily_backup()["skipped"]
        assert not (data_dir / "backups").exists()
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_restore_of_a_file_with_another_page_size(shop, client, data_dir, tmp_path):
    """SQLite's backup API cannot write into a WAL database of another page size (a file
    from another SQLite build or tool): the staged copy is given the live page size."""
    first = place_order(client)
    other = tmp_path / "8k.db"
    with shop.app_context():
        backups.make_backup(shop, "manual", dest=other)
    con = sqlite3.connect(other, isolation_level=None)
    con.execute("PRAGMA page_size = 8192")
    con.execute("VACUUM")
    assert con.execute("PRAGMA page_size").fetchone()[0] == 8192
    con.close()
    place_order(client)
    with shop.app_context():
        backups.restore(shop, other)
    con = sqlite3.connect(data_dir / "larder.db")
    assert [r[0] for r in con.execute("SELECT id FROM orders")] == [first]
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    assert integrity(data_dir / "larder.db") == "ok"
