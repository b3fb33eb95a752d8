"""The one spreadsheet writer (XLSX and CSV) behind every download of the project.

Every export (the admin's master export, the master-data pages, recalls, the audit trail,
the finance tables) hands its rows here, so one place decides how a value becomes a cell:

- **Text is never a formula.** A name such as ``=HYPERLINK("http://x","y")`` typed by a
  supplier or arriving from HIS would otherwise run in Excel or WPS when finance opens the
  file (CSV injection). Following OWASP's advice, text that begins with ``=``, ``+``, ``-``,
  ``@``, a tab, a carriage return or a line feed (and their full-width forms ``＝＋－＠``,
  which a Chinese input method types and some spreadsheet programs accept as the same
  operators) gets a leading single quote, in CSV and in XLSX alike: in XLSX the cell is
  also stored as a string, and the quote keeps it text when someone edits the cell or
  saves the sheet back as CSV.
- **Numbers stay numbers.** ``int``, ``float`` and ``Decimal`` are numeric cells (finance
  adds them up in Excel); a negative number is a number, not text, so ``-3`` is written as
  it is. Codes are text (``str``), so leading zeros survive.
- **Dates stay dates**: XLSX date and date-time cells in Asia/Shanghai local time; in CSV
  ``YYYY-MM-DD`` and ``YYYY-MM-DD HH:MM:SS``.

CSV carries a UTF-8 byte-order mark so Excel on a hospital PC opens the Chinese text
correctly instead of guessing GBK. This module lives in ``config`` (the ground floor) so
that every app may use it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.http import HttpResponse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.http import content_disposition_header

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
FORMATS = ("xlsx", "csv")

# OWASP "CSV Injection": = + - @ tab CR, plus LF and the full-width operators.
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n＝＋－＠")

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
DECIMAL_FORMAT = "0.00##"
TEXT_FORMAT = "@"


@dataclass(frozen=True)
class Column:
    """A column of a download: the row key, its heading, and (XLSX only) how Excel shows
    the cell (``"#,##0.00"`` for money, ``"@"`` for a code)."""

    key: str
    label: str
    number_format: str | None = None


ColumnSpec = str | tuple[str, str] | Column


def as_columns(columns: Sequence[ColumnSpec]) -> list[Column]:
    """Columns from keys, ``(key, label)`` pairs or ``Column`` objects."""
    out = []
    for c in columns:
        if isinstance(c, Column):
            out.append(Column(c.key, str(c.label), c.number_format))
        elif isinstance(c, str):
            out.append(Column(c, c))
        else:
            # str(): a label may be a lazy translation, which openpyxl does not take as text.
            out.append(Column(c[0], str(c[1])))
    return out


def safe_text(text: str) -> str:
    """``text`` that no spreadsheet program reads as a formula (OWASP: a leading quote)."""
    if text and text[0] in FORMULA_TRIGGERS:
        return "'" + text
    return text


def cell_value(value):
    """A Python value as what the cell holds: neutralised text, a number, a (naive, local)
    date or date-time, or None for an empty cell."""
    if value is None:
        return None
    if isinstance(value, bool):  # before int: a flag is 1/0 as the import format has it
        return "1" if value else "0"
    if isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value).replace(tzinfo=None)
        return value
    if isinstance(value, dt.date):
        return value
    if isinstance(value, Promise):  # a translated label: text in the user's language
        value = str(value)
    return safe_text(value if isinstance(value, str) else str(value))


def csv_text(value) -> str:
    """A cell value (from ``cell_value``) as CSV text."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def decimal_text(value: Decimal) -> str:
    """Money as plain text with its significant places, at least two (700.0000 -> 700.00,
    12.3456 stays), never in exponent notation."""
    places = max(2, -value.normalize().as_tuple().exponent)
    return format(value.quantize(Decimal(1).scaleb(-places)), "f")


def _values(row, keys: list[str]) -> list:
    if isinstance(row, Mapping):
        return [cell_value(row.get(k)) for k in keys]
    return [cell_value(v) for v in row]


def _heading(column: Column, header: str) -> str:
    return safe_text(column.key if header == "key" else column.label)


def write_csv(rows: Iterable, columns: Sequence[ColumnSpec], *, header: str = "key") -> bytes:
    """CSV bytes with a UTF-8 BOM. ``header``: ``key`` (a file that imports back) or
    ``label`` (a report for people). ``rows``: mappings by key or sequences in column
    order."""
    cols = as_columns(columns)
    keys = [c.key for c in cols]
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([_heading(c, header) for c in cols])
    for row in rows:
        writer.writerow([csv_text(v) for v in _values(row, keys)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _number_format(column: Column | None, value) -> str | None:
    if column is not None and column.number_format:
        return column.number_format
    if isinstance(value, dt.datetime):
        return DATETIME_FORMAT
    if isinstance(value, dt.date):
        return DATE_FORMAT
    if isinstance(value, Decimal):
        return DECIMAL_FORMAT
    return None


def write_xlsx(
    rows: Iterable,
    columns: Sequence[ColumnSpec],
    *,
    header: str = "key",
    title: str | None = None,
    sheet: str = "Sheet1",
) -> bytes:
    """XLSX bytes: an optional bold ``title`` row, then the bold, frozen header row, then
    the rows. Text cells are strings (never formulas), numbers numeric, dates dates."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    cols = as_columns(columns)
    keys = [c.key for c in cols]
    workbook = Workbook()
    ws = workbook.active
    ws.title = sheet[:31] or "Sheet1"
    bold = Font(bold=True)
    r = 0
    if title:
        r += 1
        _put(ws, r, 1, cell_value(title)).font = bold
    r += 1
    for i, c in enumerate(cols, start=1):
        _put(ws, r, i, _heading(c, header)).font = bold
    ws.freeze_panes = ws.cell(row=r + 1, column=1).coordinate
    widths = [len(_heading(c, header)) for c in cols]
    for row in rows:
        r += 1
        values = _values(row, keys)
        for i, value in enumerate(values):
            column = cols[i] if i < len(cols) else None
            _put(ws, r, i + 1, value, _number_format(column, value))
            if i < len(widths):
                widths[i] = max(widths[i], len(csv_text(value)))
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(width + 2, 60)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _put(ws, row: int, column: int, value, number_format: str | None = None):
    cell = ws.cell(row=row, column=column)
    cell.value = value
    if isinstance(value, str):
        # openpyxl writes a string beginning with "=" as a formula unless told it is text;
        # safe_text already quoted it, this makes sure whatever the value.
        cell.data_type = "s"
    if number_format:
        cell.number_format = number_format
    return cell


def _filename(filename: str, fmt: str) -> str:
    suffix = f".{fmt}"
    return filename if filename.lower().endswith(suffix) else filename + suffix


def export_response(
    rows: Iterable,
    columns: Sequence[ColumnSpec],
    filename: str,
    fmt: str = "xlsx",
    *,
    header: str = "key",
    title: str | None = None,
    sheet: str = "Sheet1",
) -> HttpResponse:
    """A download of ``rows`` as ``fmt`` (``xlsx`` or ``csv``).

    ``columns``: column keys, ``(key, label)`` pairs or ``Column``; ``rows``: mappings by key
    or sequences in column order. ``header="key"`` writes the keys as the header row (a file
    that imports back), ``header="label"`` the labels. ``title`` and ``sheet`` are the XLSX's
    first row and sheet name (a CSV starts with its header row, for the importers).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {FORMATS}")
    if fmt == "csv":
        body, content_type = write_csv(rows, columns, header=header), CSV_CONTENT_TYPE
    else:
        body = write_xlsx(rows, columns, header=header, title=title, sheet=sheet)
        content_type = XLSX_CONTENT_TYPE
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(
        True, _filename(filename, fmt)
    )
    return response
