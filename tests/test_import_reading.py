"""Reading files as people save them: encodings, delimiters, BOMs, line ends, .xlsx, and a
broken file naming every bad line (webapp/imports/reading.py)."""
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from webapp.imports.reading import ReadError, cell_text, open_table
from webapp.imports.records import Problem

ROWS = [["email", "name", "city"],
        ["eloise@example.com", "Éloïse Exemple", "Besançon"],
        ["ines@example.com", "Inès, « Exemple »", "Saint-Étienne"]]


def write(path, rows, delimiter=",", encoding="utf-8", newline="\r\n"):
    def cell(value):
        if any(ch in value for ch in (delimiter, '"', "\n")):
            return '"' + value.replace('"', '""') + '"'
        return value
    text = newline.join(delimiter.join(cell(v) for v in row) for row in rows) + newline
    path.write_bytes(text.encode(encoding))
    return path


def read_all(path, **kwargs):
    with open_table(path, **kwargs) as table:
        return table.header, list(table), table.encoding, table.delimiter


@pytest.mark.parametrize("encoding, label", [
    ("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8 with BOM"), ("cp1252", "Windows-1252"),
    ("utf-16", "UTF-16")])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_encodings_and_delimiters(tmp_path, encoding, label, delimiter):
    path = write(tmp_path / "c.csv", ROWS, delimiter, encoding)
    header, rows, used, found = read_all(path)
    assert (header, used, found) == (ROWS[0], label, delimiter)
    assert rows == [(2, ROWS[1]), (3, ROWS[2])]   # é, ï, ç, É, « » exact; no BOM in "email"


def test_excel_unicode_text_is_utf16_tabs_crlf(tmp_path):
    # Excel's "Unicode Text (*.txt)": UTF-16 LE with a BOM, tab-separated, CRLF
    path = tmp_path / "u.txt"
    path.write_bytes(b"\xff\xfe" + "sku\tname\r\nCAF-1\tCafé\r\n".encode("utf-16-le"))
    assert read_all(path) == (["sku", "name"], [(2, ["CAF-1", "Café"])], "UTF-16", "\t")


def test_lone_cr_and_lf_line_ends_and_blank_rows(tmp_path):
    for newline in ("\n", "\r"):
        path = write(tmp_path / "n.csv", [ROWS[0], ROWS[1], ["", "", ""], ROWS[2]],
                     newline=newline)
        assert [line for line, _ in read_all(path)[1]] == [2, 4]


def test_a_quoted_cell_over_several_lines_keeps_line_numbers(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('sku,body\nA,"one\ntwo\nthree"\nB,x\n', encoding="utf-8")
    assert read_all(path)[1] == [(2, ["A", "one\ntwo\nthree"]), (5, ["B", "x"])]


def test_a_broken_file_names_every_bad_line(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("sku,name,price\n"
                    "A,Mug,1.00\n"
                    "B,Tote\n"                      # a cell missing
                    "C,Card,2.00\n"
                    "D,Bowl,3.00,extra\n"           # a cell too many
                    "E,Cup,4.00,,\n"                # empty extra cells: accepted
                    'F,"Pen"x,5.00\n'               # a quote in the wrong place
                    "G,Ink,6.00\n", encoding="utf-8")
    with open_table(path) as table:
        rows = list(table)
    problems = [str(r) for r in rows if isinstance(r, Problem)]
    assert problems == [
        "line 3: row: expected 3 cells as in the header, found 2",
        "line 5: row: expected 3 cells as in the header, found 4",
        "line 7: row: the row cannot be read (',' expected after '\"'); check its quotes"]
    good = [r[0] for r in rows if not isinstance(r, Problem)]
    assert good == [2, 4, 6, 8]                     # reading goes on after each bad line


def test_files_that_are_no_table(tmp_path):
    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    with pytest.raises(ReadError, match="line 1: file: the file is empty"):
        open_table(empty)
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"sku,name\nA,ok\nB,\x81\x8d\n")   # bytes neither UTF-8 nor cp1252
    with pytest.raises(ReadError, match=r"line 3: file: not a text file in UTF-8 or "
                                        r"Windows-1252 \(byte 0x81\)"):
        open_table(binary)


def test_workbooks_larder_cannot_read_say_so(tmp_path):
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    with pytest.raises(ReadError, match=r"old Excel workbook \(.xls\); save it as .xlsx"):
        open_table(old)
    import zipfile
    with zipfile.ZipFile(tmp_path / "c.ods", "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    with pytest.raises(ReadError, match=r"line 1: file: not a readable .xlsx workbook"):
        open_table(tmp_path / "c.ods")


def make_workbook(path):
    book = Workbook()
    first = book.active
    first.title = "Orders"
    first.append(["order_ref", "created_at", "customer_email", "sku", "quantity",
                  "unit_price"])
    first.append(["X-1", datetime(2025, 12, 31, 9, 15), "a@example.com", "MUG-01", 2, 7.5])
    first.append([None] * 6)                            # an empty row
    first.append(["X-2", date(2026, 1, 15), "b@example.com", "CARD-05", 3.0, 18])
    first.append(["X-3", "15/01/2026", "c@example.com", "TOTE-02", 1, 0.1 + 0.2])
    other = book.create_sheet("Customers")
    other.append(["email", "name", "country"])
    other.append(["a@example.com", "Zoé", "France"])
    book.save(path)
    return path


def test_xlsx_first_sheet_with_typed_cells(tmp_path):
    header, rows, encoding, delimiter = read_all(make_workbook(tmp_path / "w.xlsx"))
    assert (encoding, delimiter) == ("Excel workbook", "")
    assert header[0] == "order_ref"
    assert rows == [
        (2, ["X-1", "2025-12-31 09:15:00", "a@example.com", "MUG-01", "2", "7.5"]),
        (4, ["X-2", "2026-01-15 00:00:00", "b@example.com", "CARD-05", "3", "18"]),
        (5, ["X-3", "15/01/2026", "c@example.com", "TOTE-02", "1", "0.3"])]


def test_spreadsheet_numbers_read_as_shown():
    assert [cell_text(v) for v in (0.1 + 0.2, 7.5, 3.0, 1e-05, 1234567.891, 1.25, True,
                                   None)] == [
        "0.3", "7.5", "3", "0.00001", "1234567.8910", "1.25", "true", ""]


def test_xlsx_chosen_sheet_and_a_missing_one(tmp_path):
    path = make_workbook(tmp_path / "w.xlsx")
    header, rows, _, _ = read_all(path, sheet="Customers")
    assert header == ["email", "name", "country"] and rows == [(2, ["a@example.com", "Zoé",
                                                                    "France"])]
    with pytest.raises(ReadError, match="line 1: sheet: the workbook has no sheet 'Nope'; "
                                        "its sheets: Orders, Customers"):
        open_table(path, sheet="Nope")


def test_damaged_text_after_a_bom_is_a_line_not_a_crash(tmp_path):
    path = tmp_path / "d.txt"
    good = "sku\tname\r\nA\tMug\r\n".encode("utf-16-le")
    path.write_bytes(b"\xff\xfe" + good + b"\x00\xd8\x41\x00\r\x00\n\x00")  # a lone surrogate
    with pytest.raises(ReadError, match="line 3: file: the text is damaged: bytes that are "
                                        "not valid UTF-16"):
        open_table(path)
