"""The command line: serve, import, demo, user add, --version; exit 2 on bad input."""
import json
import os
import signal
import subprocess
import sys
import time

import requests

from webapp import __version__


def larder(data_dir, *args, input=None, env=None):
    return subprocess.run(
        [sys.executable, "-m", "desktop", "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, input=input, timeout=120,
        env={**os.environ, **(env or {})},
    )


def one_line_error(result):
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("larder: error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[-1]


def test_version(data_dir):
    result = larder(data_dir, "--version")
    assert result.returncode == 0 and __version__ in result.stdout


def test_bad_arguments_exit_2_with_one_line(data_dir, tmp_path):
    assert "No such command" in one_line_error(larder(data_dir, "frobnicate"))
    assert "'things' is not one of" in one_line_error(larder(data_dir, "import", "things", "x.csv"))
    error = one_line_error(larder(data_dir, "import", "products", str(tmp_path / "missing.csv")))
    assert "cannot read" in error and "missing.csv" in error
    assert len(larder(data_dir, "serve", "--port", "70000").stderr.strip().splitlines()) == 1


def test_import_via_cli(data_dir, tmp_path):
    good = tmp_path / "products.csv"
    good.write_text("sku,name,category,price,stock\nA-1,Apple,Produce,0.50,10\n")
    result = larder(data_dir, "import", "products", str(good))
    assert result.returncode == 0 and "1 new" in result.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,name,category,price,stock\nB-1,Bread,Bakery,abc,3\n")
    result = larder(data_dir, "import", "products", str(bad))
    assert one_line_error(result).endswith("1 bad row(s), nothing imported")
    assert "line 2: price:" in result.stderr


def test_demo_and_user_add(data_dir):
    result = larder(data_dir, "demo", "--orders", "300")
    assert result.returncode == 0 and "300 orders" in result.stdout
    assert "use --replace" in one_line_error(larder(data_dir, "demo", "--orders", "10"))
    result = larder(data_dir, "user", "add", "sam", "--password", "longpassword")
    assert result.returncode == 0
    assert "already exists" in one_line_error(
        larder(data_dir, "user", "add", "sam", "--password", "longpassword"))
    assert "8 characters" in one_line_error(
        larder(data_dir, "user", "add", "kim", input="short\nshort\n"))


def test_serve_writes_server_json_and_stops_cleanly(data_dir):
    proc = subprocess.Popen(
        [sys.executable, "-m", "desktop", "--data-dir", str(data_dir), "serve"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info_file = data_dir / "server.json"
        deadline = time.time() + 30
        while not info_file.exists() and time.time() < deadline:
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.05)
        info = json.loads(info_file.read_text())
        assert set(info) == {"url", "port", "token", "pid"} and info["pid"] == proc.pid
        assert info["url"] == f"http://127.0.0.1:{info['port']}"
        assert oct(info_file.stat().st_mode & 0o777) == "0o600"
        assert oct(data_dir.stat().st_mode & 0o777) == "0o700"
        line = proc.stdout.readline() + proc.stdout.readline()
        assert f"{info['url']}/?token={info['token']}" in line
        assert requests.get(f"{info['url']}/health", timeout=5).status_code == 200
        assert requests.get(f"{info['url']}/api/stats", timeout=5).status_code == 401
        authed = requests.get(f"{info['url']}/api/stats", timeout=5,
                              headers={"Authorization": f"Bearer {info['token']}"})
        assert authed.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    assert proc.returncode == 0
    assert not (data_dir / "server.json").exists()


def test_serve_refuses_lan_without_allowed_hosts(data_dir):
    error = one_line_error(larder(data_dir, "serve", "--host", "0.0.0.0"))
    assert "LARDER_ALLOWED_HOSTS" in error


def test_report_command_writes_each_format(data_dir, tmp_path):
    import csv as csv_module

    from pypdf import PdfReader

    assert larder(data_dir, "demo", "--orders", "800").returncode == 0
    for fmt in ("pdf", "csv", "json"):
        out = tmp_path / f"r.{fmt}"
        result = larder(data_dir, "report", "--from", "2025-01-01", "--to", "2025-12-31",
                        "--format", fmt, "-o", str(out))
        assert result.returncode == 0, result.stderr
        assert "100%" in result.stderr  # the progress bar ran to the end
        assert f"wrote {out}" in result.stdout
    data = json.loads((tmp_path / "r.json").read_text())
    orders = data["totals"]["orders"]
    assert orders > 0 and f"{orders} orders" in result.stdout
    rows = list(csv_module.reader((tmp_path / "r.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert any(row[:2] == ["totals", str(orders)] for row in rows)
    text = PdfReader(tmp_path / "r.pdf").pages[0].extract_text()
    assert f"{orders:,}" in text


def test_report_of_an_empty_range_is_zeros(data_dir, tmp_path):
    out = tmp_path / "empty.json"
    result = larder(data_dir, "report", "--from", "1990-01-01", "--to", "1990-01-31",
                    "--format", "json", "-o", str(out))
    assert result.returncode == 0
    assert json.loads(out.read_text())["totals"] == {
        "orders": 0, "gross": 0.0, "discounts": 0.0, "refunds": 0.0, "revenue": 0.0,
        "tax": 0.0, "net": 0.0, "cost": 0.0, "margin": 0.0, "lines_without_cost": 0,
        "average_order_value": 0.0, "new_customers": 0}
    assert '"revenue": 0.00' in out.read_text()


def test_report_command_bad_input(data_dir, tmp_path):
    base = ["report", "--format", "pdf"]
    assert "bad date '2025-13-01'" in one_line_error(
        larder(data_dir, *base, "--from", "2025-13-01", "--to", "2025-12-31", "-o", "x.pdf"))
    assert "is after the end" in one_line_error(
        larder(data_dir, *base, "--from", "2025-02-01", "--to", "2025-01-01", "-o", "x.pdf"))
    error = one_line_error(larder(data_dir, *base, "--from", "2025-01-01", "--to", "2025-01-31",
                                  "-o", str(tmp_path / "no" / "such" / "dir" / "x.pdf")))
    assert error.startswith("larder: error: cannot write")
    assert "is a directory" in one_line_error(
        larder(data_dir, *base, "--from", "2025-01-01", "--to", "2025-01-31", "-o", str(tmp_path)))


# ---- the shop's language (docs/interface.md, "Languages") ---------------------------------

def test_the_cli_speaks_german_in_a_german_shop(data_dir, tmp_path):
    """larder.toml's locale, read before the app is made (an error about the arguments)
    and after (a result): the same catalog as the pages; exit codes and the
    "larder: error: " prefix unchanged."""
    (data_dir / "larder.toml").write_text('[shop]\nlocale = "de_DE"\n')
    missing = tmp_path / "missing.csv"
    assert one_line_error(larder(data_dir, "import", "products", str(missing))) == \
        f"larder: error: {missing} lässt sich nicht lesen: die Datei gibt es nicht"
    added = larder(data_dir, "user", "add", "sam", "--password", "longpassword")
    assert added.returncode == 0 and added.stdout == "Personalkonto sam angelegt\n"
    assert larder(data_dir, "user", "disable", "sam").stdout == \
        "sam gesperrt (überall abgemeldet)\n"
    assert larder(data_dir, "user", "list").stdout.split("\t")[:3] == \
        ["sam", "Personal", "gesperrt"]
    assert larder(data_dir, "user", "enable", "sam").stdout == "sam entsperrt\n"
    checked = larder(data_dir, "figures", "check")
    assert checked.returncode == 0
    assert checked.stdout == "die Tageszahlen stimmen mit den Bestellungen überein\n"


def test_the_cli_follows_the_locale_saved_on_the_settings_page(data_dir, tmp_path):
    from webapp import create_app, settings
    from webapp.extensions import db

    app = create_app(data_dir=data_dir)
    with app.app_context():
        settings.save({"locale": "de_AT"})
        db.engine.dispose()
    error = one_line_error(larder(data_dir, "import", "things", "x.csv"))
    assert error == ("larder: error: „things“ ist keins von 'products', 'customers', "
                     "'orders'")
    backup = larder(data_dir, "backup", "-o", str(tmp_path / "copy.db"))
    assert backup.returncode == 0, backup.stderr
    assert backup.stdout.startswith(f"gesichert nach {tmp_path / 'copy.db'} (")
    assert backup.stdout.endswith(" MB, Prüfung in Ordnung)\n")


def test_an_english_shop_keeps_the_cli_words(data_dir, tmp_path):
    """en_GB, and a locale without a catalog (fr_FR): the words as written."""
    for locale in ("en_GB", "fr_FR"):
        env = {"LARDER_LOCALE": locale}
        assert one_line_error(larder(data_dir, "import", "things", "x.csv", env=env)) == \
            "larder: error: 'things' is not one of 'products', 'customers', 'orders'"
        assert larder(data_dir, "figures", "check", env=env).stdout == \
            "the daily figures agree with the orders\n"


def test_a_failure_that_ends_a_command_is_said_in_the_shops_language(tmp_path):
    """desktop/failures.py: the disk, a file, the database, anything else, in German for a
    German shop and as before for an English one."""
    import errno
    import sqlite3

    from desktop import cli_words
    from desktop.failures import failure_message

    full = OSError(errno.ENOSPC, "No space left on device")
    gone = FileNotFoundError(errno.ENOENT, "No such file or directory", "/x/y.csv")
    cases = [(full, "der Datenträger ist voll (beim Schreiben in /data): schaffen Sie "
                    "Platz und versuchen Sie es erneut",
              "the disk is full (while writing to /data): free some space, then try again"),
             (gone, "/x/y.csv kann nicht benutzt werden: No such file or directory",
              "cannot use /x/y.csv: No such file or directory"),
             (sqlite3.DatabaseError("file is not a database"),
              "die Datenbank konnte nicht benutzt werden: file is not a database",
              "the database could not be used: file is not a database"),
             (KeyError("x"), "unerwarteter Fehler: KeyError: 'x'",
              "unexpected error: KeyError: 'x'")]
    try:
        for locale, column in (("de_DE", 1), ("en_GB", 2)):
            cli_words.use_locale(locale)
            for case in cases:
                assert failure_message(case[0], "/data")[0] == case[column]
    finally:
        cli_words.use_data_dir(None)
