"""The database schema, brought up to date at every start (Alembic through Flask-Migrate).

- A new database gets the whole chain of migrations (webapp/migrations/versions).
- A 0.1.0 database (tables but no `alembic_version`: 0.1.0 used `create_all`) is stamped
  with the first migration, which reproduces 0.1.0's schema exactly, then upgraded.
- A database already at HEAD costs one query and no Alembic import (most starts).
- A database newer than this program is refused with one sentence: an older Larder must
  not write into a schema it does not know.

Upgrades run under a lock (a file lock in the data dir for SQLite, an advisory lock on
PostgreSQL) so that the web server and the worker's processes, which start together,
upgrade once; each re-reads the revision after taking the lock. A SQLite database is
backed up before it is changed.
"""
import contextlib
import logging
import os
from pathlib import Path

import sqlalchemy as sa

from .config import ConfigError

log = logging.getLogger(__name__)

# The newest revision in migrations/versions (tests/test_migrations.py checks they agree).
HEAD = "0010"
FIRST = "0001"  # reproduces 0.1.0's schema (made with create_all)
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
LOCK_TIMEOUT_S = 120
_PG_LOCK_ID = 0x4C61726465  # "Larde": one number for every Larder on that server


class SchemaTooNew(ConfigError):
    pass


def init_app(app):
    upgrade_database(app)
    from . import daily_figures

    daily_figures.ensure_current(app)  # summed with another day start: rebuilt once


def register_migrate(app):
    """Flask-Migrate on the app (Alembic's env.py reads it): only when the schema changes,
    so that a start at HEAD imports no Alembic (11 MB in each of the app's processes)."""
    if "migrate" in app.extensions:
        return
    from flask_migrate import Migrate

    # render_as_batch: SQLite cannot ALTER most things; Alembic copies the table instead.
    Migrate(app, app.extensions["sqlalchemy"], directory=str(MIGRATIONS_DIR),
            render_as_batch=True, compare_type=True)


def schema_state(engine):
    """(revision or None, has_tables) of the database behind engine."""
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        if inspector.has_table("alembic_version"):
            rev = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            return rev, True
        return None, bool(inspector.get_table_names())


def known_revisions():
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config())
    return {rev.revision for rev in script.walk_revisions()}


def _alembic_config():
    from alembic.config import Config

    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade_database(app):
    """Bring the app's database to HEAD; raises SchemaTooNew for a newer database."""
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
        rev, _ = schema_state(engine)
        if rev == HEAD:
            return False
        with _upgrade_lock(app, engine):
            rev, has_tables = schema_state(engine)  # another process may have done it
            if rev == HEAD:
                return False
            if rev is not None and rev not in known_revisions():
                raise SchemaTooNew(
                    f"the database was written by a newer version of Larder (schema {rev}); "
                    f"this is Larder with schema {HEAD}: start the newer version")
            from flask_migrate import stamp, upgrade

            register_migrate(app)
            if rev is None and has_tables:
                log.info("database made by Larder 0.1.0: marking it as schema %s", FIRST)
                _backup_before_upgrade(app, "0.1.0")
                stamp(directory=str(MIGRATIONS_DIR), revision=FIRST)
            elif rev is not None:
                _backup_before_upgrade(app, rev)
            upgrade(directory=str(MIGRATIONS_DIR), revision=HEAD)
            log.info("database schema %s -> %s", rev or ("0.1.0" if has_tables else "new"),
                     HEAD)
            return True


@contextlib.contextmanager
def _upgrade_lock(app, engine):
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:id)"), {"id": _PG_LOCK_ID})
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:id)"), {"id": _PG_LOCK_ID})
        return
    from .locks import FileLock

    with FileLock(os.path.join(app.config["DATA_DIR"], "upgrade.lock")).acquire(
            timeout=LOCK_TIMEOUT_S):
        yield


def _backup_before_upgrade(app, from_version):
    """A checked copy of a SQLite database before its schema changes (webapp.backups;
    PostgreSQL: pg_dump is the owner's, see docs/reliability.md)."""
    from . import backups

    try:
        backups.sqlite_path(app)
    except backups.BackupError:
        return None
    return backups.make_backup(app, f"before-upgrade-from-{from_version}")
