"""One way to show a report table and to download it: ``?table=<key>&format=xlsx|csv``.

A page builds its tables as ``Table`` objects (columns and rows of plain values); the
template renders them with ``billing/finance/_table.html`` and ``export_or_none`` answers a
download of any of them from the same URL and filters, so what is downloaded is what is on
the screen. The file is written by ``config.exports``: quantities and money stay numbers
(finance adds them up in Excel), codes and names are text that never runs as a formula.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.exports import FORMATS, TEXT_FORMAT, Column, export_response
from config.i18n import is_english

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


def _export_value(value, kind: str, fmt: str):
    """A cell of a download: money, percent and prices as numbers (to the places the page
    shows in CSV, in full in XLSX where a format shows them), codes as text."""
    if value is None or value == "":
        return None
    if kind in ("money", "pct"):
        value = Decimal(value)
        return value.quantize(CENT) if fmt == "csv" else value
    if kind == "price":
        return Decimal(display(value, "price"))
    if kind == "bool":
        return _("是") if value else _("否")
    if kind == "code":
        return str(value)
    return value


CENT = Decimal("0.01")
NUMBER_FORMATS = {"money": MONEY_FORMAT, "pct": "0.00", "code": TEXT_FORMAT,
                  "datetime": "yyyy-mm-dd hh:mm"}  # fmt: skip


def export(table: Table, fmt: str, title: str) -> HttpResponse:
    """``table`` as an XLSX or CSV download (``config.exports``, the one writer: no cell is
    ever a formula); the file name says the table and the period."""
    columns = [Column(c.key, c.label, NUMBER_FORMATS.get(c.kind)) for c in table.columns]
    rows = (
        [_export_value(row.get(c.key), c.kind, fmt) for c in table.columns]
        for row in table.all_rows()
    )
    return export_response(
        rows, columns, f"{table.filename}.{fmt}", fmt, header="label", title=title,
        sheet=table.en or "report",
    )


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
