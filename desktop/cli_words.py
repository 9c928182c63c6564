"""The command line's words in the shop's language (docs/interface.md, "Languages").

The same catalog as the pages (webapp/translations, read with Babel, without Flask: most
commands say their first words before the app is made, or never make it). The language is
the data dir's shop's: desktop.shop_locale finds its locale cheaply (LARDER_LOCALE,
larder.toml, the settings row of larder.db); once a command has made the app, the app's
own setting is used (a PostgreSQL shop's locale is known only then). German for de_*,
English (the words as written) for any other locale or when it cannot be told.

Click's own words (--help, usage errors such as "No such option") stay English: click
has no German catalog, and scripts read the help. The "larder: error: " prefix stays too,
so that a script can find the line whatever the language.
"""
import os
from pathlib import Path

from babel.support import NullTranslations, Translations

TRANSLATIONS = Path(__file__).resolve().parent.parent / "webapp" / "translations"
_state = {"data_dir": None, "locale": None, "catalog": None}


def N_(text):
    """Mark `text` for the catalog without translating it now (module-level tables)."""
    return text


def use_data_dir(data_dir):
    """The command's data dir: its shop's locale is read at the first word said."""
    _state.update(data_dir=data_dir, locale=None, catalog=None)


def use_locale(locale):
    """The app's own locale setting, once a command has made the app."""
    if locale:
        _state.update(locale=str(locale), catalog=None)


def _locale():
    if _state["locale"]:
        return _state["locale"]
    from desktop.shop_locale import shop_locale

    if _state["data_dir"] is None:  # before the data dir is known: the environment's
        return os.environ.get("LARDER_LOCALE") or None
    tag = shop_locale(_state["data_dir"], quiet=True)
    return tag.replace("-", "_") if tag else None


def _catalog():
    if _state["catalog"] is None:
        locale = _locale()
        try:
            found = Translations.load(str(TRANSLATIONS), [locale]) if locale else None
        except ValueError:  # not a locale name Babel knows: English
            found = None
        _state["catalog"] = found or NullTranslations()
    return _state["catalog"]


def _(text, **params):
    """`text` (an English msgid) in the shop's language, its %(name)s filled in."""
    said = _catalog().gettext(text)
    return said % params if params else said
