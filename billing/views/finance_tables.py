"""One way to show a report table and to download it: ``?table=<key>&format=xlsx|csv``.

A page builds its tables as ``Table`` objects (columns and rows of plain values); the
template renders them with ``billing/finance/_table.html`` and ``export_or_none`` answers a
download of any of them from the same URL and filters, so what is downloaded is what is on
the screen. XLSX keeps quantities and money as numbers (finance adds them up in Excel) and
codes as text; CSV carries a UTF-8 byte-order mark for Excel (``consumables.exports``).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.i18n import is_english
from consumables.exports import CSV_CONTENT_TYPE, FORMATS, XLSX_CONTENT_TYPE, write_csv

MONEY_FORMAT = "#,##0.00"


@dataclass(frozen=True)
class Col:
    key: str
    zh: str
    en: str
    kind: str = "text"  # text | code | int | money | pct | price | date | datetime | bool
    link: str | None = None  # the row key holding this cell's URL on the page

    @property
    def label(self) -> str:
        return self.en if is_english() else f"{self.zh} / {self.en}"

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "money", "pct", "price")


@dataclass
class Table:
    key: str
    zh: str
    en: str
    columns: list[Col]
    rows: list[dict] | Callable[[], Iterable[dict]]
    filename: str
    empty: str = gettext_lazy("没有数据 / No rows")
    row_class: str | None = None  # the row key holding a CSS class (e.g. "over")
    note: str = ""
    _cache: list[dict] | None = field(default=None, repr=False)

    def all_rows(self) -> list[dict]:
        if self._cache is None:
            self._cache = list(self.rows() if callable(self.rows) else self.rows)
        return self._cache

    def body(self) -> list[dict]:
        """Rows as cells for the template: text, CSS class and link of each."""
        return [
            {
                "css": row.get(self.row_class) if self.row_class else "",
                "cells": [
                    {
                        "text": display(row.get(c.key), c.kind),
                        "css": c.kind,
                        "href": row.get(c.link) if c.link else None,
                    }
                    for c in self.columns
                ],
            }
            for row in self.all_rows()
        ]


def display(value, kind: str) -> str:
    """A cell as text on the page (money to 2 places, prices to 2-4, percent with %)."""
    if value is None or value == "":
        return "—"
    if kind == "money":
        return f"{Decimal(value):,.2f}"
    if kind == "price":
        value = Decimal(value)
        places = max(2, min(4, -value.normalize().as_tuple().exponent))
        return f"{value:.{places}f}"
    if kind == "pct":
        return f"{Decimal(value):.2f}%"
    if kind == "bool":
        return _("是 / yes") if value else _("否 / no")
    if isinstance(value, dt.datetime):
        return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if isinstance(value, dt.date):
        return date_format(value, "SHORT_DATE_FORMAT")
    return str(value)


def _export_value(value, kind: str):
    if value is None:
        return ""
    if isinstance(value, Promise):  # a translated label: text in the user's language
        return str(value)
    if kind in ("money", "pct", "price"):
        return Decimal(value)
    if kind == "bool":
        return _("是") if value else _("否")
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).replace(tzinfo=None)
    if kind == "code":
        return str(value)
    return value


def _csv_value(value, kind: str) -> str:
    if value is None:
        return ""
    if kind in ("money", "pct"):
        return f"{Decimal(value):.2f}"
    if kind == "price":
        return display(value, "price")
    if kind == "bool":
        return _("是") if value else _("否")
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def write_xlsx(table: Table, title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = table.en[:31] or "report"
    sheet.append([title])
    sheet["A1"].font = Font(bold=True)
    sheet.append([c.label for c in table.columns])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A3"
    widths = [len(c.label) + 2 for c in table.columns]
    for row in table.all_rows():
        values = [_export_value(row.get(c.key), c.kind) for c in table.columns]
        sheet.append(values)
        for i, (column, value) in enumerate(zip(table.columns, values, strict=True)):
            cell = sheet.cell(row=sheet.max_row, column=i + 1)
            if column.kind == "money":
                cell.number_format = MONEY_FORMAT
            elif column.kind == "pct":
                cell.number_format = "0.00"
            elif column.kind == "code":
                cell.number_format = "@"
            elif isinstance(value, dt.datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            widths[i] = max(widths[i], len(str(value)) + 2)
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[sheet.cell(row=2, column=i).column_letter].width = min(width, 50)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export(table: Table, fmt: str, title: str) -> HttpResponse:
    """``table`` as an XLSX or CSV download; the file name says the table and the period."""
    if fmt == "csv":
        rows = (
            {c.key: _csv_value(row.get(c.key), c.kind) for c in table.columns}
            for row in table.all_rows()
        )
        columns = [(c.key, c.label) for c in table.columns]
        body, content_type = write_csv(rows, columns, header="label"), CSV_CONTENT_TYPE
    else:
        body, content_type = write_xlsx(table, title), XLSX_CONTENT_TYPE
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, f"{table.filename}.{fmt}")
    return response


def export_or_none(request, tables: list[Table], title: str) -> HttpResponse | None:
    """The download asked for by ``?format=`` (and ``?table=``, default the first), or None
    when the request is for the page. An unknown table or format is a 404."""
    fmt = request.GET.get("format")
    if not fmt:
        return None
    if fmt not in FORMATS:
        raise Http404("未知的导出格式 / unknown export format")
    key = request.GET.get("table") or tables[0].key
    table = next((t for t in tables if t.key == key), None)
    if table is None:
        raise Http404("未知的表 / unknown table")
    name = table.en if is_english() else f"{table.zh} / {table.en}"
    return export(table, fmt, f"{title} · {name}")
