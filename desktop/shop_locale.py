"""The shop's locale for the window's web engine, found before the window opens (the app is
made later, in a thread: desktop/launcher.py), without loading the app (no Flask): the
date pickers (`<input type=date>`) and `navigator.language` follow the engine's language,
which is the computer's unless it is told; the pages' dates follow the shop's `locale`.

Where the value comes from is webapp/settings.py's order, read cheaply: LARDER_LOCALE,
else larder.toml's [shop] locale, else the `settings` table of DATA_DIR/larder.db (read
only: a missing database is not created here), else the default the app would use
(webapp.settings.default_locale). Anything unexpected (a database elsewhere, a locked or
broken file) gives None: the engine keeps the computer's language, the start goes on."""
import json
import logging
import os
import re
import sqlite3
import tomllib
from pathlib import Path

log = logging.getLogger("larder.window")

FALLBACK_LOCALE = "en_GB"  # webapp.settings.FALLBACK_LOCALE
# Language, then script/territory parts: en_GB, de_CH, sr_Latn_RS (what Babel stores).
_NAME = re.compile(r"[A-Za-z]{2,3}(?:_[A-Za-z0-9]{2,8})*")


def _tag(value):
    """en_GB / en-GB -> "en-GB" (Chromium's --lang), or None when it is not a locale name."""
    text = str(value or "").strip().replace("-", "_")
    return text.replace("_", "-") if _NAME.fullmatch(text) else None


def _default(environ):
    """webapp.settings.default_locale: LC_ALL, LC_NUMERIC, then LANG, when it names a
    country; else en_GB."""
    value = next((environ[name] for name in ("LC_ALL", "LC_NUMERIC", "LANG")
                  if environ.get(name)), "")
    name = value.split(".")[0].split("@")[0]
    if name not in ("C", "POSIX") and "_" in name and _tag(name):
        return name
    return FALLBACK_LOCALE


def _stored(db_path):
    """The Settings page's locale from the database, or "" when none is saved there yet
    (no database, no table, no row)."""
    if not db_path.exists():
        return ""
    # mode=ro: never create or change the file; a short wait if the app is writing it.
    conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True, timeout=1)
    try:
        row = conn.execute("SELECT value FROM settings WHERE key = 'locale'").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return ""
        raise
    finally:
        conn.close()
    return json.loads(row[0]) if row else ""


def shop_locale(data_dir, environ=None, quiet=False):
    """The shop's locale as a language tag ("en-GB"), or None when it cannot be told
    (quiet: without a warning in the log; the command line's words, desktop/cli_words.py)."""
    environ = os.environ if environ is None else environ
    try:
        if environ.get("LARDER_LOCALE"):
            return _tag(environ["LARDER_LOCALE"])
        data_dir = Path(data_dir)
        toml = {}
        toml_file = data_dir / "larder.toml"
        if toml_file.exists():
            with open(toml_file, "rb") as fh:
                toml = {k.lower(): v for k, v in tomllib.load(fh).items()}  # as webapp.config
        shop = toml.get("shop")
        if isinstance(shop, dict) and shop.get("locale"):
            return _tag(shop["locale"])
        if environ.get("DATABASE_URL") or "database_url" in toml:
            return None  # another database (PostgreSQL...): not read before the app
        return _tag(_stored(data_dir / "larder.db") or _default(environ))
    except Exception as exc:  # never stops the start: the computer's language is kept
        if not quiet:
            log.warning("window language: the shop's locale could not be read (%s)", exc)
        return None


def set_engine_language(data_dir, environ=None):
    """Tell QtWebEngine's Chromium the shop's language (--lang), unless already given;
    read once when its engine starts: a change on the Settings page shows at the next
    start of the window. Returns the tag used, or None."""
    environ = os.environ if environ is None else environ
    flags = environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
    if "--lang=" in flags:
        return None
    tag = shop_locale(data_dir, environ)
    if tag:
        environ["QTWEBENGINE_CHROMIUM_FLAGS"] = f"{flags} --lang={tag}".strip()
        log.info("window language: %s", tag)
    return tag
