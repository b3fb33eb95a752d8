"""Bulk load of master data from HRP/HIS exports: consumables and departments (docs/contract.md).

``import_master`` reads the files and loads them in one transaction; ``import_consumable_rows``
and ``import_department_rows`` take rows already read (``load_demo`` uses them directly).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.db import transaction

from .departments import import_department_rows
from .master import SYSTEM_USERNAME, import_consumable_rows
from .pricing import midnight
from .report import ImportFileError, ImportReport, RowError
from .tables import read_table

__all__ = [
    "SYSTEM_USERNAME",
    "ImportFileError",
    "ImportReport",
    "RowError",
    "import_consumable_rows",
    "import_department_rows",
    "import_master",
    "midnight",
    "read_table",
]


class _RolledBack(Exception):
    pass


def import_master(
    *, consumables_path, departments_path=None, user=None, today: dt.date | None = None
) -> ImportReport:
    """Import consumables.csv (and departments.csv) in one transaction.

    Bad rows are reported and skipped; if the database refuses the load, nothing of either
    file is written (``report.failed``). Raises ``ImportFileError`` when a file is missing,
    unreadable or lacks required columns.
    """
    consumable_rows = read_table(consumables_path)
    department_rows = read_table(departments_path) if departments_path else None
    report = ImportReport()
    try:
        with transaction.atomic():
            if department_rows is not None:
                departments = import_department_rows(department_rows)
                for error in departments.errors:
                    error.file = Path(departments_path).name
                report.merge(departments)
            consumables = import_consumable_rows(
                consumable_rows,
                user=user,
                today=today,
                source=f"import_master {Path(consumables_path).name}",
            )
            if department_rows is not None:
                for error in consumables.errors:
                    error.file = Path(consumables_path).name
            report.merge(consumables)
            if report.failed:
                raise _RolledBack
    except _RolledBack:
        report.zero_counts()
    return report
