"""One sentence for a failure that ended a command (desktop.cli.main's last resort): the
disk, the data folder, the database. The traceback goes to the log, not the terminal."""
from desktop.cli_words import _
from webapp.errors import is_disk_full


def failure_message(exc, data_dir=None):
    """(sentence, exc or None): None when the sentence says all (no traceback to log)."""
    from webapp.config import ConfigError

    from desktop.locks import AlreadyRunning

    if isinstance(exc, (ConfigError, AlreadyRunning)):
        return str(exc), None
    if is_disk_full(exc):
        where = data_dir or _("the data folder")
        return _("the disk is full (while writing to %(where)s): free some space, then try "
                 "again", where=where), exc
    if isinstance(exc, OSError):
        if exc.filename:
            return _("cannot use %(file)s: %(error)s", file=exc.filename,
                     error=exc.strerror or exc), exc
        return _("a file or network error: %(error)s", error=exc.strerror or exc), exc
    database = _database_error(exc)
    if database is not None:
        return _("the database could not be used: %(error)s", error=database), exc
    return _("unexpected error: %(error)s", error=type(exc).__name__ + ": " + str(exc)), exc


def _chain(exc):
    seen = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def _database_error(exc):
    import sqlite3

    from sqlalchemy.exc import SQLAlchemyError

    for err in _chain(exc):
        if isinstance(err, SQLAlchemyError):
            return str(getattr(err, "orig", None) or err).splitlines()[0]
        if isinstance(err, sqlite3.Error):
            return str(err)
    return None
