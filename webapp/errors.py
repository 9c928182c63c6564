"""Errors: JSON for /api/*, a friendly HTML page elsewhere, never a traceback.

Also the two kinds of trouble that no view can foresee:
- a full disk (any write: the database, the cache, a file): 507 with a plain message;
  `is_disk_full(exc)` recognises it, for the CLI as well;
- hostile JSON (a lone surrogate, which no database can store, or absurd nesting):
  every `request.get_json()` goes through StrictJSONProvider, which refuses it.
"""
import errno
import logging
import re
import sqlite3

from flask import jsonify, make_response, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge

from .i18n import N_, _

log = logging.getLogger(__name__)

DISK_FULL_MESSAGE = N_("The disk is full, so Larder could not save this. Free some disk space, "
                       "check what was saved, then try again.")
# The web server's own words for errors no view names (an unknown address, a crash),
# marked here so the shop's language has them too; English stays werkzeug's.
SERVER_WORDS = (
    N_("The browser (or proxy) sent a request that this server could not understand."),
    N_("The requested URL was not found on the server. If you entered the URL manually "
       "please check your spelling and try again."),
    N_("The method is not allowed for the requested URL."),
    N_("The server encountered an internal error and was unable to complete your request. "
       "Either the server is overloaded or there is an error in the application."),
)
MAX_JSON_DEPTH = 32  # Larder's own bodies are 3 deep: {"lines": [{"sku": ...}]}
_SURROGATE = re.compile("[\ud800-\udfff]")


def is_disk_full(exc):
    """True when exc, or an error it wraps, says the disk (or the user's quota) is full:
    OSError ENOSPC/EDQUOT, SQLite's "database or disk is full", PostgreSQL's disk_full."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC,
                                                      getattr(errno, "EDQUOT", errno.ENOSPC)):
            return True
        if isinstance(exc, sqlite3.Error) and (
                getattr(exc, "sqlite_errorname", "") == "SQLITE_FULL"
                or "database or disk is full" in str(exc)):
            return True
        if getattr(exc, "sqlstate", None) == "53100":  # psycopg: disk_full
            return True
        # SQLAlchemy keeps the driver's error in .orig; Python chains the rest.
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
    return False


# Failures of the moment that the same transaction, run again, gets past: PostgreSQL's
# deadlock_detected, serialization_failure and lock_not_available; SQLite's busy timeout.
TRANSIENT_SQLSTATES = ("40P01", "40001", "55P03")
BUSY_MESSAGE = N_("Larder is busy: this was not saved. Send it again in a moment.")


def is_transient_db_error(exc):
    """True when exc, or an error it wraps, is one of the database's failures of the
    moment (a deadlock, a serialization conflict, a lock it waited too long for)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if getattr(exc, "sqlstate", None) in TRANSIENT_SQLSTATES:
            return True
        if isinstance(exc, sqlite3.OperationalError) and "database is locked" in str(exc):
            return True
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
    return False


class StrictJSONProvider(DefaultJSONProvider):
    """json.loads that raises ValueError (a 400 for request bodies) on what would
    otherwise fail later as a 500: nesting past MAX_JSON_DEPTH (Python's recursion limit
    at 100,000 levels) and text holding a lone surrogate ("\\ud800"), which is not
    Unicode and cannot be encoded for the database or a file."""

    def loads(self, s, **kwargs):
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError(f"nested more than {MAX_JSON_DEPTH} levels deep") from None
        check_json(value)
        return value


def check_json(value):
    """Raise ValueError if a decoded JSON value is too deep or holds a lone surrogate."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise ValueError("a text holds a lone surrogate (\\ud800-\\udfff escapes "
                                 "must come in pairs)")
        elif isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise ValueError(f"nested more than {MAX_JSON_DEPTH} levels deep")
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                stack.extend((v, depth + 1) for v in item.values())
            else:
                stack.extend((v, depth + 1) for v in item)


def size_text(n):
    """A size limit in plain words: "64 MB", "512 KB"."""
    mb = 1024 * 1024
    return f"{n // mb:,} MB" if n >= mb else f"{max(1, n // 1024):,} KB"


def wants_json():
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json"
    )


def error_response(status, message):
    if wants_json():
        return jsonify(error=message), status
    return render_template("error.html", status=status, message=message), status


def init_app(app):
    app.json = StrictJSONProvider(app)

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return error_response(400, _("The form has expired or was not sent by Larder. "
                                     "Go back, reload the page and try again."))

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc):
        limit = app.config.get("MAX_CONTENT_LENGTH") or 0
        return error_response(413, _("The file is too large: Larder takes files of up to "
                                     "%(limit)s. Split it into smaller files (by date, for "
                                     "example) and send each one.", limit=size_text(limit)))

    from .catalog import NotFound

    @app.errorhandler(NotFound)  # "no product with sku ...": one 404 for pages and the API
    def not_found(exc):
        return error_response(404, str(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc):
        # A view's own message is in the shop's language already; the server's defaults
        # are looked up (gettext returns a text it does not know as it is).
        return error_response(exc.code or 500, _(exc.description or exc.name))

    @app.errorhandler(Exception)
    def unexpected(exc):
        if is_disk_full(exc):
            log.error("disk full on %s %s: %s", request.method, request.path, exc)
            return error_response(507, _(DISK_FULL_MESSAGE))
        if is_transient_db_error(exc):
            # Nothing was saved (the transaction was rolled back): say so, and to retry.
            from .extensions import db

            db.session.rollback()
            log.warning("busy database on %s %s: %s", request.method, request.path, exc)
            response = make_response(error_response(503, _(BUSY_MESSAGE)))
            response.headers["Retry-After"] = "1"
            return response
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, _(InternalServerError.description))
