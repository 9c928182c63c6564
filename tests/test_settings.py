"""Shop settings (webapp.settings, the Settings page, docs/settings.md): owner only; the
file and the environment win and the page says so; bad values refused with the field's
reason; the confirm step for the currency and tax mode; recorded orders never change;
money on pages in the shop's currency and locale (business days: test_business_days.py)."""
import re
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
import requests
from conftest import TOKEN, csrf_from, http_session
from webapp import create_app
from webapp.config import SettingError, build_config
from webapp.extensions import db
from webapp.models import Customer, Order, OrderLine, Product, Setting

ROOT = Path(__file__).resolve().parent.parent
NBSP = "\u00a0"


def _form(http, html=None):
    """The Settings form as a browser would send it back: every enabled field's value."""
    html = http.get(http.base + "/settings/").text if html is None else html
    data = {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html)[1]}
    for tag in re.findall(r"<input [^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or "disabled" in tag or name[1] == "csrf_token":
            continue
        if 'type="checkbox"' in tag:
            if " checked" in tag:
                data[name[1]] = "yes"
        else:
            data[name[1]] = re.search(r'value="([^"]*)"', tag)[1]
    for name, text in re.findall(r'<textarea [^>]*name="([^"]+)"(?![^>]*disabled)[^>]*>(.*?)'
                                 r'</textarea>', html, re.S):
        data[name] = text
    return data


def _save(http, page=None, **changes):
    data = {**_form(http, page), **changes}
    for name, value in changes.items():
        if value is None:  # an unticked checkbox sends nothing
            data.pop(name)
    return http.post(http.base + "/settings/", data=data, allow_redirects=False)


def _cookie_owner(http):
    """The session signed in as the desktop window is (cookie), so forms need CSRF."""
    http.headers.pop("Authorization")
    assert http.get(f"{http.base}/?token={TOKEN}").status_code == 200


def _field_error(html, name):
    """The error shown in the field's own block (next to it)."""
    block = re.search(rf'<div class="setting">(?:(?!</div>).)*name="{name}"(?:(?!</div>).)*'
                      r"</div>", html, re.S)
    assert block, f"no field {name}"
    error = re.search(r'<span [^>]*class="error">([^<]*)</span>', block[0])
    return error[1].replace("&#39;", "'") if error else None


@pytest.fixture
def priced(app):
    with app.app_context():
        db.session.add(Product(sku="HAM-1", name="Hamper", category="Gifts",
                               price_cents=123450, stock=3))
        db.session.commit()
    return app


def _order(app, currency="EUR", include_tax=True):
    with app.app_context():
        product = db.session.execute(db.select(Product)).scalars().first()
        customer = Customer(email="ann@example.com", name="Ann", country="France")
        order = Order(ref="R1", customer=customer, created_at=datetime(2025, 3, 1, 12, 0),
                      status="processed", total_cents=246900, gross_cents=246900,
                      tax_cents=41150, currency=currency, prices_include_tax=include_tax)
        order.lines = [OrderLine(product=product, quantity=2, unit_price_cents=123450,
                                 tax_rate_bp=2000, net_cents=205750, tax_cents=41150)]
        db.session.add(order)
        db.session.commit()
        return order.id


def _order_row(app, order_id):
    with app.app_context():
        order = db.session.get(Order, order_id)
        return (order.currency, order.prices_include_tax, order.total_cents,
                order.gross_cents, order.tax_cents,
                [(l.quantity, l.unit_price_cents, l.net_cents, l.tax_cents, l.tax_rate_bp)
                 for l in order.lines])


# ---- who may see it ------------------------------------------------------------------

def test_only_the_owner_sees_settings_and_its_link(app, anon_client, owner_browser):
    from webapp.auth import add_user

    with app.app_context():
        add_user("sam", "correct horse")
    token = csrf_from(anon_client, "/login")
    assert anon_client.post("/login", data={"csrf_token": token, "username": "sam",
                                            "password": "correct horse"}).status_code == 302
    token = csrf_from(anon_client, "/customers/new")  # the signed-in session's
    denied = anon_client.get("/settings/")
    assert denied.status_code == 403
    assert "Your account cannot see or change the shop&#39;s settings." in denied.text
    assert anon_client.post("/settings/", data={"csrf_token": token,
                                                "currency": "USD"}).status_code == 403
    # The product list is cached across users: the owner's link is added after the cache.
    assert 'href="/settings/">Settings</a>' in owner_browser.get("/products/").text
    staff_page = anon_client.get("/products/")  # staff's own copy (the role is in the key)
    assert "/settings/" not in staff_page.text
    assert anon_client.get("/products/").headers["X-Cache"] == "HIT"
    owner_page = owner_browser.get("/products/")
    assert owner_page.headers["X-Cache"] == "HIT"
    assert 'href="/settings/">Settings</a>' in owner_page.text
    assert owner_browser.get("/settings/").status_code == 200


def test_the_form_needs_its_csrf_token(app, priced):
    with http_session(app) as http:
        _cookie_owner(http)
        data = _form(http)
        data.pop("csrf_token")
        refused = http.post(http.base + "/settings/", data={**data, "currency": "USD"})
        assert refused.status_code == 400 and "The form has expired" in refused.text
        assert 'name="currency" value="EUR"' in http.get(http.base + "/settings/").text


# ---- saving, rules, money on pages ------------------------------------------------------

def test_money_on_pages_follows_the_currency_and_locale_at_once(app, priced):
    with http_session(app) as http:
        _cookie_owner(http)
        page = http.get(http.base + "/products/")
        assert "€1,234.50" in page.text  # EUR, en_GB: the defaults here (conftest)
        assert "€1,234.50" in http.get(http.base + "/products/").text  # cached: a HIT
        assert _save(http, locale="de_DE").status_code == 302
        assert f"1.234,50{NBSP}€" in http.get(http.base + "/products/").text
        assert f"1.234,50{NBSP}€" in http.get(http.base + "/products/HAM-1").text
        assert _save(http, currency="gbp", locale="en_GB").status_code == 302
        listing = http.get(http.base + "/products/").text
        # The message is on the first page shown after saving, cached or not.
        assert "£1,234.50" in listing and "€" not in listing and "Settings saved." in listing
        saved = http.get(http.base + "/settings/").text
        assert 'name="currency" value="GBP"' in saved and "Settings saved." not in saved


def test_every_field_is_checked_and_the_reason_shown_next_to_it(app, priced):
    bad = {"currency": "EURO", "locale": "xx_QQ", "timezone": "Mars/Olympus",
           "day_starts_at": "25:00", "default_tax_rate": "100.5",
           "payment_methods": "cash\ncard\nCASH", "shop_name": "x" * 201}
    with http_session(app) as http:
        _cookie_owner(http)
        response = _save(http, **bad)
        assert response.status_code == 400
        html = response.text
        assert _field_error(html, "currency") == "a currency code (ISO 4217), like EUR, GBP or USD"
        assert _field_error(html, "locale") == "a language and country, like en_GB, de_DE or fr_FR"
        assert _field_error(html, "timezone") == (
            "a time zone name like Europe/Paris, or empty for the computer's")
        assert _field_error(html, "day_starts_at") == "a time of day as HH:MM, from 00:00 to 23:59"
        assert _field_error(html, "default_tax_rate") == "a percent from 0 to 100, like 20 or 5.5"
        assert _field_error(html, "payment_methods") == "CASH is listed twice"
        assert _field_error(html, "shop_name") == "at most 200 characters"
        assert _field_error(html, "prices_include_tax") is None
        assert 'value="EURO"' in html  # what was typed stays in the form
        for methods, reason in (("", "at least one payment method"),
                                ("\n".join(f"m{i}" for i in range(21)),
                                 "at most 20 payment methods"),
                                ("cash\n" + "v" * 41, "each name at most 40 characters")):
            html = _save(http, payment_methods=methods).text
            assert _field_error(html, "payment_methods").startswith(reason)
        for rate, reason in (("5.555", "a percent with at most two decimals"),
                             ("-1", "a percent from 0 to 100, like 20 or 5.5")):
            assert _field_error(_save(http, default_tax_rate=rate).text,
                                "default_tax_rate") == reason
        unknown = http.post(http.base + "/settings/", data={**_form(http), "colour": "red"})
        assert unknown.status_code == 400 and "unknown: colour" in unknown.text
    with app.app_context():
        assert db.session.execute(db.select(Setting)).first() is None  # nothing stored


def test_good_values_are_stored_in_their_plain_form(app):
    with http_session(app) as http:
        _cookie_owner(http)
        response = _save(http, shop_name="  Café Zoë ", currency="chf", locale="fr-CH",
                         timezone="Europe/Zurich", day_starts_at="2:30",
                         default_tax_rate="7.7", prices_include_tax=None,
                         payment_methods="cash\n\n  card \nTwint", auto_close_day="yes")
        assert response.status_code == 302
        html = http.get(http.base + "/settings/").text
        assert 'name="default_tax_rate" value="7.7"' in html
        assert re.search(r'name="prices_include_tax" value="yes"(?! checked)>', html)
    with app.app_context():
        from webapp import settings

        assert {name: settings.get(name) for name in settings.DEFINITIONS} == {
            "shop_name": "Café Zoë", "shop_address": "", "shop_tax_number": "",
            "currency": "CHF", "locale": "fr_CH", "timezone": "Europe/Zurich",
            "prices_include_tax": False, "default_tax_rate_bp": 770, "day_starts_at": "02:30",
            "payment_methods": ["cash", "card", "Twint"], "auto_close_day": True,
            "low_stock_digest": False}


# ---- the file and the environment win ---------------------------------------------------

def test_larder_toml_and_environment_win_and_the_page_says_so(data_dir, monkeypatch):
    (data_dir / "larder.toml").write_text(
        '[shop]\ncurrency = "gbp"\nlocale = "fr_FR"\nprices_include_tax = false\n'
        'payment_methods = ["cash", "cheque"]\nday_starts_at = 02:30:00\n', encoding="utf-8")
    monkeypatch.setenv("LARDER_LOCALE", "de_DE")
    monkeypatch.setenv("LARDER_DEFAULT_TAX_RATE", "5.5")
    monkeypatch.setenv("LARDER_SHOP_NAME", "")  # empty: unset
    app = create_app({"TESTING": True, "LARDER_TOKEN": TOKEN}, data_dir=data_dir)
    with app.app_context():
        from webapp import settings

        # The page had stored other values before the file said otherwise.
        db.session.add_all([Setting(key="currency", value='"USD"'),
                            Setting(key="shop_name", value='"Old name"')])
        db.session.add(Product(sku="HAM-1", name="Hamper", category="Gifts",
                               price_cents=123450, stock=3))
        db.session.commit()
    with app.app_context():
        assert settings.get("currency") == "GBP"  # file over page
        assert settings.get("locale") == "de_DE"  # environment over file
        assert settings.get("default_tax_rate_bp") == 550
        assert settings.get("payment_methods") == ["cash", "cheque"]
        assert settings.get("day_starts_at") == "02:30"  # a TOML time of day
        assert settings.get("shop_name") == "Old name"  # the page's
    with http_session(app) as http:
        _cookie_owner(http)
        html = http.get(http.base + "/settings/").text
        # de_DE: the words are German too (docs/interface.md, "Languages").
        for name, where in (("currency", "larder.toml"), ("prices_include_tax", "larder.toml"),
                            ("payment_methods", "larder.toml"), ("locale", "der Umgebung"),
                            ("default_tax_rate", "der Umgebung")):
            block = re.search(rf'<div class="setting">(?:(?!</div>).)*name="{name}"'
                              r"(?:(?!</div>).)*</div>", html, re.S)[0]
            assert " disabled" in block and f"festgelegt in {where}" in block, name
        assert 'name="shop_name" value="Old name">' in html
        assert f"1.234,50{NBSP}£" in http.get(http.base + "/products/").text
        # The page saves what it may; the fixed ones stay as the file and environment say.
        assert _save(http, shop_name="New name").status_code == 302
        assert "festgelegt in larder.toml" in http.get(http.base + "/settings/").text
        sneaked = http.post(http.base + "/settings/", data={**_form(http), "currency": "JPY"})
        assert sneaked.status_code == 400 and "unknown: currency" in sneaked.text
    with app.app_context():
        assert settings.get("shop_name") == "New name" and settings.get("currency") == "GBP"


@pytest.mark.parametrize("toml, env, message", [
    ('[shop]\ncurrency = "EURO"\n', {},
     "larder.toml: [shop] currency = 'EURO': a currency code (ISO 4217), like EUR, GBP or USD"),
    ('[shop]\nday_starts_at = "24:00"\n', {},
     "larder.toml: [shop] day_starts_at = '24:00': a time of day as HH:MM, from 00:00 to 23:59"),
    ('[shop]\ncolour = "red"\n', {}, "larder.toml: [shop] colour: no such setting (known: "),
    ('currency = "EUR"\n', {}, "larder.toml: put currency in the [shop] table"),
    ('shop = "EUR"\n', {}, "larder.toml: [shop] must be a table of settings"),
    ("", {"LARDER_TIMEZONE": "Europe/Pariss"},
     "LARDER_TIMEZONE='Europe/Pariss': a time zone name like Europe/Paris, or empty for "
     "the computer's"),
    ("", {"LARDER_PRICES_INCLUDE_TAX": "maybe"},
     "LARDER_PRICES_INCLUDE_TAX='maybe': yes or no (true or false)"),
    ("", {"LARDER_PAYMENT_METHODS": "cash,card,cash"},
     "LARDER_PAYMENT_METHODS='cash,card,cash': cash is listed twice"),
])
def test_bad_file_or_environment_values_stop_the_start(data_dir, monkeypatch, toml, env,
                                                        message):
    (data_dir / "larder.toml").write_text(toml, encoding="utf-8")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingError) as caught:
        build_config(data_dir)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_a_bad_setting_is_one_line_from_the_command_line(data_dir):
    (data_dir / "larder.toml").write_text('[shop]\nlocale = "xx_QQ"\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "desktop", "--data-dir", str(data_dir),
                           "user", "add", "sam", "--password", "correct horse"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "larder: error: larder.toml: [shop] locale = 'xx_QQ': a language and country, "
        "like en_GB, de_DE or fr_FR"]


def test_default_currency_and_format_come_from_the_computers_locale():
    from webapp.settings import default_currency, default_locale

    cases = [({"LANG": "de_DE.UTF-8"}, "EUR", "de_DE"),
             ({"LANG": "en_US.UTF-8"}, "USD", "en_US"),
             ({"LC_ALL": "ja_JP.UTF-8", "LANG": "de_DE.UTF-8"}, "JPY", "ja_JP"),
             ({"LANG": "de_DE.UTF-8", "LC_MONETARY": "en_GB.UTF-8"}, "GBP", "de_DE"),
             ({"LANG": "C.UTF-8"}, "EUR", "en_GB"),
             ({"LANG": "en"}, "EUR", "en_GB"),  # no country: no currency
             ({}, "EUR", "en_GB")]
    for environ, currency, locale in cases:
        with pytest.MonkeyPatch.context() as patch:
            for name in ("LC_ALL", "LC_MONETARY", "LC_NUMERIC", "LANG"):
                patch.delenv(name, raising=False)
            for name, value in environ.items():
                patch.setenv(name, value)
            assert (default_currency(), default_locale()) == (currency, locale), environ


# ---- the currency and tax mode of a shop with orders ----------------------------------------

def test_no_confirmation_needed_before_the_first_order(app, priced):
    with http_session(app) as http:
        _cookie_owner(http)
        assert _save(http, currency="USD", prices_include_tax=None).status_code == 302
    with app.app_context():
        from webapp import settings

        assert (settings.get("currency"), settings.get("prices_include_tax")) == ("USD", False)


def test_currency_and_tax_mode_change_asks_first_and_orders_keep_theirs(app, priced):
    from webapp import settings

    order_id = _order(app, currency="EUR", include_tax=True)
    before = _order_row(app, order_id)
    with http_session(app) as http:
        _cookie_owner(http)
        first = _save(http, currency="USD", prices_include_tax=None, shop_name="Corner")
        assert first.status_code == 200
        assert "Please confirm." in first.text and "already has 1 order." in first.text
        assert "Currency: EUR → USD" in first.text
        assert "Prices include tax: yes → no" in first.text
        assert 'name="confirm" value="' in first.text
        with app.app_context():  # nothing saved yet, not even the other fields
            assert (settings.get("currency"), settings.get("prices_include_tax"),
                    settings.get("shop_name")) == ("EUR", True, "")
        # Only the shop name changes: no question.
        assert _save(http, shop_name="Corner").status_code == 302
        # Another currency typed on the confirmation page is asked about in its turn.
        again = _save(http, first.text, currency="JPY")
        assert again.status_code == 200 and "Currency: EUR → JPY" in again.text
        with app.app_context():
            assert settings.get("currency") == "EUR"
        # The second step: the confirmation page's form, sent as it is.
        confirmed = _save(http, again.text, currency="USD")
        assert confirmed.status_code == 200 and "Currency: EUR → USD" in confirmed.text
        confirmed = _save(http, confirmed.text)
        assert confirmed.status_code == 302
        with app.app_context():
            assert (settings.get("currency"), settings.get("prices_include_tax")) == (
                "USD", False)
        assert _order_row(app, order_id) == before  # the order is as it was sold
        assert "US$1,234.50" in http.get(http.base + "/products/").text
        detail = http.get(f"{http.base}/orders/{order_id}").text
        assert "€2,469.00" in detail and "$" not in detail  # in its own currency
        assert "€2,469.00" in http.get(http.base + "/orders/").text


def test_order_email_reads_in_the_orders_currency(app, priced):
    from webapp import emails, settings

    order_id = _order(app, currency="GBP")
    with app.app_context():
        settings.save({"currency": "EUR", "locale": "de_DE"})
        body = emails.order_confirmation(db.session.get(Order, order_id)).get_content()
    # de_DE: German words (docs/interface.md, "Languages"), the order's own currency
    assert f"2 x Hamper (HAM-1) zu 1.234,50{NBSP}£" in body
    assert f"Summe: 2.469,00{NBSP}£" in body


def test_report_pdf_money_in_the_shops_currency_and_locale(app, priced, tmp_path):
    from pypdf import PdfReader

    from webapp import settings
    from webapp.reports import build_report

    _order(app)
    with app.app_context():
        settings.save({"currency": "EUR", "locale": "de_DE"})
        build_report(date(2025, 3, 1), date(2025, 3, 31), "pdf", tmp_path / "r.pdf")
    first = PdfReader(tmp_path / "r.pdf").pages[0].extract_text().replace(NBSP, " ")
    assert "Umsatz 2.469,00 €" in first  # de_DE: German words too


def test_a_change_on_one_process_shows_on_another_at_its_next_request(app, data_dir, priced):
    """Two apps on one data folder stand for two processes (web and worker, or two serve
    processes): each reads the settings at every request, and pages cached by one are
    remade after the other's change (shared cache, versions bumped)."""
    other = create_app({"TESTING": True, "LARDER_TOKEN": TOKEN}, data_dir=data_dir)
    with http_session(app) as http, http_session(other) as http2:
        assert "€1,234.50" in http2.get(http2.base + "/products/").text
        _cookie_owner(http)
        assert _save(http, currency="GBP").status_code == 302
        assert "£1,234.50" in http2.get(http2.base + "/products/").text
        assert requests.get(http2.base + "/health").status_code == 200



def test_dates_for_people_follow_the_locale(app):
    from webapp import settings
    from webapp.money_display import format_day, format_moment

    with app.app_context():
        assert format_day(date(2025, 3, 5)) == "5 Mar 2025"
        assert format_moment(datetime(2025, 3, 5, 14, 30)) == "05/03/2025, 14:30"
        settings.save({"locale": "de_DE"})
        assert format_day(date(2025, 3, 5)) == "05.03.2025"
        assert format_moment(datetime(2025, 3, 5, 14, 30)) == "05.03.25, 14:30"
