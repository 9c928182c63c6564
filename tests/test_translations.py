"""The words in the shop's language (issue 12, "words and formats"; docs/interface.md,
"Languages"): one catalog of strings per language (webapp/translations/), German complete,
chosen by the shop's locale setting; pages, menu, messages, the scripts' words, PDFs and
emails follow it, files for machines (CSV, the import layouts) do not."""
import gettext
import html as html_module
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from pypdf import PdfReader

from conftest import csrf_from, http_session
from test_interface import owner_pages, sign_in_staff

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "webapp" / "translations"
PO = TRANSLATIONS / "de" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
POT = TRANSLATIONS / "messages.pot"
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[-#0 +]?\d*(?:\.\d+)?[sdrf%]")
# Text that stays the same in German on purpose: names of things (Larder, PDF, CSV, JSON,
# the email server's setting), and words German shares with English.
SAME_IN_BOTH = {"Larder", "PDF", "CSV", "JSON", "System", "Import", "Name", "Status",
                "Downloads", "Filter", "backups"}
# Left in English, each named with the reason (none may be added silently):
KNOWN_ENGLISH = set()


def catalog():
    with PO.open("rb") as fh:
        return read_po(fh, locale="de")


def extracted_ids():
    """Every msgid in the code and templates now, as `make translations` extracts them."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None,
                "lazy_gettext": None}
    ids = set()
    for _name, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords):
        ids.add(message if isinstance(message, str) else tuple(message))
    return ids


def _ids(cat):
    return {m.id if isinstance(m.id, str) else tuple(m.id) for m in cat if m.id}


# ---- the catalog ------------------------------------------------------------------------

def test_the_german_catalog_is_complete_and_keeps_every_placeholder():
    cat = catalog()
    assert len(cat) > 500
    problems = []
    for msg in cat:
        if not msg.id:
            continue
        ids = [msg.id] if isinstance(msg.id, str) else list(msg.id)
        strings = [msg.string] if isinstance(msg.string, str) else list(msg.string)
        if "fuzzy" in msg.flags or not all(s.strip() for s in strings):
            problems.append(("untranslated or fuzzy", ids[0]))
            continue
        wanted = sorted(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            if sorted(PLACEHOLDER.findall(string)) != wanted:
                problems.append(("placeholders differ", ids[0], string))
        tags = sorted(re.findall(r"</?\w+", ids[0]))
        if any(sorted(re.findall(r"</?\w+", s)) != tags for s in strings):
            problems.append(("HTML tags differ", ids[0]))
    problems += [("babel check", msg.id, errors) for msg, errors in cat.check()]
    assert not problems, problems


def test_every_string_in_the_code_is_in_the_catalog_and_the_template():
    """Run Babel's extractor over webapp/ as `make translations` does: a new or changed
    string that is not in messages.pot and the German messages.po fails here."""
    in_code = extracted_ids()
    assert "Sell" in in_code and "Settings saved." in in_code  # it did read the sources
    with POT.open("rb") as fh:
        in_template = _ids(read_po(fh))
    assert sorted(map(str, in_code - in_template)) == [], "run `make translations`"
    assert sorted(map(str, in_code - _ids(catalog()))) == [], "translate them in the .po"
    assert sorted(map(str, in_template - in_code)) == [], "stale: run `make translations`"


def test_the_compiled_catalog_is_the_po_as_it_is_now():
    """Larder reads the committed .mo: it must hold exactly what the .po says."""
    buffer = io.BytesIO()
    write_mo(buffer, catalog())
    fresh = gettext.GNUTranslations(io.BytesIO(buffer.getvalue()))._catalog
    with MO.open("rb") as fh:
        shipped = gettext.GNUTranslations(fh)._catalog
    fresh.pop("", None), shipped.pop("", None)  # headers: dates differ, not words
    stale = sorted(str(k) for k in set(fresh) | set(shipped) if fresh.get(k) != shipped.get(k))
    assert not stale, f".mo older than .po, run `make translations`: {stale[:5]}"


def test_the_executable_ships_the_translations():
    spec = (ROOT / "app.spec").read_text(encoding="utf-8")
    assert '"webapp" / "translations"), "webapp/translations")' in spec


# ---- pages --------------------------------------------------------------------------------

class Words(HTMLParser):
    """What a person reads or hears on a page: text between tags and the titles, labels
    and placeholders of elements. Left out: scripts, styles, the scripts' word list, and
    <code> (file and column names, which are the same in every language)."""

    def __init__(self):
        super().__init__()
        self.words, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template", "code"):
            self.skip += 1
        for name, value in attrs:
            if name in ("title", "aria-label", "placeholder", "alt") and value:
                self.words.append(value.strip())

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template", "code"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.words += [part.strip(" ←→") for part in re.split(r"\s*·\s*|\s{2,}|\n", data)
                           if part.strip(" ←→")]


def words_of(html):
    parser = Words()
    parser.feed(html)
    return parser.words


def set_locale(app, locale):
    from webapp import settings

    with app.app_context():
        settings.save({"locale": locale})


def pages_in(app, locale):
    set_locale(app, locale)
    out = {}
    with http_session(app) as http:
        for path in owner_pages(app) + ["/orders/1", "/orders/1/receipt", "/customers/1"]:
            response = http.get(http.base + path)
            if response.status_code == 200 and "text/html" in response.headers["Content-Type"]:
                out[path] = response.text
    return out


@pytest.fixture
def sold(shop, client):
    """The shop with one order (a customer, a line paid by card) to show."""
    response = client.post("/api/orders", json={
        "customer_email": "ann@example.com", "payment_method": "card",
        "lines": [{"sku": "SKU-001", "quantity": 2}]})
    assert response.status_code == 201, response.json
    return shop


def test_with_a_german_locale_every_page_is_in_german(sold):
    """Every GET page of the URL map, over real HTTP, in en_GB then de_DE: no text a
    person reads on the English page is left the same on the German one, except data
    (names, numbers, dates), words the two languages share, and KNOWN_ENGLISH."""
    english, german = pages_in(sold, "en_GB"), pages_in(sold, "de_DE")
    assert len(german) >= 25 and set(german) == set(english)
    with sold.app_context():
        from webapp.models import Customer, Product

        data = {v for p in Product.query.all() for v in (p.name, p.sku, p.category)}
        for c in Customer.query.all():
            data |= {c.name, c.email, c.country, c.city, f"{c.city}, {c.country}"}
        data |= {"owner", "cash", "card"}  # the owner's account name, the shop's methods
    same = {m.id for m in catalog() if isinstance(m.id, str) and m.id == m.string}
    left = {}
    for path, html in german.items():
        assert '<html lang="de" ' in html, path
        english_words = set(words_of(english[path]))
        for text in words_of(html):
            if (text in english_words and not re.search(r"[\d@]", text) and text not in data
                    and text not in same | SAME_IN_BOTH | KNOWN_ENGLISH
                    and re.search(r"[A-Za-z]{2}", text)):
                left.setdefault(text, path)
    assert not left, f"English left on German pages: {left}"
    dashboard = german["/"]
    for word in ("Verkaufen", "Bestellungen", "Artikel", "Kunden", "Berichte", "Verwaltung",
                 "Tagesabschluss", "Einstellungen"):
        assert f">{word}<" in dashboard, word
    assert ">Sell<" not in dashboard
    # Money, counts and the order's words in the locale: "5,00 €", "Karte"
    assert "5,00\xa0€" in german["/orders/1"] and "Karte" in german["/orders/1"]


def test_an_english_shop_reads_as_before(sold, client):
    set_locale(sold, "en_GB")
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en" ' in page
    assert ">Sell<" in page and ">Dashboard<" in page and "Verkaufen" not in page
    assert """data-larder-words='{}'""" in page  # no word list: the scripts' own English
    order = client.get("/orders/1").get_data(as_text=True)
    assert "€5.00" in order and "paid by card" in order


def test_a_locale_without_a_catalog_reads_english(sold, client):
    set_locale(sold, "fr_FR")  # money and dates French, words English (no French catalog)
    page = client.get("/orders/1").get_data(as_text=True)
    assert '<html lang="fr" ' in page and "paid by card" in page and "5,00\xa0€" in page


def test_changing_the_locale_on_the_settings_page_changes_the_words_at_once(sold,
                                                                            owner_browser):
    # The product list is cached and the menu kept per process: both follow the change.
    assert ">Products<" in owner_browser.get("/products/").get_data(as_text=True)
    data = {"csrf_token": csrf_from(owner_browser, "/settings/"), "shop_name": "",
            "shop_address": "", "shop_tax_number": "", "currency": "EUR", "locale": "de_DE",
            "timezone": "", "prices_include_tax": "yes", "default_tax_rate": "20",
            "day_starts_at": "00:00", "payment_methods": "cash\ncard"}
    response = owner_browser.post("/settings/", data=data, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Einstellungen gespeichert." in page, page[:2000]
    products = owner_browser.get("/products/").get_data(as_text=True)
    assert "<h1>Artikel</h1>" in products and ">Products<" not in products


def test_the_scripts_words_come_from_the_page(sold, client):
    set_locale(sold, "de_DE")
    page = client.get("/orders/new").get_data(as_text=True)
    block = re.search(r"<html [^>]*data-larder-words='([^']*)'", page).group(1)
    words = json.loads(html_module.unescape(block))
    assert words["Nothing to pay yet."] == "Noch nichts zu zahlen."
    assert words["Added %(name)s"] == "%(name)s hinzugefügt"
    # Each word a script writes is looked up (T(...) / larderT(...)) where it is used;
    # progress.js and larder.js keep theirs in a table that goes through larderT.
    from webapp.i18n import JS_WORDS

    tables = {"progress.js": "WORDS[state] ? window.larderT(WORDS[state])",
              "larder.js": "larderT(said[2])"}
    for script in ("desk.js", "progress.js", "reports.js", "larder.js", "import.js"):
        text = (ROOT / "webapp" / "static" / script).read_text(encoding="utf-8")
        for english in JS_WORDS:
            if f'"{english}"' in text and f'T("{english}"' not in text:
                assert tables.get(script, "-") in text, (script, english)
        assert not re.search(r'(textContent|say)\(?\s*=?\s*"[A-Z][a-z]+ ', text), script


# ---- messages, forms and the API ---------------------------------------------------------

def test_form_and_api_errors_follow_the_shop_language(sold, client, owner_browser):
    set_locale(sold, "de_DE")
    data = {"csrf_token": csrf_from(owner_browser, "/products/new"), "sku": "B 1",
            "name": "", "category": "Brot", "price": "x", "stock": "-1"}
    page = owner_browser.post("/products/new", data=data).get_data(as_text=True)
    assert "Es wurde nichts gespeichert." in page and "ist erforderlich" in page
    assert "eine ganze Zahl von 0 bis 1.000.000" in page
    answer = client.post("/api/products", json={"sku": "B1", "name": "Brot",
                                                "category": "Brot", "price": "1",
                                                "stock": "many"})
    assert answer.status_code == 400
    assert answer.json["fields"]["stock"] == "eine ganze Zahl von 0 bis 1.000.000"
    assert client.get("/no-such-page").status_code == 404
    assert "Diese Seite gibt es nicht" in client.get("/no-such-page").get_data(as_text=True)


def test_a_refusal_is_german(sold, anon_client):
    set_locale(sold, "de_DE")
    sign_in_staff(sold, anon_client)
    response = anon_client.get("/settings/")
    assert response.status_code == 403
    assert ("Ihr Konto hat dafür keine Berechtigung: die Einstellungen des Geschäfts sehen "
            "oder ändern.") in response.get_data(as_text=True)


def test_the_sign_in_page_is_german_to_its_waits(sold, anon_client):
    set_locale(sold, "de_DE")
    page = anon_client.get("/login").get_data(as_text=True)
    assert "warten Sie 30 Sekunden bis zum nächsten Versuch" in page
    data = {"csrf_token": csrf_from(anon_client, "/login"), "username": "nobody",
            "password": "wrong password"}
    answer = anon_client.post("/login", data=data)
    assert answer.status_code == 401
    assert "Falscher Benutzername oder falsches Passwort." in answer.get_data(as_text=True)


def test_flash_messages_are_german(sold, owner_browser):
    set_locale(sold, "de_DE")
    data = {"csrf_token": csrf_from(owner_browser, "/products/SKU-002/edit"), "sku": "SKU-002",
            "name": "Roggenbrot", "category": "Bakery", "price": "3.10", "stock": "4"}
    page = owner_browser.post("/products/SKU-002/edit", data=data,
                              follow_redirects=True).get_data(as_text=True)
    assert "Artikel SKU-002 gespeichert." in page


def test_the_worker_banner_is_german_on_fresh_and_cached_pages(sold):
    """No worker runs in the tests: every page says so, in the shop's language, also when
    the fast path answers a cached page (an app context, no request)."""
    set_locale(sold, "de_DE")
    german = "Berichte und Bestellverarbeitung sind angehalten: Neustart läuft…"
    with http_session(sold) as http:
        pages = [http.get(http.base + "/products/") for _ in range(2)]
    assert pages[1].headers.get("X-Cache") == "HIT"
    for page in pages:
        assert german in page.text and "Reports and order processing" not in page.text
    set_locale(sold, "en_GB")
    with http_session(sold) as http:
        assert "Reports and order processing are paused: restarting…" in http.get(
            http.base + "/products/").text


def test_the_desk_prices_in_german(sold, client):
    """The order desk's price check (POST /api/orders/price): its error, each field's
    reason, the stock note and the total's summary in the shop's language."""
    set_locale(sold, "de_DE")
    bad = client.post("/api/orders/price", json={"lines": [{"sku": "NOPE", "quantity": 1}]})
    assert bad.status_code == 400
    assert bad.json["fields"]["lines[0].sku"] == "Kein Artikel hat die Artikelnummer 'NOPE'"
    assert bad.json["error"] == ("Für diese Bestellung lässt sich kein Preis berechnen. "
                                 "Zeile 1 Artikel: kein Artikel hat die Artikelnummer 'NOPE'.")
    big = client.post("/api/orders/price", json={"lines": [{"sku": "SKU-001", "quantity": 1}],
                                                 "discount": "9999"})
    assert big.json["error"] == ("Für diese Bestellung lässt sich kein Preis berechnen. "
                                 "Bestellrabatt: der Bestellrabatt ist höher als die "
                                 "Bestellung.")
    short = client.post("/api/orders/price", json={"lines": [{"sku": "SKU-002",
                                                              "quantity": 11}]})
    assert short.json["stock"] == {"SKU-002": "Nur 10 auf Lager"}
    fine = client.post("/api/orders/price", json={"lines": [{"sku": "SKU-002",
                                                             "quantity": 2}]})
    assert fine.json["totals"]["text"]["summary"] == "Summe 7,00\xa0€, 2 Artikel"


def test_an_order_short_of_stock_is_refused_in_german(sold, client):
    set_locale(sold, "de_DE")
    answer = client.post("/api/orders", json={"lines": [{"sku": "SKU-002", "quantity": 11}]})
    assert answer.status_code == 400
    assert answer.json["fields"] == {"lines[0].quantity": "nur 10 auf Lager: verringern Sie "
                                     "die Menge oder buchen Sie zuerst Bestand zu"}
    unknown = client.post("/api/orders", json={"lines": [{"sku": "NOPE", "quantity": 1}]})
    assert unknown.json["fields"] == {"lines[0].sku": "unbekannte Artikelnummer 'NOPE'"}
    # Amounts in a reason are written as the shop writes numbers: 1.000,00, not 1,000.00.
    assert client.patch("/api/products/SKU-002", json={"price": "250.00"}).status_code == 200
    answer = client.post("/api/orders", json={"lines": [{"sku": "SKU-002", "quantity": 4,
                                                         "discount": "1000.01"}]})
    assert answer.json["fields"] == {"lines[0].discount": "mehr als die Zeile (1.000,00)"}


def test_a_refused_refund_or_cancel_is_german(sold, client):
    set_locale(sold, "de_DE")
    with sold.app_context():
        from webapp.extensions import db
        from webapp.models import Order

        order = db.session.get(Order, 1)
        status, ref = order.status, order.ref
    assert status == "processed"  # the tests' worker runs at once
    too_many = client.post("/api/orders/1/refunds", json={
        "reason": "kaputt", "lines": [{"sku": "SKU-001", "quantity": 5}]})
    assert too_many.status_code == 400
    assert too_many.json["fields"]["lines[0].quantity"] == (
        "SKU-001: 2 verkauft, 0 bereits erstattet, also können höchstens 2 erstattet werden")
    other = client.post("/api/orders/1/refunds", json={"reason": "x", "lines": [
        {"sku": "SKU-009", "quantity": 1}]})
    assert other.json["fields"] == {"lines[0].sku": f"Bestellung {ref} hat keine Zeile mit "
                                                    "SKU-009"}
    cancel = client.post("/api/orders/1/cancel", json={"reason": "x"})
    assert cancel.status_code == 400, cancel.json
    assert cancel.json["fields"]["status"].startswith(
        "diese Bestellung ist verarbeitet: eine verkaufte Bestellung wird erstattet")


# ---- PDF, email and files ----------------------------------------------------------------

def _pdf_text(path):
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def test_the_invoice_and_report_pdfs_are_german(sold, tmp_path):
    from datetime import date

    from webapp.extensions import db
    from webapp.invoice_pdf import write_invoice
    from webapp.models import Order
    from webapp.reports import build_report

    set_locale(sold, "de_DE")
    with sold.app_context():
        order = db.session.get(Order, 1)
        write_invoice(order, tmp_path / "invoice.pdf")
        today = order.created_at.date()
        build_report(date(today.year, 1, 1), today, "pdf", tmp_path / "report.pdf")
    invoice = _pdf_text(tmp_path / "invoice.pdf")
    for needle in ("Rechnung", "Rechnung zur Bestellung", order.ref, "Rechnungsempfänger",
                   "Artikelnummer", "Stückpreis", "Summe", "Bezahlt per Karte",
                   f"Datum {order.created_at:%d.%m.%Y}"):
        assert needle in invoice, (needle, invoice)
    assert re.search(r"Summe\s+5,00\s€", invoice), invoice
    assert "Invoice" not in invoice and "Total" not in invoice
    report = _pdf_text(tmp_path / "report.pdf")
    for needle in ("Larder-Umsatzbericht", "Umsatz", "Bestellungen", "Durchschnittlicher "
                   "Bestellwert", "Umsatz nach Monat", "Bestseller", "MwSt. nach Satz",
                   "Seite 1", f"1. Januar {today.year}"):
        assert needle in report, needle
    assert "Revenue" not in report and "Page 1" not in report


def test_the_order_email_is_german(sold):
    from webapp import emails
    from webapp.extensions import db
    from webapp.models import Order

    set_locale(sold, "de_DE")
    with sold.app_context():
        order = db.session.get(Order, 1)
        msg = emails.order_confirmation(order)
        welcome = emails.welcome(order.customer)
        from webapp.low_stock import alert_email
        from webapp.models import Product

        product = db.session.get(Product, 1)
        product.reorder_at = 12
        low, _name = alert_email({"product_id": product.id, "at": "now"})
    assert low["Subject"] == f"Niedriger Bestand: {product.name} ({product.sku})"
    assert "Meldebestand 12" in low.get_content() and "Zeit zum Nachbestellen." in \
        low.get_content()
    body = msg.get_body().get_content()
    assert msg["Subject"] == f"Ihre Bestellung {order.ref}"
    assert "vielen Dank für Ihre Bestellung" in body
    assert "2 x Product 000 (SKU-000)" not in body and "2 x Product 001 (SKU-001) zu 2,50\xa0€" \
        in body
    assert "Summe: 5,00\xa0€" in body and "bezahlt per Karte" in body
    assert f"{order.created_at:%d.%m.%y}" in body  # the date in the German short form
    assert welcome["Subject"] == "Willkommen!"


def test_files_for_machines_keep_their_english_columns(sold):
    """The CSV exports are read back by Larder's import and by other programs: their
    headers and numbers stay the same whatever the shop's language (docs/interface.md);
    only the currency's ISO code is added to a money column's name."""
    from datetime import date

    from webapp.csv_export import export_csv
    from webapp.reports import collect, report_csv
    from webapp.reports.report_lines import HEADER

    set_locale(sold, "de_DE")
    with sold.app_context():
        products = export_csv("products").splitlines()[0]
        report = report_csv.dumps(collect(date(2020, 1, 1), date(2039, 12, 31)))
    assert products == ("sku,name,category,price (EUR),stock,cost (EUR),tax_rate,reorder_at,"
                        "barcode")
    assert report.startswith("section,start,end\n")
    assert "section,orders,gross (EUR),discounts (EUR),refunds (EUR),revenue (EUR)" in report
    assert HEADER[:3] == ("date", "time", "type")


def test_every_pricing_reason_of_the_tax_module_is_in_the_catalog():
    """webapp.tax raises its reasons in English, marked N_ (no request there); ordering
    translates them where shown. A reason raised unmarked, or not translated, would
    reach a German shop in English."""
    import ast

    tree = ast.parse((ROOT / "webapp" / "tax.py").read_text())
    raised = [node.exc.args[0] for node in ast.walk(tree)
              if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
              and getattr(node.exc.func, "id", "") == "PricingError"]
    assert raised and all(isinstance(arg, ast.Call) and arg.func.id == "N_" for arg in raised)
    german = {m.id: m.string for m in catalog() if m.id}
    assert all(german.get(arg.args[0].value) for arg in raised), [
        arg.args[0].value for arg in raised if not german.get(arg.args[0].value)]


def test_every_import_problem_is_marked_for_the_catalog():
    """An import's problems, skip reasons and notes are made in webapp/imports/ (some in a
    forked child that does not translate) and said in the shop's language where the plan
    lists them (records.Reason, records.say). A reason written there as an f-string or an
    unmarked literal would reach a German shop in English."""
    import ast

    reason_at = {"Problem": 2, "ValueProblem": 0, "ReadError": 1, "Reason": 0,
                 "problem": 2, "bad": 1, "skip": 2, "note": 1}
    german = {m.id: m.string for m in catalog() if m.id}
    unmarked, untranslated = [], []
    for path in sorted((ROOT / "webapp" / "imports").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", "")
            if name not in reason_at or len(node.args) <= reason_at[name]:
                continue
            arg = node.args[reason_at[name]]
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if isinstance(arg, (ast.JoinedStr, ast.Constant, ast.BinOp)):
                unmarked.append(where)
            elif isinstance(arg, ast.Call) and getattr(arg.func, "id", "") == "N_":
                if not german.get(arg.args[0].value):
                    untranslated.append(where)
    assert unmarked == [] and untranslated == []


@pytest.mark.parametrize("field, value, german", [
    ("price", "abc", "keine Zahl: 'abc'"), ("price", "-1", "darf nicht negativ sein"),
    ("price", "1000000.01", "zu groß: höchstens 1.000.000,00"),
    ("barcode", "4006381333932", "die letzte Ziffer (die Prüfziffer) passt nicht zu den "
                                 "anderen: prüfen Sie den Code oder scannen Sie ihn")])
def test_a_bad_value_reads_the_same_in_german_on_the_form_the_api_and_the_csv(
        shop, client, owner_browser, field, value, german):
    """One set of rules (webapp/validation.py on webapp/money.py's parsers): the same
    German reason at the form's field, in the API's `fields` and on the import's line."""
    from test_one_set_of_rules import _api_reason, _csv, _form_reason, _upload

    set_locale(shop, "de_DE")
    row = {"sku": "NEU-1", "name": "Brot", "category": "Backwaren", "price": "2.50",
           "stock": "3", field: value}
    token = csrf_from(owner_browser, "/products/new")
    form = _form_reason(owner_browser.post("/products/new",
                                           data={"csrf_token": token, **row}), field)
    api = _api_reason(client.post("/api/products", json=row), field)
    page = html_module.unescape(_upload(owner_browser, token, "products", _csv(row)))
    found = re.search(rf"<li>Zeile 2: {field}: ([^<]*)</li>", page)
    assert found, page[-2000:]
    assert form == api == found.group(1) == german


def test_a_taken_code_and_a_refused_backup_are_german(sold, client, tmp_path):
    """The catalog's one-product rules and the backups' refusals, said by the API and the
    restore in a German shop (an English one below, word for word as before)."""
    from webapp import backups

    set_locale(sold, "de_DE")
    data = {"sku": "SKU-001", "name": "Brot", "category": "Brot", "price": "1", "stock": "1"}
    answer = client.post("/api/products", json=data)
    assert answer.status_code == 400 and answer.json["fields"]["sku"] == "gibt es schon"
    for sku in ("B-1", "B-2"):
        answer = client.post("/api/products", json={**data, "sku": sku,
                                                     "barcode": "4006381333931"})
    assert answer.json["fields"]["barcode"] == ("schon vergeben an den Artikel B-1 (Brot): "
                                                "ein Barcode, ein Artikel")
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("hello")
    for locale, words in (("de_DE", "ist keine Larder-Sicherung (keine SQLite-Datenbank)"),
                          ("en_GB", "is not a Larder backup (not a SQLite database)")):
        set_locale(sold, locale)
        with sold.app_context(), pytest.raises(backups.BackupError) as refused:
            backups.restore(sold, not_a_backup)
        assert str(refused.value) == f"{not_a_backup} {words}"
