"""import_department_rows: departments.csv (code, name, kind), upserted by code."""

from __future__ import annotations

from collections.abc import Iterable

from consumables.codes import is_valid_hospital_code
from organisation.models import Department

from .keyed import Table, import_keyed_rows
from .report import ImportReport, RowError, row_error

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


DEPARTMENTS = Table(
    model=Department,
    counter="departments",
    zh="科室",
    en="department",
    required_columns=REQUIRED_COLUMNS,
    fields=("name", "kind"),
    required_for_new=("name", "kind"),
    parse=_parse,
)


def import_department_rows(rows: Iterable[tuple[int, dict[str, str]]]) -> ImportReport:
    """Create or update departments by code (``keyed.import_keyed_rows``)."""
    return import_keyed_rows(DEPARTMENTS, rows)
