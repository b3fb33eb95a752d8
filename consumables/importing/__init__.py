"""Bulk load of master data from HRP/HIS exports: consumables, departments and suppliers
(docs/contract.md).

``import_master`` reads the files and loads them in one transaction; ``import_consumable_rows``,
``import_department_rows`` and ``import_supplier_rows`` take rows already read (``load_demo``
uses them directly).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.db import transaction

from .departments import import_department_rows
from .master import SYSTEM_USERNAME, import_consumable_rows
from .pricing import midnight
from .report import ImportFileError, ImportReport, RowError
from .suppliers import import_supplier_rows
from .tables import read_table

__all__ = [
    "SYSTEM_USERNAME",
    "ImportFileError",
    "ImportReport",
    "RowError",
    "import_consumable_rows",
    "import_department_rows",
    "import_supplier_rows",
    "import_master",
    "midnight",
    "read_table",
]


class _RolledBack(Exception):
    pass


def import_master(
    *,
    consumables_path=None,
    departments_path=None,
    suppliers_path=None,
    user=None,
    today: dt.date | None = None,
) -> ImportReport:
    """Import consumables.csv, departments.csv and suppliers.csv (any of them) in one
    transaction: departments, then suppliers, then consumables.

    Bad rows are reported and skipped; if the database refuses the load, nothing of any
    file is written (``report.failed``). Raises ``ImportFileError`` when no file is given, or
    a file is missing, unreadable or lacks required columns. When more than one file is
    given, each refused row names its file.
    """
    paths = [p for p in (departments_path, suppliers_path, consumables_path) if p]
    if not paths:
        raise ImportFileError(
            "VALIDATION_ERROR",
            "未指定要导入的文件",
            "no file to import was given",
        )
    tables = {path: read_table(path) for path in paths}
    name_files = len(paths) > 1
    report = ImportReport()

    def merge(part: ImportReport, path) -> None:
        if name_files:
            for error in part.errors:
                error.file = Path(path).name
        report.merge(part)

    try:
        with transaction.atomic():
            if departments_path:
                merge(import_department_rows(tables[departments_path]), departments_path)
            if suppliers_path:
                merge(import_supplier_rows(tables[suppliers_path], user=user), suppliers_path)
            if consumables_path:
                consumables = import_consumable_rows(
                    tables[consumables_path],
                    user=user,
                    today=today,
                    source=f"import_master {Path(consumables_path).name}",
                )
                merge(consumables, consumables_path)
            if report.failed:
                raise _RolledBack
    except _RolledBack:
        report.zero_counts()
    return report
