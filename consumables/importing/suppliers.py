"""import_supplier_rows: suppliers.csv from the HRP (code, name, credit_code, license_no),
upserted by code, in the shape of ``departments``.

- ``code``: the HRP supplier code, letters, digits and . _ - / (required);
- ``name``: required for a new supplier;
- ``credit_code``: 统一社会信用代码, 18 characters of the GB 32100-2015 alphabet (digits and
  upper-case letters without I, O, S, V, Z), the last one its check character; may be empty;
- ``license_no``: 医疗器械经营许可证号 (or 第二类医疗器械经营备案凭证号), free text; may be empty.

An empty cell keeps the stored value (an import never erases a licence number).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from consumables.codes import is_valid_hospital_code
from organisation.credit_code import credit_code_problem
from organisation.models import Supplier

from .keyed import Table, import_keyed_rows
from .report import ImportReport, RowError, row_error

REQUIRED_COLUMNS = ("code", "name")
COLUMNS = ("code", "name", "credit_code", "license_no")
FIELDS = ("name", "credit_code", "license_no")
CODE_LENGTH = Supplier._meta.get_field("code").max_length
LIMITS = {name: Supplier._meta.get_field(name).max_length for name in FIELDS}
CHANGE_REASON = "import_master"

def credit_code_error(line: int, value: str) -> RowError | None:
    """The refusal of a malformed credit code (``organisation.credit_code``), or None."""
    problem = credit_code_problem(value)
    return None if problem is None else row_error(line, "CREDIT_CODE_INVALID", *problem)


def parse_supplier_row(line: int, raw: dict[str, str]) -> tuple[dict, list[RowError]]:
    """Check one row on its own: (the given values, every problem found)."""
    raw = {k: ("" if v is None else str(v).strip()) for k, v in raw.items()}
    code = raw.get("code", "")
    name = raw.get("name", "")
    # A credit code is printed in capitals; spaces inside are a copy artefact.
    credit_code = re.sub(r"\s+", "", raw.get("credit_code", "")).upper()
    license_no = raw.get("license_no", "")
    errors = []
    if not code:
        errors.append(row_error(line, "VALIDATION_ERROR", "供应商编码必填", "code is required"))
    elif len(code) > CODE_LENGTH or not is_valid_hospital_code(code):
        errors.append(
            row_error(
                line,
                "VALIDATION_ERROR",
                f"供应商编码「{code}」只能包含字母、数字和 . _ - /（最长 {CODE_LENGTH} 位）",
                f"code '{code}' may hold only letters, digits and . _ - / (at most {CODE_LENGTH})",
            )
        )
    for field, value in (("name", name), ("license_no", license_no)):
        if len(value) > LIMITS[field]:
            errors.append(
                row_error(
                    line,
                    "VALIDATION_ERROR",
                    f"{field} 超过 {LIMITS[field]} 个字符",
                    f"{field} is longer than {LIMITS[field]} characters",
                )
            )
    if credit_code:
        error = credit_code_error(line, credit_code)
        if error is not None:
            errors.append(error)
    given = (("name", name), ("credit_code", credit_code), ("license_no", license_no))
    return {"line": line, "code": code, **{k: v for k, v in given if v}}, errors


SUPPLIERS = Table(
    model=Supplier,
    counter="suppliers",
    zh="供应商",
    en="supplier",
    required_columns=REQUIRED_COLUMNS,
    fields=FIELDS,
    required_for_new=("name",),
    parse=parse_supplier_row,
)


def import_supplier_rows(
    rows: Iterable[tuple[int, dict[str, str]]], *, user=None, change_reason: str = CHANGE_REASON
) -> ImportReport:
    """Create or update suppliers by code (``keyed.import_keyed_rows``)."""
    return import_keyed_rows(SUPPLIERS, rows, user=user, change_reason=change_reason)
