"""Upsert by code: the one loop behind the departments and suppliers files.

Rows are parsed by the caller's ``parse(line, raw) -> (row, errors)``; a row is a dict of
``line``, ``code`` and the fields given (an empty cell is left out: it keeps the stored
value). A bad row loads nothing of itself; a code repeated with different values is refused;
a new record lacking a field of ``required_for_new`` is refused; the rest load in one
transaction, with their history. The report counts ``<noun>_created/updated/unchanged``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import DatabaseError, transaction
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from config.error_codes import Both

from .report import ImportFileError, ImportReport, RowError, row_error


@dataclass(frozen=True)
class Table:
    model: type
    counter: str  # "departments": report.departments_created...
    zh: str  # 科室
    en: str  # department
    required_columns: tuple[str, ...]
    fields: tuple[str, ...]  # the columns besides ``code`` that the import writes
    required_for_new: tuple[str, ...]
    parse: Callable[[int, dict[str, str]], tuple[dict, list[RowError]]]


def import_keyed_rows(
    table: Table,
    rows: Iterable[tuple[int, dict[str, str]]],
    *,
    user=None,
    change_reason: str = "import_master",
) -> ImportReport:
    report = ImportReport()
    good = _checked_rows(table, rows, report)
    existing = {r.code: r for r in table.model.objects.filter(code__in=list(good))}
    created, updated, unchanged = [], [], 0
    for code, row in good.items():
        record = existing.get(code)
        if record is None:
            missing = [k for k in table.required_for_new if k not in row]
            if missing:
                report.errors.append(
                    row_error(
                        row["line"],
                        "VALIDATION_ERROR",
                        f"新{table.zh} {code} 须填写 {', '.join(missing)}",
                        f"new {table.en} {code} needs {', '.join(missing)}",
                    )
                )
                continue
            created.append(table.model(code=code, **{k: row.get(k, "") for k in table.fields}))
            continue
        changed = [k for k in table.fields if k in row and getattr(record, k) != row[k]]
        for k in changed:
            setattr(record, k, row[k])
        if changed:
            updated.append(record)
        else:
            unchanged += 1
    report.errors.sort(key=lambda e: e.line)
    history = {"default_user": user, "default_change_reason": change_reason[:100]}
    try:
        with transaction.atomic():
            if created:
                bulk_create_with_history(created, table.model, **history)
            if updated:
                bulk_update_with_history(updated, table.model, list(table.fields), **history)
    except DatabaseError as exc:
        report.failed = True
        report.errors.append(
            RowError(
                line=0,
                code="DATABASE_ERROR",
                message=f"数据库拒绝写入，未导入任何{table.zh}：{exc} / "
                f"the database refused the load, no {table.en} was imported: {exc}",
            )
        )
        return report
    setattr(report, f"{table.counter}_created", len(created))
    setattr(report, f"{table.counter}_updated", len(updated))
    setattr(report, f"{table.counter}_unchanged", unchanged)
    return report


def _checked_rows(table: Table, rows, report: ImportReport) -> dict[str, dict]:
    """The good rows by code; the bad ones (and contradicting repeats) into the report."""
    good: dict[str, dict] = {}
    for index, (line, raw) in enumerate(rows):
        if index == 0:
            missing = [c for c in table.required_columns if c not in raw]
            if missing:
                raise ImportFileError(
                    "MISSING_COLUMNS",
                    case="table",
                    table=Both(table.zh, table.en),
                    columns=", ".join(missing),
                    detail={"missing": missing},
                )
        report.rows += 1
        row, errors = table.parse(line, raw)
        if not errors and row["code"] in good:
            first = good[row["code"]]
            differ = [k for k in table.fields if k in row and row[k] != first.get(k)]
            if not differ:
                continue
            errors.append(
                row_error(
                    line,
                    "VALIDATION_ERROR",
                    f"{table.zh}编码 {row['code']} 与第 {first['line']} 行不一致："
                    f"{', '.join(differ)}",
                    f"{table.en} {row['code']} contradicts line {first['line']}: "
                    f"{', '.join(differ)}",
                )
            )
        report.errors += errors
        if not errors:
            good[row["code"]] = row
    return good
