"""Daily figures: sales and refunds summed per business day (tables daily_sales and
daily_product_sales, models.DailySales and DailyProductSales), kept in the same
transaction as every change to what they sum, so that the dashboard and the reports read
a few thousand rows instead of a million orders (docs/figures.md, "Daily figures").

How they stay right:
- Writes through the ORM session (an order recorded, a refund, any change to an order,
  its lines, a refund or a customer's country): the session hook (webapp.daily_hooks)
  takes off what the touched orders and refunds counted before the flush and adds what
  they count after it.
- Core statements, which that hook cannot see, say what they did: ordering.py (an order
  claimed for processing or cancelled: order_left), the import's writer (add,
  withdraw), a customers merge or import (orders_changing), the demo loader (rebuild).
- Another day start (Settings, larder.toml): the tables are rebuilt. Until then readers
  use the orders themselves (current() is False) and the first write rebuilds.
Every write is an increment (INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n),
keys in sorted order: two transactions adding to the same hour never lose a count on
PostgreSQL, and they take the rows' locks in the same order.
"""
import contextlib

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

COUNTED = ("pending", "processed", "imported")  # = stats.COUNTED (no import cycle)
IN_CHUNK = 900
_col = sa.column
# Only the columns read, as plain table clauses: migration 0008 fills the tables with
# this same code, whatever the models become later.
_O = sa.table("orders", _col("id"), _col("created_at", sa.DateTime), _col("status"),
              _col("payment_method"), _col("gross_cents"), _col("discount_cents"),
              _col("total_cents"), _col("customer_id"))
_C = sa.table("customers", _col("id"), _col("country"))
WALK_IN = "Walk-in (no customer)"  # = reports.figures.WALK_IN
_L = sa.table("order_lines", _col("id"), _col("order_id"), _col("product_id"),
              _col("quantity"), _col("unit_price_cents"), _col("tax_rate_bp"),
              _col("unit_cost_cents"), _col("net_cents"), _col("tax_cents"))
_R = sa.table("refunds", _col("id"), _col("order_id"), _col("created_at", sa.DateTime),
              _col("payment_method"), _col("amount_cents"))
_RL = sa.table("refund_lines", _col("id"), _col("refund_id"), _col("order_line_id"),
               _col("quantity"), _col("tax_rate_bp"), _col("net_cents"), _col("tax_cents"),
               _col("cost_cents"))

SALES_KEYS = ("day", "hour", "next_date", "method")
SALES_VALUES = ("orders", "gross_cents", "discount_cents", "total_cents", "refunds",
                "refunds_cents")
PRODUCT_KEYS = ("day", "product_id", "rate_bp")
SOLD = ("lines", "quantity", "list_cents", "net_cents", "tax_cents", "cost_cents",
        "net_known_cents", "quantity_known", "lines_without_cost")
REFUNDED = ("refund_lines", "refund_quantity", "refund_net_cents", "refund_tax_cents",
            "refund_cost_cents", "refund_net_known_cents", "refund_quantity_known")
PRODUCT_VALUES = SOLD + REFUNDED
COUNTRY_KEYS = ("day", "country")
COUNTRY_VALUES = ("orders", "total_cents", "refunds", "refunds_cents")

_meta = sa.MetaData()
SALES = sa.Table("daily_sales", _meta, sa.Column("day", sa.Date, primary_key=True),
                 sa.Column("hour", sa.Integer, primary_key=True),
                 sa.Column("next_date", sa.Boolean, primary_key=True),
                 sa.Column("method", sa.String(40), primary_key=True),
                 *(sa.Column(name, sa.BigInteger) for name in SALES_VALUES))
PRODUCTS = sa.Table("daily_product_sales", _meta, sa.Column("day", sa.Date, primary_key=True),
                    sa.Column("product_id", sa.Integer, primary_key=True),
                    sa.Column("rate_bp", sa.Integer, primary_key=True),
                    *(sa.Column(name, sa.BigInteger) for name in PRODUCT_VALUES))
COUNTRIES = sa.Table("daily_country_sales", _meta,
                     sa.Column("day", sa.Date, primary_key=True),
                     sa.Column("country", sa.String(100), primary_key=True),
                     *(sa.Column(name, sa.BigInteger) for name in COUNTRY_VALUES))
BASIS = sa.Table("figures_basis", _meta, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("day_starts_at", sa.String(5)))


def clock(start):
    """'02:30' of a datetime.time."""
    return f"{start.hour:02d}:{start.minute:02d}"


def _when(conn, column, start):
    """SQL for (business day, clock hour, on the next calendar date) of a time column,
    with the day starting at `start` (literals only: PostgreSQL must see the same
    expression in SELECT and GROUP BY)."""
    minutes = start.hour * 60 + start.minute
    if conn.dialect.name == "postgresql":
        shifted = column - sa.literal_column(f"INTERVAL '{minutes} minutes'")
        day = sa.cast(shifted, sa.Date)
        hour = sa.cast(sa.extract("hour", column), sa.Integer)
        next_date = sa.cast(column, sa.Date) != day
    elif minutes:  # SQLite keeps 'YYYY-MM-DD HH:MM:SS[.ffffff]': text functions
        day = sa.func.date(column, sa.literal_column(f"'-{minutes} minutes'"))
        hour = sa.cast(sa.func.substr(column, 12, 2), sa.Integer)
        next_date = sa.func.substr(column, 1, 10) != day
    else:  # days start at midnight (the default): the date is the text's first part
        day = sa.func.substr(column, 1, 10)
        hour = sa.cast(sa.func.substr(column, 12, 2), sa.Integer)
        next_date = sa.literal_column("0")
    return sa.type_coerce(day, sa.Date), hour, sa.type_coerce(next_date, sa.Boolean)


def _by_position(count):
    return [sa.literal_column(str(i)) for i in range(1, count + 1)]


def _sum(value):
    return sa.func.coalesce(sa.func.sum(value), 0)


class Delta:
    """Changes to the daily rows, merged by key: {key tuple: [values]}."""

    def __init__(self):
        self.sales, self.products, self.countries = {}, {}, {}

    def tables(self):
        return ((SALES, SALES_KEYS, SALES_VALUES, self.sales),
                (PRODUCTS, PRODUCT_KEYS, PRODUCT_VALUES, self.products),
                (COUNTRIES, COUNTRY_KEYS, COUNTRY_VALUES, self.countries))

    def _add(self, rows, found, width, offset, sign):
        size = {id(r): len(names) for _, _, names, r in self.tables()}[id(rows)]
        for row in found:
            values = row[-width:]
            total = rows.setdefault(tuple(row[:-width]), [0] * size)
            for i, value in enumerate(values):
                total[offset + i] += sign * int(value)

    def orders(self, conn, start, where, sign=1, counted=True):
        """What the orders matching `where` count (only sales, unless counted=False:
        an order known to have counted until a moment ago)."""
        day, hour, next_date = _when(conn, _O.c.created_at, start)
        where = list(where) + ([_O.c.status.in_(COUNTED)] if counted else [])
        found = conn.execute(
            sa.select(day, hour, next_date, sa.func.coalesce(_O.c.payment_method, ""),
                      sa.func.count(), _sum(_O.c.gross_cents), _sum(_O.c.discount_cents),
                      _sum(_O.c.total_cents))
            .where(*where).group_by(*_by_position(4)))
        self._add(self.sales, found, 4, 0, sign)
        day = _when(conn, _O.c.created_at, start)[0]
        known = _L.c.unit_cost_cents.is_not(None)
        found = conn.execute(
            sa.select(day, _L.c.product_id, _L.c.tax_rate_bp, sa.func.count(),
                      _sum(_L.c.quantity), _sum(_L.c.quantity * _L.c.unit_price_cents),
                      _sum(_L.c.net_cents), _sum(_L.c.tax_cents),
                      _sum(sa.case((known, _L.c.quantity * _L.c.unit_cost_cents), else_=0)),
                      _sum(sa.case((known, _L.c.net_cents), else_=0)),
                      _sum(sa.case((known, _L.c.quantity), else_=0)),
                      _sum(sa.case((known, 0), else_=1)))
            .select_from(_L.join(_O, _O.c.id == _L.c.order_id))
            .where(*where).group_by(*_by_position(3)))
        self._add(self.products, found, len(SOLD), 0, sign)
        found = conn.execute(
            sa.select(day, sa.func.coalesce(_C.c.country, WALK_IN), sa.func.count(),
                      _sum(_O.c.total_cents))
            .select_from(_O.outerjoin(_C, _C.c.id == _O.c.customer_id))
            .where(*where).group_by(*_by_position(2)))
        self._add(self.countries, found, 2, 0, sign)
        return self

    def refunds(self, conn, start, where, sign=1):
        """What the refunds matching `where` count: at their own time, by the method
        they were paid back by (their own, else their order's)."""
        day, hour, next_date = _when(conn, _R.c.created_at, start)
        method = sa.func.coalesce(sa.func.nullif(_R.c.payment_method, ""),
                                  _O.c.payment_method, "")
        found = conn.execute(
            sa.select(day, hour, next_date, method, sa.func.count(), _sum(_R.c.amount_cents))
            .select_from(_R.join(_O, _O.c.id == _R.c.order_id))
            .where(*where).group_by(*_by_position(4)))
        self._add(self.sales, found, 2, 4, sign)
        known = _RL.c.cost_cents.is_not(None)
        found = conn.execute(
            sa.select(day, _L.c.product_id, _RL.c.tax_rate_bp, sa.func.count(),
                      _sum(_RL.c.quantity), _sum(_RL.c.net_cents), _sum(_RL.c.tax_cents),
                      _sum(sa.case((known, _RL.c.cost_cents), else_=0)),
                      _sum(sa.case((known, _RL.c.net_cents), else_=0)),
                      _sum(sa.case((known, _RL.c.quantity), else_=0)))
            .select_from(_RL.join(_R, _R.c.id == _RL.c.refund_id)
                         .join(_L, _L.c.id == _RL.c.order_line_id))
            .where(*where).group_by(*_by_position(3)))
        self._add(self.products, found, len(REFUNDED), len(SOLD), sign)
        day = _when(conn, _R.c.created_at, start)[0]
        found = conn.execute(
            sa.select(day, sa.func.coalesce(_C.c.country, WALK_IN), sa.func.count(),
                      _sum(_R.c.amount_cents))
            .select_from(_R.join(_O, _O.c.id == _R.c.order_id)
                         .outerjoin(_C, _C.c.id == _O.c.customer_id))
            .where(*where).group_by(*_by_position(2)))
        self._add(self.countries, found, 2, 2, sign)
        return self

    def merge(self, other):
        for (*_, mine), (*_, theirs) in zip(self.tables(), other.tables()):
            for key, values in theirs.items():
                total = mine.setdefault(key, [0] * len(values))
                for i, value in enumerate(values):
                    total[i] += value
        return self

    def write(self, conn):
        """Add the changes to the tables (rows whose changes are all zero are skipped),
        5,000 rows at a time: a big import's delta has ~100,000 product-day rows, and
        their parameter dicts all at once cost ~100 MB."""
        for table, keys, names, rows in self.tables():
            ordered = sorted(key for key, values in rows.items() if any(values))
            for i in range(0, len(ordered), 5_000):
                _upsert(conn, table, keys, names,
                        [{**dict(zip(keys, key)), **dict(zip(names, rows[key]))}
                         for key in ordered[i:i + 5_000]])


def _upsert(conn, table, keys, names, rows):
    if conn.dialect.name == "postgresql":
        # Imported here: SQLite shops' processes start ~20 ms sooner without it.
        from sqlalchemy.dialects.postgresql import insert as make_insert
    else:
        make_insert = sqlite.insert
    insert = make_insert(table)
    statement = insert.on_conflict_do_update(
        index_elements=list(keys), set_={n: table.c[n] + insert.excluded[n] for n in names})
    conn.execute(statement, rows)


def in_ids(column, ids):
    """WHERE clauses for `ids`: runs of consecutive ids as ranges (an import's are one
    run), the rest IN lists. Returns a list of clauses to OR, one query each."""
    ids = sorted(ids)  # not set(): an import's 500,000 ids as a set cost ~30 MB more
    clauses, singles, i = [], [], 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] - ids[j] in (0, 1):  # a repeat or the next
            j += 1
        if j - i >= 8:
            clauses.append(column.between(ids[i], ids[j]))
        else:
            singles.extend(ids[i:j + 1])
        i = j + 1
    clauses += [column.in_(singles[k:k + IN_CHUNK]) for k in range(0, len(singles), IN_CHUNK)]
    return clauses


# ---- the basis (day start) and rebuilding -------------------------------------------

def day_start_now():
    from .settings import day_start

    return day_start()


def basis(conn, lock=None):
    """The day start the tables were summed with ('HH:MM'), or None. lock: "share" (a
    writer) or "update" (a rebuild) takes PostgreSQL's row lock on it."""
    select = sa.select(BASIS.c.day_starts_at).where(BASIS.c.id == 1)
    if lock and conn.dialect.name == "postgresql":
        select = select.with_for_update(read=lock == "share")
    return conn.execute(select).scalar()


def current(conn):
    """Whether the tables hold the figures of the day start in force."""
    return basis(conn) == clock(day_start_now())


def fill(conn, start):
    """Empty the tables and sum every order and refund again, with the day starting at
    `start` (a datetime.time). Used by rebuild() and by migration 0008."""
    for table in (SALES, PRODUCTS, COUNTRIES):
        conn.execute(table.delete())
    Delta().orders(conn, start, []).refunds(conn, start, []).write(conn)
    if conn.execute(BASIS.update().where(BASIS.c.id == 1)
                    .values(day_starts_at=clock(start))).rowcount == 0:
        conn.execute(BASIS.insert().values(id=1, day_starts_at=clock(start)))


def rebuild(conn=None, only_if_stale=False):
    """Sum the tables again from the orders and refunds, in the caller's transaction
    (`larder figures rebuild`, a new day start, the demo loader). Takes the basis row's
    lock first: writers wait (PostgreSQL; SQLite has one writer anyway)."""
    from .extensions import db

    conn = conn or db.session.connection()
    # An UPDATE takes SQLite's write lock and PostgreSQL's row lock before the reading.
    conn.execute(BASIS.update().where(BASIS.c.id == 1)
                 .values(day_starts_at=BASIS.c.day_starts_at))
    if only_if_stale and basis(conn, lock="update") == clock(day_start_now()):
        return  # another process did it while this one waited for the lock
    fill(conn, day_start_now())


def differences(conn=None):
    """[(table, key, in the table, from the orders)] where the tables differ from the
    orders and refunds summed now (rows all zero count as absent). Empty: all agree."""
    from .extensions import db

    conn = conn or db.session.connection()
    start = day_start_now()
    wanted = Delta().orders(conn, start, []).refunds(conn, start, [])
    out = []
    stored = basis(conn)
    if stored != clock(start):
        out.append(("figures_basis", (), stored, clock(start)))
    for table, keys, names, rows in wanted.tables():
        have = {}
        for row in conn.execute(sa.select(*(table.c[k] for k in keys + names))):
            values = [int(v or 0) for v in row[len(keys):]]
            if any(values):
                have[tuple(row[:len(keys)])] = values
        want = {key: values for key, values in rows.items() if any(values)}
        for key in sorted(set(have) | set(want), key=repr):
            if have.get(key) != want.get(key):
                out.append((table.name, key, have.get(key), want.get(key)))
    return out


# ---- writes --------------------------------------------------------------------------

def _write(session, delta):
    """Add `delta` in the session's transaction, or rebuild when the tables were summed
    with another day start (the delta was measured with the one in force)."""
    conn = session.connection()
    if basis(conn, lock="share") != clock(day_start_now()):
        rebuild(conn)
    else:
        delta.write(conn)


def add(order_ids=(), refund_ids=()):
    """Count orders and refunds written by Core statements (the import)."""
    from .extensions import db

    conn = db.session.connection()
    start = day_start_now()
    delta = Delta()
    for clause in in_ids(_O.c.id, order_ids):
        delta.orders(conn, start, [clause])
    for clause in in_ids(_R.c.id, refund_ids):
        delta.refunds(conn, start, [clause])
    _write(db.session, delta)


_PENDING, _FLUSH = "daily_figures.pending", "daily_figures.flush"


def order_left(order_id):
    """An order that counted has just stopped counting by a Core UPDATE in this
    transaction (claimed for processing, cancelled): take it off at the commit. If its
    new state counts again (processed), the session hook adds it back at the flush."""
    from .extensions import db

    delta = Delta().orders(db.session.connection(), day_start_now(),
                           [_O.c.id == order_id], sign=-1, counted=False)
    db.session.info.setdefault(_PENDING, Delta()).merge(delta)


def withdraw(order_ids):
    """Before a Core statement changes these orders (the import rewriting one, which
    has no refund): what they count now, to add back with add() after."""
    from .extensions import db

    conn = db.session.connection()
    delta = Delta()
    for clause in in_ids(_O.c.id, order_ids):
        delta.orders(conn, day_start_now(), [clause], sign=-1)
    _write(db.session, delta)


def orders_of(customer_id):
    from .extensions import db

    return db.session.execute(sa.select(_O.c.id).where(
        _O.c.customer_id == customer_id)).scalars().all()


@contextlib.contextmanager
def orders_changing(order_ids):
    """Around a Core statement that changes these orders or what they are counted
    under (their customer's country, a merge): their figures and their refunds' are
    taken off before and added back after, in one write."""
    from .extensions import db

    conn, start = db.session.connection(), day_start_now()
    refund_ids = _refunds_of(conn, order_ids)
    delta = Delta()
    for sign in (-1, 1):
        for clause in in_ids(_O.c.id, order_ids):
            delta.orders(conn, start, [clause], sign=sign)
        for clause in in_ids(_R.c.id, refund_ids):
            delta.refunds(conn, start, [clause], sign=sign)
        if sign == -1:
            yield
    _write(db.session, delta)


def _refunds_of(conn, order_ids):
    found = set()
    for clause in in_ids(_R.c.order_id, order_ids):
        found.update(conn.execute(sa.select(_R.c.id).where(clause)).scalars())
    return found


def ensure_current(app):
    """At start: tables summed with another day start (larder.toml changed) are
    rebuilt once, so that no request pays for it."""
    from .extensions import db

    with app.app_context():
        if not current(db.session.connection()):
            rebuild(only_if_stale=True)
            db.session.commit()
        else:
            db.session.rollback()


# The session hook (daily_hooks) is part of keeping the figures: always registered.
from . import daily_hooks  # noqa: E402,F401
