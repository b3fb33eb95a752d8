"""Loading an HRP or HIS export into the code-conflict workspace, as it is.

Nothing about links is refused here: a material code with two charge codes, a DI on two
materials, all load, to be reported by ``conflicts``. A row is refused (reported with its
line number, like ``import_master``) only when it names nothing (its key code is empty) or a
cell does not fit the workspace. Each row is checked with import_master's own row check
(``parse_row`` for HRP rows, ``parse_code_columns`` for HIS rows) and its findings are kept
on the row as ``problems``: such a row is reported and cannot be promoted until fixed.

The HRP supplier list (source ``supplier``: code, name, credit_code, license_no) loads the
same way, each row checked with import_master's supplier check (``parse_supplier_row``); its
rows name no material and take no part in the code-conflict kinds of materials.
"""

from __future__ import annotations

from pathlib import Path

from django.db import transaction
from simple_history.utils import bulk_create_with_history

from ..importing import ImportFileError, RowError, read_table
from ..importing.report import row_error
from ..importing.rows import parse_code_columns, parse_row
from ..importing.suppliers import parse_supplier_row
from .columns import SUPPLIER_HEADINGS, canonical_row
from .conflicts import take_snapshot
from .models import ConflictSnapshot, StagingImport, StagingRow, StagingSource

KEY_COLUMN = {
    StagingSource.HRP: ("material_code", "物资编码"),
    StagingSource.HIS_CHARGE: ("charge_code", "计费编码"),
    StagingSource.HIS_ORDER: ("order_code", "医嘱编码"),
    StagingSource.SUPPLIER: ("code", "供应商编码"),
}
CODE_COLUMNS = ("material_code", "charge_code", "order_code", "insurance_code", "udi_di")
TEXT_COLUMNS = (
    "package_level", "name", "spec", "unit", "manufacturer", "registration_no", "category",
)  # fmt: skip
# The other consumables.csv columns an HRP row may carry; promotion passes them on.
EXTRA_COLUMNS = (
    "value_class", "tracking", "billed_by", "platform_price", "vbp_price", "purchase_price",
    "charge_price", "price_effective_from", "insurance_class", "restriction",
)  # fmt: skip
# The columns of a supplier row (suppliers.csv): where each is kept on the staging row.
SUPPLIER_COLUMNS = {
    "code": "supplier_code", "name": "name", "credit_code": "credit_code",
    "license_no": "license_no",
}  # fmt: skip
SUPPLIER_LIMITS = {
    column: StagingRow._meta.get_field(field).max_length
    for column, field in SUPPLIER_COLUMNS.items()
}
LIMITS = {
    name: StagingRow._meta.get_field(name).max_length for name in (*CODE_COLUMNS, *TEXT_COLUMNS)
}
BATCH = 1000
# What a person may correct on a row in the workspace page.
EDITABLE = (*CODE_COLUMNS, "units_per_package", "package_level")
SUPPLIER_EDITABLE = ("supplier_code", "name", "credit_code", "license_no")


def _staged_supplier(line: int, raw: dict[str, str]) -> StagingRow | RowError:
    """A row of the HRP supplier list, checked with import_master's supplier row check."""
    row = canonical_row(raw, SUPPLIER_HEADINGS)
    if not row.get("code"):
        return row_error(line, "VALIDATION_ERROR", "供应商编码必填", "code is required")
    for name, limit in SUPPLIER_LIMITS.items():
        if len(row.get(name, "")) > limit:
            return row_error(
                line,
                "VALIDATION_ERROR",
                f"{name} 超过 {limit} 个字符，无法载入",
                f"{name} is longer than {limit} characters and cannot be staged",
            )
    values, errors = parse_supplier_row(line, row)
    staged = StagingRow(
        source=StagingSource.SUPPLIER,
        line=line,
        supplier_code=row["code"],
        problems="\n".join(e.message for e in errors),
    )
    for column, field in SUPPLIER_COLUMNS.items():
        if column != "code":
            # The checked form (a credit code in capitals) when the check gave one.
            setattr(staged, field, values.get(column, row.get(column, "")))
    return staged


def _staged(line: int, raw: dict[str, str], source: str) -> StagingRow | RowError:
    if source == StagingSource.SUPPLIER:
        return _staged_supplier(line, raw)
    row = canonical_row(raw)
    key, label = KEY_COLUMN[source]
    if not row.get(key):
        return row_error(line, "VALIDATION_ERROR", f"{label}必填", f"{key} is required")
    for name, limit in LIMITS.items():
        if len(row.get(name, "")) > limit:
            return row_error(
                line,
                "VALIDATION_ERROR",
                f"{name} 超过 {limit} 个字符，无法载入",
                f"{name} is longer than {limit} characters and cannot be staged",
            )
    parsed = parse_row(line, row) if source == StagingSource.HRP else parse_code_columns(line, row)
    codes = {name: row.get(name) or None for name in CODE_COLUMNS}
    # Valid codes in their normal form (an upper-case insurance code, a DI without its
    # application identifier), so that the same code always groups together.
    codes.update({n: parsed.values[n] for n in ("charge_code", "order_code", "insurance_code")
                  if n in parsed.values})
    if parsed.udi_di:
        codes["udi_di"] = parsed.udi_di
    staged = StagingRow(
        source=source,
        line=line,
        **codes,
        units_per_package=parsed.units_per_package,
        chargeable=parsed.values.get("chargeable") if source == StagingSource.HRP else None,
        problems="\n".join(e.message for e in parsed.errors),
    )
    for name in TEXT_COLUMNS:
        setattr(staged, name, row.get(name, ""))
    if source == StagingSource.HRP:
        staged.extra = {name: row[name] for name in EXTRA_COLUMNS if row.get(name)}
    return staged


def _as_raw(row: StagingRow) -> dict[str, str]:
    if row.source == StagingSource.SUPPLIER:
        return {column: getattr(row, field) or "" for column, field in SUPPLIER_COLUMNS.items()}
    raw = {name: getattr(row, name) or "" for name in (*CODE_COLUMNS, *TEXT_COLUMNS)}
    raw["units_per_package"] = str(row.units_per_package or "")
    if row.chargeable is not None:
        raw["chargeable"] = "1" if row.chargeable else "0"
    return {**raw, **row.extra}


def restaged(row: StagingRow, values: dict[str, str]) -> StagingRow | RowError:
    """``row`` with ``values`` put in, checked again as at import (a new unsaved row, or the
    error that refuses the values). A supplier row takes only its own columns
    (``SUPPLIER_EDITABLE``); code columns sent for it are ignored."""
    if row.source == StagingSource.SUPPLIER:
        fields = {f: c for c, f in SUPPLIER_COLUMNS.items()}
        values = {fields[k]: v for k, v in values.items() if k in SUPPLIER_EDITABLE}
    raw = {**_as_raw(row), **{k: (v or "").strip() for k, v in values.items()}}
    return _staged(row.line, raw, row.source)


@transaction.atomic
def staging_import(
    *, path, source: str, user=None, file_name: str | None = None, replace: bool = True
) -> StagingImport:
    """Load ``path`` (CSV or XLSX) into the workspace as rows of ``source``.

    ``replace``: the pending rows of that source from earlier imports are superseded (a
    corrected export replaces the old one); promoted and excluded rows stay as they are.
    Takes a conflict snapshot. Raises ``ImportFileError`` for an unreadable file.
    """
    if source not in StagingSource.values:
        raise ImportFileError(
            "VALIDATION_ERROR",
            f"未知来源 {source}",
            f"unknown source {source}",
            detail={"source": source},
        )
    name = file_name or Path(path).name
    batch = StagingImport(source=source, file_name=name[:255], imported_by=user)
    rows: list[StagingRow] = []
    errors: list[RowError] = []
    for line, raw in read_table(path):
        batch.rows_read += 1
        staged = _staged(line, raw, source)
        (errors if isinstance(staged, RowError) else rows).append(staged)
    if not batch.rows_read:
        raise ImportFileError("EMPTY_FILE", name=name)
    if replace:
        batch.rows_superseded = StagingRow.objects.filter(
            source=source, status=StagingRow.Status.PENDING
        ).update(status=StagingRow.Status.SUPERSEDED)
    batch.rows_loaded = len(rows)
    batch.errors = [{"line": e.line, "code": e.code, "message": e.message} for e in errors]
    batch.save()
    for row in rows:
        row.batch = batch
    bulk_create_with_history(
        rows,
        StagingRow,
        batch_size=BATCH,
        default_user=user,
        default_change_reason=f"导入 / import {name}"[:100],
    )
    take_snapshot(trigger=ConflictSnapshot.Trigger.IMPORT, batch=batch, user=user)
    return batch
