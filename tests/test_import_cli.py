"""`larder import FILE [--format NAME] [--sheet NAME] [--dry-run]` and `larder import KIND
FILE`, run as a real process: the summary and plan on stdout; every problem line on
stderr and exit 2 with one `larder: error:` line, nothing written."""
import sqlite3
from pathlib import Path

from tests.test_cli import larder, one_line_error

DATA = Path(__file__).parent / "data" / "imports"


def orders_in(data_dir):
    con = sqlite3.connect(data_dir / "larder.db")
    try:
        return con.execute("SELECT count(*) FROM orders").fetchone()[0]
    finally:
        con.close()


def test_import_a_till_export_then_again(data_dir):
    result = larder(data_dir, "import", str(DATA / "square_items_detail.csv"))
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[0].startswith("Square items detail export, 5 orders, 7 lines, 1 refund, "
                             "2025-06-")
    assert "read as UTF-8" in out and "orders: 5 new" in out and "refunds: 1 new" in out
    assert orders_in(data_dir) == 5
    again = larder(data_dir, "import", str(DATA / "square_items_detail.csv"))
    assert again.returncode == 0 and "orders: 5 unchanged" in again.stdout.splitlines()


def test_dry_run_writes_nothing(data_dir):
    larder(data_dir, "--version")
    result = larder(data_dir, "import", "--dry-run", str(DATA / "shopify_orders.csv"))
    assert result.returncode == 0, result.stderr
    assert "would be orders: 6 new, 2 skipped" in result.stdout
    assert "line 9: order 5550000005: voided" in result.stdout
    assert result.stdout.rstrip().endswith("dry run: nothing was written")
    assert orders_in(data_dir) == 0


def test_problems_are_listed_and_exit_2(data_dir, tmp_path):
    bad = tmp_path / "bad.csv"
    text = (DATA / "sumup_sales_2023_en.csv").read_text(encoding="utf-8")
    bad.write_text(text.replace(",2,Kaffee ,", ",zwei,Kaffee ,").replace(",18.50,", ",18.5.0,"),
                   encoding="utf-8")
    result = larder(data_dir, "import", str(bad))
    assert one_line_error(result).endswith("bad.csv: 2 bad row(s), nothing imported")
    assert f"{bad}: line 2: Quantity: " in result.stderr
    assert f"{bad}: line 4: Price (Gross): " in result.stderr
    assert orders_in(data_dir) == 0


def test_format_and_kind(data_dir, tmp_path):
    products = tmp_path / "products.csv"
    products.write_text("sku,name,category,price,stock\nA-1,Apple,Produce,0.50,10\n")
    result = larder(data_dir, "import", "products", str(products))
    assert result.returncode == 0 and "products: 1 new" in result.stdout
    wrong = larder(data_dir, "import", "--format", "square_items", str(products))
    assert "not a Square items detail export" in one_line_error(wrong) or \
        "not a Square items detail export" in wrong.stderr
    unknown = larder(data_dir, "import", "--format", "tally", str(products))
    assert "unknown format 'tally'" in unknown.stderr and unknown.returncode == 2
    not_a_kind = larder(data_dir, "import", "things", str(products))
    assert "'things' is not one of" in one_line_error(not_a_kind)


def test_an_unknown_file_says_what_is_expected(data_dir, tmp_path):
    odd = tmp_path / "odd.csv"
    odd.write_text("a,b,c\n1,2,3\n")
    result = larder(data_dir, "import", str(odd))
    assert result.stderr.strip() == one_line_error(result)  # the file refused whole
    assert "line 1: header: not a file Larder knows (columns: a, b, c)" in result.stderr
    assert one_line_error(result).endswith("; nothing imported")


def test_a_missing_file_or_a_folder_is_one_line(data_dir, tmp_path):
    missing = tmp_path / "nope.csv"
    assert one_line_error(larder(data_dir, "import", str(missing))) == \
        f"larder: error: cannot read {missing}: no such file"
    assert one_line_error(larder(data_dir, "import", str(tmp_path))) == \
        f"larder: error: cannot read {tmp_path}: it is a folder"


def _padded(path, text, size):
    """`text` followed by rows of blank cells (skipped when read) up to `size` bytes."""
    width = text.splitlines()[0].count(",") + 2
    blank = " " * 1000 + "," * width + "\n"  # more cells than the header, all blank
    path.write_text(text + blank * (size // len(blank) + 1), encoding="utf-8")
    return path


def test_a_german_shop_hears_the_bad_rows_in_german(data_dir, tmp_path):
    """LARDER_LOCALE=de_DE: the bad rows' reasons in German, and the command's own words
    (desktop/cli_words.py). The files are big enough to be read by a forked child (pipeline.MIN_BYTES):
    the shared rules' reasons (a products file) and the till formats' (a SumUp export)
    are said in German there too."""
    from webapp.imports.pipeline import MIN_BYTES

    german = {"LARDER_LOCALE": "de_DE"}
    products = _padded(tmp_path / "products.csv", "sku,name,category,price,stock\n"
                       "A-1,Apple,Produce,abc,10\nA-2,Pear,Produce,-2,3\n", MIN_BYTES)
    sumup = tmp_path / "sumup.csv"
    text = (DATA / "sumup_sales_2023_en.csv").read_text(encoding="utf-8")
    _padded(sumup, text.replace(",2,Kaffee ,", ",zwei,Kaffee ,"), MIN_BYTES)
    assert products.stat().st_size >= MIN_BYTES and sumup.stat().st_size >= MIN_BYTES

    result = larder(data_dir, "import", str(products), env=german)
    assert one_line_error(result).endswith("products.csv: 2 fehlerhafte Zeile(n), nichts importiert")
    assert f"{products}: Zeile 2: price: keine Zahl: 'abc'" in result.stderr
    assert f"{products}: Zeile 3: price: darf nicht negativ sein" in result.stderr
    result = larder(data_dir, "import", str(sumup), env=german)
    assert (f"{sumup}: Zeile 2: Quantity: keine Menge: 'zwei' (erwartet eine ganze Zahl "
            "wie 2)") in result.stderr
    english = larder(data_dir, "import", str(sumup), env={"LARDER_LOCALE": "en_GB"})
    assert (f"{sumup}: line 2: Quantity: not a quantity: 'zwei' (expected a whole number "
            "like 2)") in english.stderr
    assert orders_in(data_dir) == 0
