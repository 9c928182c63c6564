"""SQLite set up for a web server and a worker sharing one file (docs/reliability.md).

Every new connection gets:
- `busy_timeout`: a connection that finds the file locked waits (default 30 s) instead
  of failing at once with "database is locked".
- `journal_mode=WAL`: readers never block the writer and the writer never blocks
  readers (a report reading a year of orders no longer holds up an order). The mode is
  stored in the file; setting it again is a no-op.
- `synchronous=FULL`: in WAL mode the log is synced at every commit, so a committed order
  survives a power cut (NORMAL syncs only at checkpoints and can lose the last commits).

Only for SQLite; other databases are left as their server configures them.
"""
from sqlalchemy import event

DEFAULT_BUSY_TIMEOUT_MS = 30_000


def connection_pragmas(busy_timeout_ms=DEFAULT_BUSY_TIMEOUT_MS):
    # busy_timeout first: switching to WAL needs a moment of exclusive access, and the
    # processes of one launch all open the file at once.
    return (f"PRAGMA busy_timeout = {int(busy_timeout_ms)}",
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = FULL")


def apply_pragmas(dbapi_connection, busy_timeout_ms=DEFAULT_BUSY_TIMEOUT_MS):
    cursor = dbapi_connection.cursor()
    try:
        for statement in connection_pragmas(busy_timeout_ms):
            cursor.execute(statement)
    finally:
        cursor.close()


def init_app(app, db):
    """Bind the pragmas to the app's engine (before its first connection)."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return
    busy = int(app.config.get("LARDER_SQLITE_BUSY_TIMEOUT_MS", DEFAULT_BUSY_TIMEOUT_MS))

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, connection_record):
        apply_pragmas(dbapi_connection, busy)
