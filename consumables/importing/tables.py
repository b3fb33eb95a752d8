"""Reading CSV and XLSX master-data files into rows of stripped text.

``read_table(path)`` yields ``(line, row)``: ``line`` is the spreadsheet row number (1 is the
header, 2 the first data row), ``row`` maps lower-cased header names to stripped text ('' for
an empty cell). Blank rows are skipped but still counted, so line numbers match what the user
sees in Excel.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path

from config.error_codes import Both

from .report import ImportFileError

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}


def read_table(path) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a CSV (UTF-8, UTF-8 with BOM, or GB18030) or XLSX file, chosen by extension.

    Raises ``ImportFileError`` (code ``FILE_NOT_FOUND`` or ``UNREADABLE_FILE``).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES | XLSX_SUFFIXES:
        raise ImportFileError(
            "UNREADABLE_FILE",
            case="format",
            suffix=Both(path.suffix or "（无扩展名）", path.suffix or "(no extension)"),
            detail={"path": str(path)},
        )
    if not path.is_file():
        raise ImportFileError("FILE_NOT_FOUND", path=path, detail={"path": str(path)})
    if suffix in XLSX_SUFFIXES:
        return _rows(_xlsx_cells(path))
    return _rows(_csv_cells(path))


def _rows(cells: Iterator[list[str]]) -> Iterator[tuple[int, dict[str, str]]]:
    header: list[str] | None = None
    for line, values in enumerate(cells, start=1):
        if header is None:
            header = [h.strip().lower() for h in values]
            continue
        if not any(values):
            continue
        row: dict[str, str] = {}
        for i, name in enumerate(header):
            if name and name not in row:
                row[name] = values[i] if i < len(values) else ""
        yield line, row


def _decode(data: bytes, path: Path) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError(  # pragma: no cover - gb18030 decodes nearly anything
        "UNREADABLE_FILE", case="encoding", detail={"path": str(path)}
    )


def _csv_cells(path: Path) -> Iterator[list[str]]:
    text = _decode(path.read_bytes(), path)
    if "\x00" in text:
        raise ImportFileError(
            "UNREADABLE_FILE", case="not_text", name=path.name, detail={"path": str(path)}
        )
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for values in reader:
            yield [v.strip() for v in values]
    except csv.Error as exc:
        raise ImportFileError(
            "UNREADABLE_FILE",
            case="malformed_csv",
            line=reader.line_num,
            error=exc,
            detail={"path": str(path)},
        ) from exc


def _xlsx_cells(path: Path) -> Iterator[list[str]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise ImportFileError(
            "UNREADABLE_FILE",
            case="excel_unreadable",
            name=path.name,
            error=exc,
            detail={"path": str(path)},
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()  # exports often carry a wrong <dimension>
        for values in sheet.iter_rows(values_only=True):
            yield _texts(values)
    except (zipfile.BadZipFile, KeyError, ValueError, SyntaxError, OSError) as exc:
        # SyntaxError covers xml.etree's ParseError: a damaged sheet inside the zip.
        raise ImportFileError(
            "UNREADABLE_FILE",
            case="excel_damaged",
            name=path.name,
            error=exc,
            detail={"path": str(path)},
        ) from exc
    finally:
        workbook.close()


def _texts(values: Iterable) -> list[str]:
    return [cell_text(v) for v in values]


def cell_text(value) -> str:
    """A spreadsheet value as the text a person typed: 12 not 12.0, dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    return str(value).strip()
