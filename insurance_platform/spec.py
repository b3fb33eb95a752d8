"""The platform's transactions and their fields, as the interface specification for
designated medical institutions (定点医药机构接口规范) gives them: code, type, maximum
length and whether required. The payload builder writes by these codes; the platform
double checks by them. One table, read by both sides.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation


@dataclass(frozen=True)
class Field:
    code: str  # the specification's field code, e.g. "med_list_codg"
    label: str  # its Chinese name, e.g. "医疗目录编码"
    type: str  # "str", "num" (decimal as text or number), "date", "datetime", "list"
    max_len: int | None = None
    required: bool = False


# txn -> its fields; filled from the specification (one list per transaction).
TRANSACTIONS: dict[str, tuple[Field, ...]] = {}


def field_errors(txn: str, record: dict) -> list[str]:
    """What is wrong with one record of a transaction (empty: it conforms)."""
    fields = TRANSACTIONS.get(txn)
    if fields is None:
        return [f"unknown transaction {txn}"]
    errors = []
    for f in fields:
        value = record.get(f.code)
        if value in (None, ""):
            if f.required:
                errors.append(f"{f.code}: required")
            continue
        if f.type == "list":
            if not isinstance(value, list):
                errors.append(f"{f.code}: not a list")
            continue
        text = str(value)
        if f.max_len is not None and len(text) > f.max_len:
            errors.append(f"{f.code}: longer than {f.max_len}")
        if f.type == "num":
            try:
                Decimal(text)
            except InvalidOperation:
                errors.append(f"{f.code}: not a number")
        elif f.type == "date":
            try:
                dt.date.fromisoformat(text)
            except ValueError:
                errors.append(f"{f.code}: not a date (YYYY-MM-DD)")
        elif f.type == "datetime":
            try:
                dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
            except ValueError:
                errors.append(f"{f.code}: not a time (YYYY-MM-DD HH:MM:SS)")
    return errors
