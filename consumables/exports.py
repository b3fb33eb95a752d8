"""Spreadsheet downloads (XLSX and CSV) for admin actions and report pages.

``export_response`` turns rows into a download. CSV carries a UTF-8 byte-order mark so Excel
on a hospital PC opens the Chinese text correctly instead of guessing GBK.

``consumable_master_rows`` gives the consumable master in the layout of ``import_master``
(CONTRACT.md, consumables.csv): one row per UDI-DI, so an exported file imports back
unchanged.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.http import HttpResponse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.http import content_disposition_header

from .models import Consumable, DeviceIdentifier, ExternalPrice
from .prices import with_prices_in_force

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
FORMATS = ("xlsx", "csv")

# consumables.csv columns, in CONTRACT.md order, then extra columns the importer may ignore.
MASTER_COLUMNS: list[tuple[str, str]] = [
    ("material_code", "物资编码"),
    ("name", "名称"),
    ("spec", "规格型号"),
    ("unit", "单位"),
    ("manufacturer", "生产企业"),
    ("value_class", "价值类别"),
    ("tracking", "追踪方式"),
    ("chargeable", "可收费"),
    ("billed_by", "计费方式"),
    ("charge_code", "计费编码"),
    ("order_code", "医嘱编码"),
    ("insurance_code", "医保耗材编码"),
    ("udi_di", "UDI-DI"),
    ("units_per_package", "包装数量"),
    ("package_level", "包装层级"),
    ("platform_price", "挂网价"),
    ("vbp_price", "集采价"),
    ("purchase_price", "采购价"),
    ("charge_price", "收费价"),
    ("price_effective_from", "价格生效日期"),
    ("registration_no", "注册证号"),
    ("category", "类别"),
]

Column = str | tuple[str, str]


def _columns(columns: Sequence[Column]) -> list[tuple[str, str]]:
    # str(): a label may be a lazy translation, which openpyxl does not take as text.
    return [(c, c) if isinstance(c, str) else (c[0], str(c[1])) for c in columns]


def _cell(value):
    """A value as a spreadsheet cell: text stays text, so codes keep their leading zeros."""
    if value is None:
        return ""
    if isinstance(value, Promise):  # a translated label: text in the user's language
        return str(value)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _values(row, keys: list[str]) -> list:
    if isinstance(row, Mapping):
        return [_cell(row.get(k)) for k in keys]
    return [_cell(v) for v in row]


def _filename(filename: str, fmt: str) -> str:
    suffix = f".{fmt}"
    return filename if filename.lower().endswith(suffix) else filename + suffix


def write_csv(rows: Iterable, columns: Sequence[Column], header: str = "key") -> bytes:
    """CSV bytes with a UTF-8 BOM. ``header``: ``key`` (importable) or ``label``."""
    cols = _columns(columns)
    keys = [k for k, _ in cols]
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([k if header == "key" else label for k, label in cols])
    for row in rows:
        writer.writerow([str(v) for v in _values(row, keys)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def write_xlsx(
    rows: Iterable, columns: Sequence[Column], header: str = "key", sheet: str = "Sheet1"
) -> bytes:
    """XLSX bytes: the header row is bold and frozen; every code cell is stored as text."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    cols = _columns(columns)
    keys = [k for k, _ in cols]
    workbook = Workbook(write_only=False)
    ws = workbook.active
    ws.title = sheet[:31]
    ws.append([k if header == "key" else label for k, label in cols])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    widths = [max(len(str(k)), len(str(label))) for k, label in cols]
    for row in rows:
        values = _values(row, keys)
        ws.append(values)
        for i, v in enumerate(values[: len(widths)]):
            widths[i] = max(widths[i], len(str(v)))
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(width + 2, 60)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_response(
    rows: Iterable,
    columns: Sequence[Column],
    filename: str,
    fmt: str = "xlsx",
    *,
    header: str = "key",
) -> HttpResponse:
    """A download of ``rows`` as ``fmt`` (``xlsx`` or ``csv``).

    ``columns``: column keys, or ``(key, label)`` pairs; ``rows``: mappings by key or
    sequences in column order. ``header="key"`` writes the keys as the header row (a file
    that imports back), ``header="label"`` the labels (a report for people).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {FORMATS}")
    if fmt == "csv":
        body, content_type = write_csv(rows, columns, header), CSV_CONTENT_TYPE
    else:
        body, content_type = write_xlsx(rows, columns, header), XLSX_CONTENT_TYPE
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(
        True, _filename(filename, fmt)
    )
    return response


def _external_from(kind: str, at: dt.datetime):
    return Subquery(
        ExternalPrice.objects.filter(consumable=OuterRef("pk"), kind=kind, effective_from__lte=at)
        .order_by("-effective_from")
        .values("effective_from")[:1]
    )


def consumable_master_rows(
    queryset: QuerySet[Consumable], *, at: dt.datetime | None = None
) -> Iterator[dict]:
    """The master in ``import_master`` layout, one row per live UDI-DI (smallest first).

    Prices are those in force at ``at`` (default now); ``price_effective_from`` is the date
    the platform price in force was published, so re-importing the file changes nothing.
    Three queries in all, whatever the number of rows.
    """
    at = at or timezone.now()
    queryset = with_prices_in_force(queryset, at).annotate(
        platform_from=_external_from(ExternalPrice.Kind.PLATFORM, at),
        vbp_from=_external_from(ExternalPrice.Kind.VBP, at),
    )
    queryset = queryset.prefetch_related(
        Prefetch(
            "device_identifiers",
            queryset=DeviceIdentifier.objects.filter(is_active=True).order_by(
                "units_per_package", "pk"
            ),
            to_attr="live_dis",
        )
    ).order_by("material_code")
    for consumable in queryset:
        # The later announcement: at that date both external prices in force are today's,
        # so a re-import finds them already recorded.
        dates = [d for d in (consumable.platform_from, consumable.vbp_from) if d]
        price_from = max(dates) if dates else None
        base = {
            "material_code": consumable.material_code,
            "name": consumable.name,
            "spec": consumable.spec,
            "unit": consumable.unit,
            "manufacturer": consumable.manufacturer,
            "value_class": consumable.value_class,
            "tracking": consumable.tracking,
            "chargeable": "1" if consumable.chargeable else "0",
            "billed_by": consumable.billed_by,
            "charge_code": consumable.charge_code or "",
            "order_code": consumable.order_code or "",
            "insurance_code": consumable.insurance_code or "",
            "platform_price": _money(consumable.platform_price),
            "vbp_price": _money(consumable.vbp_price),
            "purchase_price": _money(consumable.purchase_price),
            "charge_price": _money(consumable.charge_price),
            "price_effective_from": (
                timezone.localdate(price_from).isoformat() if price_from else ""
            ),
            "registration_no": consumable.registration_no,
            "category": consumable.category,
        }
        dis = consumable.live_dis or [None]
        for di in dis:
            yield {
                **base,
                "udi_di": di.udi_di if di else "",
                "units_per_package": str(di.units_per_package) if di else "",
                "package_level": di.package_level if di else "",
            }


def _money(value: Decimal | None) -> str:
    """A price as plain text with its significant places (12.5000 -> 12.50, 700 -> 700.00)."""
    if value is None:
        return ""
    value = Decimal(value)
    places = max(2, -value.normalize().as_tuple().exponent)
    return f"{value:.{min(places, 4)}f}"
