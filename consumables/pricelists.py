"""Platform (挂网价) and VBP (集采价) price lists from the provincial platform, imported as
files with their effective dates.

Each row names an item by its material code, insurance code or UDI-DI (any readable form)
and gives ``platform_price`` and/or ``vbp_price``; ``effective_from`` (YYYY-MM-DD) comes from
the row or, when the row has none, from the date given for the whole file. ``vbp_price``
``无`` (or ``none``) ends the item's volume-procurement programme from that date; an empty
cell leaves it as it is. The rows then load through ``import_consumable_rows`` (the prices
rules of import_master: a price already in force is not recorded again, one published for
the same instant is corrected), so a bad row is reported with its line number and the rest
loads.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.db import transaction

from .importing import ImportReport, import_consumable_rows, read_table
from .importing.report import RowError, row_error
from .importing.rows import parse_code_columns
from .models import Consumable, DeviceIdentifier
from .staging.columns import canonical_row

ALIASES = {
    "挂网价": "platform_price",
    "挂网价格": "platform_price",
    "集采价": "vbp_price",
    "带量采购价": "vbp_price",
    "集采中选价": "vbp_price",
    "生效日期": "effective_from",
    "执行日期": "effective_from",
    "价格生效日期": "effective_from",
    "price_effective_from": "effective_from",
}
NO_VBP = {"无", "none", "-", "—"}
CHANGE_REASON = "挂网价/集采价目录导入 / platform and VBP price list"


def _row(raw: dict[str, str]) -> dict[str, str]:
    return canonical_row({ALIASES.get(k, k): v for k, v in raw.items()})


def _identify(rows: list[tuple[int, dict]]) -> dict[str, dict[str, Consumable]]:
    """Live consumables by material code, insurance code and DI named in the file (three
    queries)."""
    wanted = {"material_code": set(), "insurance_code": set(), "udi_di": set()}
    for _, row in rows:
        for name in wanted:
            if row.get(name):
                wanted[name].add(row[name])
    found: dict[str, dict[str, Consumable]] = {name: {} for name in wanted}
    live = Consumable.objects.filter(is_active=True).only("pk", "material_code", "name",
                                                          "insurance_code")  # fmt: skip
    if wanted["material_code"]:
        found["material_code"] = {
            c.material_code: c for c in live.filter(material_code__in=wanted["material_code"])
        }
    if wanted["insurance_code"]:
        found["insurance_code"] = {
            c.insurance_code: c for c in live.filter(insurance_code__in=wanted["insurance_code"])
        }
    if wanted["udi_di"]:
        dis = DeviceIdentifier.objects.filter(
            udi_di__in=wanted["udi_di"], is_active=True, consumable__is_active=True
        ).select_related("consumable")
        found["udi_di"] = {d.udi_di: d.consumable for d in dis}
    return found


@transaction.atomic
def price_list_import(
    *, path, effective_date: dt.date | None, user, file_name: str | None = None
) -> ImportReport:
    """Load a platform/VBP price list; ``effective_date`` applies to rows without their own.
    Raises ``ImportFileError`` for an unreadable file."""
    name = file_name or Path(path).name
    rows: list[tuple[int, dict]] = []
    errors: list[RowError] = []
    for line, raw in read_table(path):
        row = _row(raw)
        parsed = parse_code_columns(line, {k: row.get(k, "") for k in ("insurance_code",
                                                                       "udi_di")})
        if parsed.udi_di:
            row["udi_di"] = parsed.udi_di
        if "insurance_code" in parsed.values:
            row["insurance_code"] = parsed.values["insurance_code"]
        rows.append((line, row))
    known = _identify(rows)
    planned: list[tuple[int, dict[str, str]]] = []
    for line, row in rows:
        item = None
        for key in ("material_code", "insurance_code", "udi_di"):
            if row.get(key):
                item = known[key].get(row[key])
                break
        if item is None:
            named = row.get("material_code") or row.get("insurance_code") or row.get("udi_di")
            zh = named or "（未填写物资编码、医保耗材编码或 UDI-DI）"
            en = named or "(no material code, insurance code or UDI-DI given)"
            errors.append(
                row_error(line, "UNKNOWN_CODE", f"主数据中没有在用耗材 {zh}",
                          f"no live consumable {en}")
            )  # fmt: skip
            continue
        effective = row.get("effective_from") or (effective_date.isoformat()
                                                  if effective_date else "")  # fmt: skip
        if not effective:
            errors.append(row_error(line, "VALIDATION_ERROR", "缺少生效日期",
                                    "the effective date is missing"))  # fmt: skip
            continue
        out = {"material_code": item.material_code, "name": item.name,
               "price_effective_from": effective}  # fmt: skip
        if row.get("platform_price"):
            out["platform_price"] = row["platform_price"]
        vbp = row.get("vbp_price", "")
        if vbp.lower() in NO_VBP:
            out["vbp_price"] = ""  # present and empty: the programme ends (import_master)
        elif vbp:
            out["vbp_price"] = vbp
        if "platform_price" not in out and "vbp_price" not in out:
            errors.append(row_error(line, "VALIDATION_ERROR", "未填写挂网价或集采价",
                                    "neither a platform nor a VBP price"))  # fmt: skip
            continue
        planned.append((line, out))
    report = ImportReport(rows=len(rows))
    if planned:
        loaded = import_consumable_rows(
            planned, user=user, source=f"价格目录 / price list {name}"[:200],
            change_reason=CHANGE_REASON,
        )  # fmt: skip
        report.merge(loaded)
        report.rows = len(rows)
    report.errors.extend(errors)
    report.errors.sort(key=lambda e: e.line)
    return report
