"""SQLite, a big import: the secondary indexes of orders and order_lines set aside while
their rows go in, and built again once at the end, in the same transaction.

Keeping four indexes sorted row by row costs more than the inserts themselves (a
million-line import: ~8 s of inserts with them, ~3 s without, ~2 s to build them again
after; bench/import_big.py). DROP and CREATE INDEX are part of the import's transaction,
so all or nothing still holds: a rollback (a bad line, a cancel, a dry run) brings the
indexes back as they were, and other connections see the old indexes until the commit.

Only indexes that the import's own queries do not need while it inserts: the unique
ones (orders.ref: how a sale is found again) stay. A query that needs the others (a
refund, an order rewritten) calls restore() first; the end of the import too. Called
after a chunk's first INSERT, inside the transaction (see maybe_drop).
"""
MIN_LINES = 200_000   # lines still to come: below this, rebuilding costs more than it saves
TABLES = ("orders", "order_lines")


class DeferredIndexes:
    def __init__(self, conn, plan):
        self.conn, self.plan = conn, plan
        self.fraction_read = lambda: 0.0   # set by the engine: how much of the file is read
        self.decided = False
        self.dropped = []                  # [(name, CREATE INDEX statement)]

    def maybe_drop(self):
        """At a chunk: decide once, when enough of the file is read to tell its size."""
        if self.decided:
            return
        fraction, seen = self.fraction_read(), self.plan.lines_found
        if fraction <= 0 or not seen:
            return
        # pysqlite opens its transaction at the first INSERT only: a DROP before it would
        # be committed at once, and a rollback would not bring the index back.
        if not self.conn.connection.dbapi_connection.in_transaction:
            return
        self.decided = True
        coming = seen / fraction - seen
        existing = self.conn.exec_driver_sql("SELECT max(id) FROM order_lines").scalar() or 0
        if coming < MIN_LINES or coming < existing:
            return  # a big table and a small file: rebuilding would cost more
        marks = ", ".join("?" * len(TABLES))
        for name, sql in self.conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT "
                f"NULL AND tbl_name IN ({marks}) ORDER BY name", TABLES).all():
            if sql.lstrip().upper().startswith("CREATE INDEX"):  # not UNIQUE ones
                self.conn.exec_driver_sql(f'DROP INDEX "{name}"')
                self.dropped.append((name, sql))

    def restore(self):
        """Every index set aside, built again (one sort per index)."""
        self.decided = True   # from here on, rows go in with their indexes
        while self.dropped:
            _, sql = self.dropped.pop(0)
            self.conn.exec_driver_sql(sql)
