"""import_department_rows: departments.csv (code, name, kind), upserted by code."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import DatabaseError, transaction
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from consumables.codes import is_valid_hospital_code
from inventory.models import Department

from .report import ImportFileError, ImportReport, RowError, row_error

REQUIRED_COLUMNS = ("code", "name", "kind")
CODE_LENGTH = Department._meta.get_field("code").max_length
NAME_LENGTH = Department._meta.get_field("name").max_length


def _parse(line: int, raw: dict[str, str]) -> tuple[dict, list[RowError]]:
    code = (raw.get("code") or "").strip()
    name = (raw.get("name") or "").strip()
    kind = (raw.get("kind") or "").strip().lower()
    errors = []
    if not code:
        errors.append(row_error(line, "VALIDATION_ERROR", "科室编码必填", "code is required"))
    elif len(code) > CODE_LENGTH or not is_valid_hospital_code(code):
        errors.append(
            row_error(
                line,
                "VALIDATION_ERROR",
                f"科室编码「{code}」只能包含字母、数字和 . _ - /（最长 {CODE_LENGTH} 位）",
                f"code '{code}' may hold only letters, digits and . _ - / (at most {CODE_LENGTH})",
            )
        )
    if len(name) > NAME_LENGTH:
        errors.append(
            row_error(
                line,
                "VALIDATION_ERROR",
                f"名称超过 {NAME_LENGTH} 个字符",
                f"name is longer than {NAME_LENGTH} characters",
            )
        )
    if kind and kind not in Department.Kind.values:
        errors.append(
            row_error(
                line,
                "VALIDATION_ERROR",
                f"kind「{kind}」无效，应为 store|ward|theatre",
                f"kind '{kind}' is not one of store|ward|theatre",
            )
        )
    values = {k: v for k, v in (("name", name), ("kind", kind)) if v}
    return {"line": line, "code": code, **values}, errors


def import_department_rows(rows: Iterable[tuple[int, dict[str, str]]]) -> ImportReport:
    """Create or update departments by code. Empty cells keep the stored value.

    A bad row is reported with its line number and loads nothing; the rest loads in one
    transaction. A code repeated in the file with different values is refused.
    """
    report = ImportReport()
    good: dict[str, dict] = {}
    for index, (line, raw) in enumerate(rows):
        if index == 0:
            missing = [c for c in REQUIRED_COLUMNS if c not in raw]
            if missing:
                raise ImportFileError(
                    "MISSING_COLUMNS",
                    f"科室文件缺少必需的列：{', '.join(missing)}",
                    f"the departments file lacks required columns: {', '.join(missing)}",
                    missing=missing,
                )
        report.rows += 1
        row, errors = _parse(line, raw)
        if not errors and row["code"] in good:
            first = good[row["code"]]
            differ = [k for k in ("name", "kind") if k in row and row[k] != first.get(k)]
            if differ:
                errors.append(
                    row_error(
                        line,
                        "VALIDATION_ERROR",
                        f"科室编码 {row['code']} 与第 {first['line']} 行不一致："
                        f"{', '.join(differ)}",
                        f"department {row['code']} contradicts line {first['line']}: "
                        f"{', '.join(differ)}",
                    )
                )
            else:
                continue
        report.errors += errors
        if not errors:
            good[row["code"]] = row

    existing = {d.code: d for d in Department.objects.filter(code__in=list(good))}
    created, updated = [], []
    for code, row in good.items():
        department = existing.get(code)
        if department is None:
            missing = [k for k in ("name", "kind") if k not in row]
            if missing:
                report.errors.append(
                    row_error(
                        row["line"],
                        "VALIDATION_ERROR",
                        f"新科室 {code} 须填写 {', '.join(missing)}",
                        f"new department {code} needs {', '.join(missing)}",
                    )
                )
                continue
            created.append(Department(code=code, name=row["name"], kind=row["kind"]))
            continue
        changed = [k for k in ("name", "kind") if k in row and getattr(department, k) != row[k]]
        for k in changed:
            setattr(department, k, row[k])
        if changed:
            updated.append(department)
        else:
            report.departments_unchanged += 1
    report.errors.sort(key=lambda e: e.line)
    try:
        with transaction.atomic():
            if created:
                bulk_create_with_history(created, Department, default_change_reason="import_master")
            if updated:
                bulk_update_with_history(
                    updated, Department, ["name", "kind"], default_change_reason="import_master"
                )
    except DatabaseError as exc:
        report.failed = True
        report.departments_unchanged = 0
        report.errors.append(
            RowError(
                line=0,
                code="DATABASE_ERROR",
                message=f"数据库拒绝写入，未导入任何科室：{exc} / "
                f"the database refused the load, no department was imported: {exc}",
            )
        )
        return report
    report.departments_created = len(created)
    report.departments_updated = len(updated)
    return report
