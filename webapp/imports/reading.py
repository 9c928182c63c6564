"""Open a file as a header and a stream of rows, whatever spreadsheet or till saved it.

    with open_table(path) as table:       # or open_table(path, sheet="Orders")
        table.header      # ["Name", "Email", ...] (stripped, BOM removed)
        table.encoding    # "UTF-8", "UTF-8 with BOM", "UTF-16", "Windows-1252", "Excel workbook"
        table.delimiter   # ",", ";", "\t" ("" for .xlsx)
        for row in table: # (line, [cells as text]) or a Problem for a bad line
            ...
        table.fraction_read()   # 0.0 .. 1.0, for a progress bar

Rows are read one at a time (csv module over a decoding stream, openpyxl's read-only
mode), so memory does not grow with the file. Line numbers are the file's physical lines
as an editor shows them (a quoted cell with newlines makes one row span several), or the
spreadsheet's row numbers. Blank rows (`,,,,` too) are skipped. A row with more cells than
the header is accepted when the extra cells are empty (spreadsheets pad rows); otherwise a
row of the wrong width is a Problem naming its line, and reading goes on, so a broken file
names every bad line.

Encoding: a BOM says UTF-8 or UTF-16; else the whole file is checked as UTF-8 (one fast
pass); else Windows-1252 (what Excel's plain "CSV" writes in Western Europe). Delimiter:
whichever of `,` `;` tab is most common outside quotes in the header line.
"""
import codecs
import csv
import io
import os
from datetime import date, datetime, time
from decimal import Decimal

from ..i18n import N_
from .records import Problem, Reason

CHUNK = 1 << 20
# A cell may hold a long product description, but a quote left open must not swallow
# the whole file into one cell: csv refuses a cell above this (bounded memory).
csv.field_size_limit(max(csv.field_size_limit(), 1 << 20))
ENCODINGS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "utf-16": "UTF-16",
             "cp1252": "Windows-1252"}

_CELLS = N_("expected %(width)s cells as in the header, found %(found)s")


class ReadError(ValueError):
    """The file cannot be read at all; str() is `line N: file: reason`."""

    def __init__(self, line, reason, column="file"):
        self.problem = Problem(line, column, reason)
        super().__init__(str(self.problem))


class Table:
    def __init__(self, header, rows, encoding, delimiter, close, progress, sheet=""):
        self.header, self._rows, self.encoding = header, rows, encoding
        self.delimiter, self.sheet = delimiter, sheet
        self._close, self._progress = close, progress

    def __iter__(self):
        return self._rows

    def fraction_read(self):
        return self._progress()

    def close(self):
        self._close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_table(path, sheet=None):
    """Open a CSV/TSV/TXT or .xlsx file; raises ReadError when it is no table at all."""
    with open(path, "rb") as probe:
        start = probe.read(4)
    if start.startswith(b"PK\x03\x04"):
        return _open_xlsx(path, sheet)
    if start.startswith(b"\xd0\xcf\x11\xe0"):
        raise ReadError(1, N_("this is an old Excel workbook (.xls); save it as .xlsx or CSV"))
    if sheet:
        raise ReadError(1, Reason(N_("this is a text file, not a workbook: there is no sheet "
                                     "%(sheet)r"), sheet=sheet))
    return _open_csv(path, start)


# ---- CSV -----------------------------------------------------------------------------

def _encoding(path, start):
    declared = None
    if start.startswith(codecs.BOM_UTF8):
        declared = "utf-8-sig"
    elif start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        declared = "utf-16"
    elif len(start) >= 4 and start[1] == 0 and start[3] == 0 and start[0] and start[2]:
        declared = "utf-16-le"  # UTF-16 without a BOM: every other byte is zero
    if declared:
        bad = _first_bad_byte(path, declared)
        if bad:
            raise ReadError(bad[0], Reason(N_("the text is damaged: bytes that are not valid "
                                              "%(encoding)s"),
                                           encoding=ENCODINGS.get(declared, "UTF-16")))
        return declared
    for encoding in ("utf-8", "cp1252"):
        bad = _first_bad_byte(path, encoding)
        if bad is None:
            return encoding
        if encoding == "cp1252":
            line, byte = bad
            raise ReadError(line, Reason(N_("not a text file in UTF-8 or Windows-1252 (byte "
                                            "%(byte)s); save it as CSV UTF-8"),
                                         byte=f"0x{byte:02X}"))
    raise AssertionError("unreachable")


def _first_bad_byte(path, encoding):
    """None when the whole file decodes; else (line, byte value) of the first bad byte."""
    decoder = codecs.getincrementaldecoder(encoding)()
    newline = b"\n\0" if encoding.startswith("utf-16") else b"\n"
    lines = 1
    with open(path, "rb") as stream:
        while True:
            chunk = stream.read(CHUNK)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                byte = chunk[exc.start] if 0 <= exc.start < len(chunk) else 0
                return lines + chunk.count(newline, 0, max(exc.start, 0)), byte
            if newline == b"\n" and b"\0" in chunk:  # NUL: not text (UTF-16 has them)
                return lines + chunk.count(b"\n", 0, chunk.index(b"\0")), 0
            if not chunk:
                return None
            lines += chunk.count(newline)


def _delimiter(line):
    counts, quoted = {",": 0, ";": 0, "\t": 0}, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _open_csv(path, start):
    encoding = _encoding(path, start)
    raw = open(path, "rb")
    text = io.TextIOWrapper(raw, encoding=encoding, newline="")
    try:
        first = text.readline()
        line = 1
        while first and not first.strip().strip(",;\t"):  # blank lines before the header
            first, line = text.readline(), line + 1
        if not first:
            raise ReadError(1, N_("the file is empty"))
        delimiter = _delimiter(first)
        reader = csv.reader(_chain(first, text), delimiter=delimiter, strict=True)
        header = [cell.strip().lstrip("\ufeff").strip() for cell in next(reader)]
    except (ReadError, csv.Error) as exc:
        text.close()
        if isinstance(exc, ReadError):
            raise
        raise ReadError(1, Reason(N_("the header line cannot be read (%(error)s)"),
                                  error=str(exc))) from None
    label = ENCODINGS.get(encoding, "UTF-16")
    size = os.path.getsize(path) or 1
    return Table(header, _csv_rows(reader, len(header), line - 1),
                 label, delimiter, text.close, lambda: min(raw.tell() / size, 1.0))


def _chain(first, rest):
    yield first
    yield from rest


def _csv_rows(reader, width, offset):
    """(line, cells) per record; `offset` turns the reader's line count into file lines."""
    end = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line, end = offset + end + 1, reader.line_num
            yield Problem(line, "row", Reason(N_("the row cannot be read (%(error)s); check "
                                                 "its quotes"), error=str(exc)))
            continue
        except UnicodeDecodeError:  # only a file with a BOM is decoded unchecked
            yield Problem(offset + end + 1, "file", N_("the text is damaged from this line on "
                                                       "(bytes that are not valid Unicode)"))
            return
        line, end = offset + end + 1, reader.line_num
        if len(cells) != width:
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > width and not any(cell.strip() for cell in cells[width:]):
                cells = cells[:width]
            else:
                yield Problem(line, "row", Reason(_CELLS, width=width, found=len(cells)))
                continue
        elif not cells[0] and not any(cell.strip() for cell in cells):
            continue
        yield line, cells


# ---- xlsx ----------------------------------------------------------------------------

def cell_text(value):
    """A typed spreadsheet cell -> the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        # The 15 significant digits Excel shows: a sum like 0.1 + 0.2 reads "0.3", as
        # the user saw it, and never "1e-05".
        text = format(Decimal(format(value, ".15g")).normalize(), "f")
        # "1.234" would read as 1,234 where "." groups thousands (de, fr with "."):
        # a typed number's three decimals are written four, so they stay decimals.
        whole, dot, decimals = text.partition(".")
        return text + "0" if len(decimals) == 3 else text
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)


def _open_xlsx(path, sheet):
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, InvalidFileException) as exc:
        raise ReadError(1, Reason(N_("not a readable .xlsx workbook (an .ods or damaged "
                                     "file?); save it as .xlsx or CSV (%(error)s)"),
                                  error=str(exc))) from None
    try:
        if sheet:
            if sheet not in book.sheetnames:
                raise ReadError(1, Reason(N_("the workbook has no sheet %(sheet)r; its sheets: "
                                             "%(sheets)s"), sheet=sheet,
                                          sheets=", ".join(book.sheetnames)), column="sheet")
            ws = book[sheet]
        else:
            ws = book.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        line, header = 0, None
        for line, values in enumerate(rows, 1):
            header = [cell_text(v).strip() for v in values]
            if any(header):
                break
        if not header or not any(header):
            raise ReadError(1, N_("the sheet is empty"), column="sheet")
        while header and not header[-1]:
            header.pop()
    except BaseException:
        book.close()
        raise
    total = max(ws.max_row or 1, 1)
    state = {"line": line}

    def stream():
        width = len(header)
        for number, values in enumerate(rows, line + 1):
            state["line"] = number
            cells = [cell_text(v) for v in values]
            if len(cells) > width:
                if any(c.strip() for c in cells[width:]):
                    yield Problem(number, "row", Reason(_CELLS, width=width, found=len(cells)))
                    continue
                cells = cells[:width]
            if not any(c.strip() for c in cells):
                continue
            cells += [""] * (width - len(cells))  # a sheet's row ends at its last value
            yield number, cells

    return Table(header, stream(), "Excel workbook", "", book.close,
                 lambda: min(state["line"] / total, 1.0), sheet=ws.title)
