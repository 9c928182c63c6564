"""The window's web engine speaks the shop's locale, not the computer's: its date pickers
(`<input type=date>`, drawn in the engine's language) read like the pages' dates. A real
window under Xvfb (tests/locale_probe.py) on a data dir whose shop was saved before."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.shop_locale import shop_locale
from webapp import create_app
from webapp.extensions import db
from x11 import VirtualDisplay

PROBE = Path(__file__).with_name("locale_probe.py")


def save_shop_locale(data_dir, locale):
    app = create_app({"TESTING": True, "LARDER_TOKEN": "tok"}, data_dir=data_dir)
    with app.app_context():
        from webapp import settings

        settings.save({"locale": locale})
        db.session.remove()
        db.engine.dispose()


def window_language(data_dir, **env):
    screen = VirtualDisplay()
    environ = {k: v for k, v in os.environ.items()
               if k not in ("LC_ALL", "LANGUAGE", "QTWEBENGINE_CHROMIUM_FLAGS")}
    environ.update(env)
    try:
        proc = subprocess.run([sys.executable, str(PROBE), str(data_dir), screen.display],
                              capture_output=True, text=True, timeout=120, env=environ)
    finally:
        screen.stop()
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, proc.stdout + proc.stderr[-3000:]
    result = json.loads(lines[-1][7:])
    assert result.get("language"), proc.stderr[-3000:]
    return result


@pytest.mark.parametrize("locale, tag, html_lang", [("en_GB", "en-GB", "en"),
                                                     ("de_DE", "de-DE", "de")])
def test_window_speaks_the_shops_locale_on_an_american_computer(data_dir, locale, tag,
                                                                html_lang):
    pytest.importorskip("webview")
    save_shop_locale(data_dir, locale)
    result = window_language(data_dir, LANG="en_US.UTF-8", LC_NUMERIC="en_US.UTF-8")
    assert result["language"] == tag, result
    assert result["html_lang"] == html_lang, result  # the page's words: English, German


def test_shop_locale_is_read_where_the_app_reads_it(data_dir):
    us = {"LANG": "en_US.UTF-8"}
    assert shop_locale(data_dir, us) == "en-US"  # no database yet: the app's default
    assert shop_locale(data_dir, {"LANG": "C.UTF-8"}) == "en-GB"
    assert not (data_dir / "larder.db").exists()  # not created by the look
    save_shop_locale(data_dir, "de_CH")
    assert shop_locale(data_dir, us) == "de-CH"
    (data_dir / "larder.toml").write_text('[shop]\nlocale = "fr_FR"\n')
    assert shop_locale(data_dir, us) == "fr-FR"
    assert shop_locale(data_dir, {**us, "LARDER_LOCALE": "nl_NL"}) == "nl-NL"
    (data_dir / "larder.toml").write_text('database_url = "postgresql://x/y"\n')
    assert shop_locale(data_dir, us) is None  # not read before the app: the computer's
    (data_dir / "larder.toml").write_text("not toml [")
    assert shop_locale(data_dir, us) is None  # the app says what is wrong, not this
