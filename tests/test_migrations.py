"""Schema migrations: a database made by Larder 0.1.0 (tests/fixtures, made once with the
0.1.0 code) is upgraded at start and keeps every row; a new database gets the same
schema as the models; a database newer than the program is refused."""
import json
import shutil
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text as sa_text

from webapp import create_app, db_upgrade
from webapp.extensions import db

FIXTURES = Path(__file__).parent / "fixtures"
V010_DB = FIXTURES / "larder-0.1.0.db"
EXPECTED = json.loads((FIXTURES / "larder-0.1.0.expected.json").read_text())


def schema_diff(app):
    """What differs between the database and the models (Alembic's autogenerate)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def revision(path):
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    finally:
        con.close()


@pytest.fixture
def v010_dir(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(V010_DB, data / "larder.db")
    return data


def test_head_constant_is_the_newest_migration():
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(db_upgrade._alembic_config())
    assert script.get_heads() == [db_upgrade.HEAD]
    assert db_upgrade.FIRST in db_upgrade.known_revisions()


def test_new_database_is_made_by_the_migrations_and_matches_the_models(app, data_dir):
    assert revision(data_dir / "larder.db") == db_upgrade.HEAD
    assert schema_diff(app) == []


def test_v010_database_is_upgraded_and_keeps_every_row(v010_dir):
    from webapp import reports
    from webapp.models import Customer, IdempotencyKey, Job, Order, OrderLine, Product, User

    app = create_app({"TESTING": True}, data_dir=v010_dir)
    assert revision(v010_dir / "larder.db") == db_upgrade.HEAD
    assert schema_diff(app) == []
    with app.app_context():
        counts = {m.__tablename__: db.session.query(m).count()
                  for m in (Product, Customer, Order, OrderLine, User, Job)}
        assert counts == EXPECTED["counts"]
        assert sorted(u.username for u in db.session.query(User)) == EXPECTED["users"]
        sam = db.session.query(User).filter_by(username="sam").one()
        assert sam.check_password("correct horse battery")
        # 0002: every existing user starts at session generation 0; no idempotency keys
        assert {u.session_generation for u in db.session.query(User)} == {0}
        assert db.session.query(IdempotencyKey).count() == 0
        assert sum(o.total_cents for o in db.session.query(Order)) == \
            EXPECTED["order_totals_cents"]
        assert sum(p.stock for p in db.session.query(Product)) == EXPECTED["stock_sum"]
        # 0003: no tax or discount was recorded before, so each order's gross is its total
        # and each line's net is quantity x unit price, at rate 0; nothing is archived.
        for order in db.session.query(Order):
            assert (order.gross_cents, order.discount_cents, order.tax_cents) == \
                (order.total_cents, 0, 0)
            assert order.prices_include_tax and order.payment_method == ""
            assert sum(line.net_cents for line in order.lines) == order.total_cents
            assert {(line.tax_cents, line.tax_rate_bp, line.discount_cents)
                    for line in order.lines} == {(0, 0, 0)}
            assert all(line.net_cents == line.quantity * line.unit_price_cents
                       for line in order.lines)
        assert not any(p.archived or p.low_stock_alerted for p in db.session.query(Product))
        out = v010_dir / "report.json"
        totals = reports.build_report(date(2024, 1, 1), date(2025, 12, 31), "json", out)
        # 0.1.0's keys keep their values; the figures added since agree with them (no
        # discount, refund, tax or cost was recorded then).
        assert {key: totals[key] for key in EXPECTED["report_totals"]} == \
            EXPECTED["report_totals"]
        revenue = EXPECTED["report_totals"]["revenue_cents"]
        assert (totals["gross_cents"], totals["discounts_cents"], totals["refunds_cents"],
                totals["tax_cents"], totals["net_cents"], totals["cost_cents"],
                totals["margin_cents"], totals["lines_without_cost"]) == \
            (revenue, 0, 0, 0, revenue, 0, 0, EXPECTED["counts"]["order_lines"])
        report = json.loads(out.read_text())
        for section, rows in EXPECTED["report"].items():
            if isinstance(rows, dict):
                assert {key: report[section][key] for key in rows} == rows, section
            else:
                assert [{key: row[key] for key in old} for row, old in
                        zip(report[section], rows)] == rows, section
                assert len(report[section]) == len(rows), section
        assert report["tax"] == [{"rate": 0, "net": revenue / 100, "tax": 0,
                                  "gross": revenue / 100}]
        assert report["by_payment_method"] == [
            {"method": "", "orders": 400, "revenue": revenue / 100}]
        assert sum(row["orders"] for row in report["by_hour"]) == 400
        db.engine.dispose()


V030_DB = FIXTURES / "larder-0.3.0.db"
EXPECTED_030 = json.loads((FIXTURES / "larder-0.3.0.expected.json").read_text())


def upgraded(fixture, tmp_path):
    """(app, data dir) on a copy of a release's database, upgraded to HEAD at start, its
    schema exactly the models'."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(fixture, data / "larder.db")
    app = create_app({"TESTING": True}, data_dir=data)
    assert revision(data / "larder.db") == db_upgrade.HEAD
    assert schema_diff(app) == []
    return app, data


def table_counts():
    from webapp.models import (Customer, Order, OrderLine, Product, Refund, RefundLine,
                               Setting, User, ZReport)

    return {m.__tablename__: db.session.query(m).count()
            for m in (Product, Customer, Order, OrderLine, Refund, RefundLine, User, ZReport,
                      Setting)}


def test_v030_database_is_upgraded_and_keeps_every_figure(tmp_path):
    """The previous release's database (0.3.0, schema 0004: tax, refunds, closed days,
    settings; made by tests/fixtures/make_v030_db.py) upgrades to HEAD and every figure,
    stored Z-report and setting stays as 0.3.0 made it."""
    from webapp import reports
    from webapp.models import Customer, Order, Product, Setting, User, ZReport

    app, data = upgraded(V030_DB, tmp_path)
    with app.app_context():
        counts = table_counts()
        assert {k: counts[k] for k in EXPECTED_030["counts"] if k != "users"} == \
            {k: v for k, v in EXPECTED_030["counts"].items() if k != "users"}
        sam = db.session.query(User).filter_by(username="sam").one()
        assert sam.check_password("correct horse battery") and sam.role == "staff"
        assert sum(o.total_cents for o in db.session.query(Order)) == \
            EXPECTED_030["order_totals_cents"]
        assert sum(p.stock for p in db.session.query(Product)) == EXPECTED_030["stock_sum"]
        assert {s.key: s.value for s in db.session.query(Setting)} == \
            EXPECTED_030["settings"]
        # 0005: every 0.3.0 customer had an e-mail and keeps it; none is a till customer
        assert all(c.email and c.till_id is None for c in db.session.query(Customer))
        # A closed day's report is what was stored at the close, byte for byte.
        assert {str(z.number): {"day": z.business_day.isoformat(), "sha256": z.sha256,
                                "json_body": z.json_body}
                for z in db.session.query(ZReport)} == EXPECTED_030["zreports"]
        out = data / "report.json"
        totals = reports.build_report(date(2025, 1, 1), date(2025, 12, 31), "json", out)
        assert totals == EXPECTED_030["report_totals"]
        # The figures as 0.3.0 made them; the file now also says its currency.
        assert json.loads(out.read_text()) == {"currency": "EUR", **EXPECTED_030["report"]}
        db.engine.dispose()


V040_DB = FIXTURES / "larder-0.4.0.db"
EXPECTED_040 = json.loads((FIXTURES / "larder-0.4.0.expected.json").read_text())


def test_v040_database_is_upgraded_and_keeps_every_figure(tmp_path):
    """The previous release's database (0.4.0, schema 0006: roles, a disabled account, a
    till's imported sale and refund, closed days; made by tests/fixtures/make_v040_db.py
    with the 0.4.0 code) upgrades to HEAD: 0007 (barcodes: none yet), 0008 (the daily
    figures, filled from the orders: the year report read from them is 0.4.0's, to the
    byte) and 0009 (no unfinished job, so no active key)."""
    from webapp import daily_figures, reports
    from webapp.models import Job, Order, Product, Refund, Setting, User, ZReport

    app, data = upgraded(V040_DB, tmp_path)
    with app.app_context():
        assert table_counts() == EXPECTED_040["counts"]
        assert {u.username: [u.role, bool(u.disabled)] for u in db.session.query(User)} == \
            EXPECTED_040["users"]
        assert sum(o.total_cents for o in db.session.query(Order)) == \
            EXPECTED_040["order_totals_cents"]
        assert sum(r.amount_cents for r in db.session.query(Refund)) == \
            EXPECTED_040["refund_totals_cents"]
        assert sum(p.stock for p in db.session.query(Product)) == EXPECTED_040["stock_sum"]
        assert {s.key: s.value for s in db.session.query(Setting)} == \
            EXPECTED_040["settings"]
        assert db.session.query(Product).filter(Product.barcode.isnot(None)).count() == 0
        assert db.session.query(Job).filter(Job.active_key.isnot(None)).count() == 0
        assert {str(z.number): {"day": z.business_day.isoformat(), "sha256": z.sha256,
                                "json_body": z.json_body}
                for z in db.session.query(ZReport)} == EXPECTED_040["zreports"]
        assert not daily_figures.differences()
        out = data / "report.json"
        totals = reports.build_report(date(2025, 1, 1), date(2025, 12, 31), "json", out)
        assert totals == EXPECTED_040["report_totals"]
        assert json.loads(out.read_text()) == {"currency": "EUR", **EXPECTED_040["report"]}
        db.engine.dispose()


def test_upgraded_database_signs_staff_in_and_out_and_records_orders_once(v010_dir):
    """0002 on a 0.1.0 database: the staff account made by 0.1.0 signs in and out (the
    new generation column), and an order with an Idempotency-Key is recorded once."""
    from conftest import csrf_from

    app = create_app({"TESTING": True, "LARDER_TOKEN": "t"}, data_dir=v010_dir)
    browser = app.test_client()
    response = browser.post("/login", data={"csrf_token": csrf_from(browser, "/login"),
                                            "username": "sam",
                                            "password": "correct horse battery"})
    assert response.status_code == 302
    stolen = app.test_client()
    stolen.set_cookie("session", browser.get_cookie("session").value)
    browser.post("/logout", data={"csrf_token": csrf_from(browser, "/logout")})
    assert stolen.get("/").status_code == 302
    owner = app.test_client()
    owner.environ_base["HTTP_AUTHORIZATION"] = "Bearer t"
    with app.app_context():
        from webapp.models import Customer, Order, Product

        email = db.session.query(Customer.email).first()[0]
        sku = db.session.query(Product.sku).first()[0]
        before = db.session.query(Order).count()
    body = {"customer_email": email, "lines": [{"sku": sku, "quantity": 1}]}
    first = owner.post("/api/orders", json=body, headers={"Idempotency-Key": "k1"})
    again = owner.post("/api/orders", json=body, headers={"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 201 and first.json == again.json
    with app.app_context():
        assert db.session.query(Order).count() == before + 1
        db.engine.dispose()


def test_v010_upgrade_takes_a_backup_first(v010_dir):
    app = create_app({"TESTING": True}, data_dir=v010_dir)
    with app.app_context():
        db.engine.dispose()
    backups = list((v010_dir / "backups").glob("*before-upgrade-from-0.1.0.db"))
    assert len(backups) == 1
    con = sqlite3.connect(backups[0])
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # the copy is the database as it was: 0.1.0, no Alembic table, every order
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
        assert "alembic_version" not in tables
        assert con.execute("SELECT count(*) FROM orders").fetchone()[0] == \
            EXPECTED["counts"]["orders"]
    finally:
        con.close()


def test_a_database_at_head_is_not_touched_again(app, data_dir):
    with app.app_context():
        db.engine.dispose()
    again = create_app({"TESTING": True}, data_dir=data_dir)
    with again.app_context():
        assert db_upgrade.upgrade_database(again) is False
        db.engine.dispose()
    assert not (data_dir / "backups").exists()


def _set_revision(path, rev):
    con = sqlite3.connect(path)
    con.execute("UPDATE alembic_version SET version_num = ?", (rev,))
    con.commit()
    con.close()


def test_a_newer_database_is_refused_and_left_alone(app, data_dir):
    with app.app_context():
        db.engine.dispose()
    db_file = data_dir / "larder.db"
    _set_revision(db_file, "9999")
    before = db_file.read_bytes()
    with pytest.raises(db_upgrade.SchemaTooNew, match="newer version of Larder"):
        create_app({"TESTING": True}, data_dir=data_dir)
    assert db_file.read_bytes() == before


def test_cli_refuses_a_newer_database_with_one_line(app, data_dir):
    with app.app_context():
        db.engine.dispose()
    _set_revision(data_dir / "larder.db", "9999")
    proc = subprocess.run([sys.executable, "-m", "desktop", "--data-dir", str(data_dir),
                           "demo", "--orders", "10"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("larder: error:"), proc.stderr
    assert "newer version of Larder" in lines[0]


def test_processes_starting_together_upgrade_once(v010_dir):
    """The web server and the worker's nodes start at the same moment: one upgrades under
    the lock, the others find the database at HEAD (one backup, every row kept)."""
    code = ("import sys; from webapp import create_app; "
            "create_app(data_dir=sys.argv[1]); print('ok')")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(v010_dir)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, outputs
    assert revision(v010_dir / "larder.db") == db_upgrade.HEAD
    assert len(list((v010_dir / "backups").glob("*.db"))) == 1
    con = sqlite3.connect(v010_dir / "larder.db")
    assert con.execute("SELECT count(*) FROM order_lines").fetchone()[0] == \
        EXPECTED["counts"]["order_lines"]
    con.close()


def test_0030_database_gets_roles_and_keeps_its_accounts_working(v010_dir):
    """0006 on a database of the previous release (0.3.0, schema 0004): made here from
    the 0.1.0 fixture upgraded to 0004, with the accounts 0.3.0 could have (staff, signed
    out twice). After the upgrade every account keeps its role, password and generation,
    none is disabled, staff sign in with staff's rights, and a manager can be added."""
    from flask_migrate import downgrade
    from werkzeug.security import generate_password_hash

    from conftest import csrf_from
    from webapp.auth import add_user

    app = create_app({"TESTING": True}, data_dir=v010_dir)
    with app.app_context():
        downgrade(revision="0004")  # the schema 0.3.0 made and left
        db.engine.dispose()
    assert revision(v010_dir / "larder.db") == "0004"
    con = sqlite3.connect(v010_dir / "larder.db")
    con.execute("INSERT INTO users (username, password_hash, role, created_at, "
                "session_generation) VALUES ('kim', ?, 'staff', '2026-01-02 09:00:00', 2)",
                (generate_password_hash("kim's password"),))
    con.commit()
    before = {row[0]: row[1:] for row in con.execute(
        "SELECT username, role, password_hash, session_generation FROM users")}
    con.close()

    app = create_app({"TESTING": True, "LARDER_TOKEN": "t"}, data_dir=v010_dir)
    assert revision(v010_dir / "larder.db") == db_upgrade.HEAD
    assert schema_diff(app) == []
    assert len(list((v010_dir / "backups").glob("*before-upgrade-from-0004.db"))) == 1
    from webapp.models import User

    with app.app_context():
        users = db.session.query(User).all()
        assert {u.username: (u.role, u.password_hash, u.session_generation)
                for u in users} == before
        assert not any(u.disabled for u in users)
        add_user("meg", "long enough", "manager")
        with pytest.raises(Exception):  # the database itself takes the three roles only
            db.session.execute(sa_text("UPDATE users SET role = 'boss' WHERE username='kim'"))
            db.session.commit()
        db.session.rollback()
    for name, password in (("sam", "correct horse battery"), ("kim", "kim's password")):
        browser = app.test_client()
        signed_in = browser.post("/login", data={"csrf_token": csrf_from(browser, "/login"),
                                                 "username": name, "password": password})
        assert signed_in.status_code == 302, name
        assert browser.get("/orders/").status_code == 200
        assert browser.get("/tasks/").status_code == 403  # staff's rights
    with app.app_context():
        db.engine.dispose()
