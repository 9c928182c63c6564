"""The `settings` table's rows, kept in each process behind the "settings" version of the
shared cache (webapp.settings reads them through `rows`): one cache read per request
instead of a query. Every commit that writes a settings row, in any process, moves the
version (the listeners below), so every process reads the table again at its next
request."""
from sqlalchemy import event
from sqlalchemy.orm import Session

VERSION_AREA = "settings"  # caching.area_version: moves at every committed change
WRITTEN = "larder_settings_written"  # session.info: rows written, not committed yet


def _read_rows():
    from .extensions import db
    from .models import Setting

    # no_autoflush: models.now() reads the time zone from inside a flush (column default).
    with db.session.no_autoflush:
        return tuple(db.session.execute(db.select(Setting.key, Setting.value)).all())


def rows():
    """The table's (key, JSON text) rows, kept in this process behind the "settings"
    version of the shared cache (one cache read instead of a query). The version is read
    before the table, and bumped after every commit that wrote a row (_written): rows
    kept under a version are never older than that version. Straight from the table when
    this session has written rows not committed yet, when the cache is this process's own
    (SimpleCache: another process's change would not bump it) or does not keep anything,
    and when the cache cannot be read."""
    from flask import current_app

    from . import caching
    from .extensions import db

    # Asked of the session only if this context has one: a hit makes none (a cached
    # page's hit then opens no session at all).
    registry = db.session.registry
    if (registry.has() and registry().info.get(WRITTEN)) \
            or not caching.shared_between_processes():
        return _read_rows()
    try:
        version = caching.area_version(VERSION_AREA)
    except Exception:  # the cache is down: the table is the truth
        return _read_rows()
    app = current_app._get_current_object()
    kept = app.extensions.get("larder_settings_rows")
    if kept is not None and kept[0] == version:
        return kept[1]
    found = _read_rows()
    app.extensions["larder_settings_rows"] = (version, found)
    return found


def _written(session):
    """This session wrote settings rows: this context reads them again (a stale day start
    would shift every figure), from the table until the commit (rows)."""
    from flask import g, has_app_context

    session.info[WRITTEN] = True
    if has_app_context():
        g.pop("larder_settings", None)


def _forget_when_written(session, flush_context):
    """Any write of a settings row through the models (the page, a restore, a test, a
    script)."""
    from .models import Setting

    if any(isinstance(obj, Setting) for obj in (*session.new, *session.dirty,
                                                 *session.deleted)):
        _written(session)


def _bulk_write(state):
    """update(Setting), delete(Setting), insert(Setting) run through the session."""
    if state.is_update or state.is_delete or state.is_insert:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) == "settings":
            _written(state.session)


def _committed(session):
    """Every process reads the table again at its next request: the version moves (after
    the commit, so that no process can keep the old rows under the new version)."""
    from flask import current_app, has_app_context

    from . import caching

    if session.info.pop(WRITTEN, False) and has_app_context():
        current_app.extensions.pop("larder_settings_rows", None)
        caching.bump_version(VERSION_AREA)


def _rolled_back(session):
    session.info.pop(WRITTEN, None)


event.listen(Session, "after_flush", _forget_when_written)
event.listen(Session, "do_orm_execute", _bulk_write)
event.listen(Session, "after_commit", _committed)
event.listen(Session, "after_rollback", _rolled_back)
