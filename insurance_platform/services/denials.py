"""Denials (拒付) back in: the insurance centre's file read, each row matched to its
encounter, its charge lines of that item and our own findings on them, and stored.

A row names the settlement (结算ID) or the visit (住院号), the item (our charge code, the
national insurance code or our material code), the amount, the reason and the month. A bad
row is refused with its line and reason and loads nothing of itself; the rest loads, in
one transaction. The same file twice is refused (its SHA-256), so nothing is counted twice.
Matching is set-based (a fixed number of queries per file): a denial we had already found
(an exception of the nightly run on that encounter and item) is ``found``; one we had not
is what the rules missed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from billing.models import ChargeLine, Encounter, ExceptionRow
from consumables.importing.report import ImportFileError, RowError, row_error
from consumables.importing.tables import read_table

from ..models import Denial, DenialImport

# Column -> the headers it is known by (lower case; Chinese as the insurance centre writes).
COLUMNS = {
    "setl_id": ("setl_id", "结算id", "结算号"),
    "visit_no": ("visit_no", "住院号", "就诊号", "mdtrt_id"),
    "item_code": ("item_code", "项目编码", "医保编码", "收费编码", "hilist_code"),
    "amount": ("amount", "拒付金额", "金额", "deduct_amt"),
    "reason": ("reason", "拒付原因", "原因", "deduct_reason"),
    "month": ("month", "月份", "拒付月份", "date", "日期", "拒付日期"),
}
MAX_AMOUNT = Decimal("9999999999.99")
FIRST_MONTH = dt.date(2000, 1, 1)


@dataclass
class DenialReport:
    rows: int = 0
    loaded: int = 0
    matched: int = 0
    found: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def rows_refused(self) -> int:
        return len({e.line for e in self.errors})

    def lines(self) -> list[str]:
        return [
            f"读取数据行 / data rows read: {self.rows}",
            f"导入拒付 / denials loaded: {self.loaded}",
            f"匹配到计费 / matched to charges: {self.matched}",
            f"我方已发现 / found by us first: {self.found}",
            *(str(e) for e in self.errors),
        ]


def import_denials(*, path, user=None) -> DenialReport:
    """Load one denial file (CSV or XLSX); raises ``ImportFileError`` for the file as a
    whole (missing, unreadable, no data, a required column absent, imported before)."""
    path = Path(path)
    rows = list(read_table(path))  # FILE_NOT_FOUND / UNREADABLE_FILE
    if not rows:
        raise ImportFileError("EMPTY_FILE", name=path.name, detail={"path": str(path)})
    names = _column_names(rows[0][1])
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    report = DenialReport(rows=len(rows))
    parsed = []
    for line, raw in rows:
        row, errors = _parse(line, {col: raw.get(header, "") for col, header in names.items()})
        report.errors.extend(errors)
        if row is not None:
            parsed.append(row)
    if not parsed:
        return report  # nothing to load: the file is not recorded, it may come again fixed
    with transaction.atomic():
        earlier = DenialImport.objects.filter(sha256=digest).first()
        if earlier is not None:
            raise ImportFileError(
                "DENIALS_ALREADY_IMPORTED",
                when=timezone.localtime(earlier.imported_at).strftime("%Y-%m-%d %H:%M"),
                detail={"file": earlier.file_name},
            )
        batch = DenialImport.objects.create(
            file_name=path.name[:255], sha256=digest, imported_by=user, rows=len(rows)
        )
        denials = [Denial(batch=batch, **row) for row in parsed]
        match(denials)
        Denial.objects.bulk_create(denials)
    report.loaded = len(denials)
    report.matched = sum(1 for d in denials if d.charge_ids)
    report.found = sum(1 for d in denials if d.found_kinds)
    return report


def _column_names(first: dict[str, str]) -> dict[str, str]:
    headers = set(first)
    names = {}
    for col, known in COLUMNS.items():
        name = next((h for h in known if h in headers), None)
        if name is not None:
            names[col] = name
    missing = [c for c in ("item_code", "amount", "reason", "month") if c not in names]
    if "setl_id" not in names and "visit_no" not in names:
        missing.insert(0, "setl_id|visit_no")
    if missing:
        raise ImportFileError(
            "MISSING_COLUMNS", columns=", ".join(missing), detail={"missing": missing}
        )
    return names


def _parse(line: int, raw: dict[str, str]) -> tuple[dict | None, list[RowError]]:
    setl_id, visit_no = raw.get("setl_id", "")[:31], raw.get("visit_no", "")[:65]
    item_code = raw.get("item_code", "")
    amount = _amount(raw.get("amount", ""))
    reason = raw.get("reason", "")
    month = _month(raw.get("month", ""))
    refusals = (
        (
            not setl_id and not visit_no,
            "结算ID或住院号必填",
            "a settlement id or visit no. is required",
        ),
        (
            bool(setl_id or visit_no) and (len(setl_id) > 30 or len(visit_no) > 64),
            "结算ID或住院号过长",
            "settlement id or visit no. too long",
        ),
        (
            not item_code or len(item_code) > 64,
            "项目编码必填（至多64位）",
            "item code is required (64 at most)",
        ),
        (
            amount is None,
            "拒付金额须为大于0的金额（元，至多两位小数）",
            "amount must be a positive sum in yuan (2 decimals at most)",
        ),
        (
            not reason or len(reason) > 500,
            "拒付原因必填（至多500字）",
            "reason is required (500 characters at most)",
        ),
        (
            month is None,
            "月份须为 YYYY-MM 或 YYYY-MM-DD，且不晚于本月",
            "month must be YYYY-MM or YYYY-MM-DD, not after this month",
        ),
    )
    errors = [row_error(line, "VALIDATION_ERROR", zh, en) for bad, zh, en in refusals if bad]
    if errors:
        return None, errors
    return {
        "line": line,
        "setl_id": setl_id,
        "visit_no": visit_no,
        "item_code": item_code,
        "amount": amount,
        "reason": reason,
        "month": month,
    }, []


def _amount(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace(",", "").replace("¥", "").strip())
    except (InvalidOperation, ValueError):
        return None
    if not value.is_finite() or value <= 0 or value > MAX_AMOUNT or value != round(value, 2):
        return None
    return value.quantize(Decimal("0.01"))


def _month(text: str) -> dt.date | None:
    text = text.strip()[:10]
    try:
        day = dt.date.fromisoformat(text if len(text) == 10 else f"{text}-01")
    except ValueError:
        return None
    month = day.replace(day=1)
    return month if FIRST_MONTH <= month <= timezone.localdate().replace(day=1) else None


def match(denials: list[Denial]) -> None:
    """Fill each denial's encounter, department, item, charge lines and our findings
    (four queries for the whole file)."""
    setl_ids = {d.setl_id for d in denials if d.setl_id}
    visit_nos = {d.visit_no for d in denials if d.visit_no}
    encounters = Encounter.objects.filter(Q(setl_id__in=setl_ids) | Q(visit_no__in=visit_nos))
    by_setl, by_visit = {}, {}
    for e in encounters.select_related("department"):
        by_visit[e.visit_no] = e
        if e.setl_id:
            by_setl[e.setl_id] = e
    lines: dict[int, list[ChargeLine]] = {}
    for line in ChargeLine.objects.filter(encounter_id__in=[e.pk for e in by_visit.values()]).only(
        "pk", "encounter_id", "charge_code", "insurance_code", "material_code", "department_id"
    ):
        lines.setdefault(line.encounter_id, []).append(line)
    found: dict[tuple[str, str], set[str]] = {}
    for visit, material, kind in ExceptionRow.objects.filter(
        encounter_no__in=list(by_visit)
    ).values_list("encounter_no", "material_code", "kind"):
        found.setdefault((visit, material), set()).add(kind)
    for denial in denials:
        encounter = by_setl.get(denial.setl_id) if denial.setl_id else None
        encounter = encounter or by_visit.get(denial.visit_no)
        if encounter is None:
            denial.unmatched = (
                "无此结算ID或住院号的就诊 / no encounter with this settlement id or visit no."
            )
            continue
        denial.encounter, denial.department = encounter, encounter.department
        denial.visit_no = denial.visit_no or encounter.visit_no
        code = denial.item_code
        items = [
            c
            for c in lines.get(encounter.pk, [])
            if code in (c.charge_code, c.insurance_code, c.material_code)
        ]
        if not items:
            denial.unmatched = "该就诊无此项目的计费 / no charge of this item in the encounter"
            continue
        denial.charge_ids = sorted(c.pk for c in items)
        denial.material_code = items[0].material_code
        denial.department_id = items[0].department_id or encounter.department_id
        denial.found_kinds = sorted(found.get((encounter.visit_no, denial.material_code), ()))
