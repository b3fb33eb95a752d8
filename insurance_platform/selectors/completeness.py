"""The daily completeness check: every ledger fact of a business day that needs an upload
has exactly one outbox record, and no record stands for a fact that needs none."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection

from .. import rules
from ..models import UploadRecord


@dataclass(frozen=True)
class Gap:
    txn: str  # the transaction the fact needs ("3501".."3506")
    move_id: int | None  # the stock move, or
    stocktake_line_id: int | None  # the stocktake line
    occurred_at: dt.datetime


@dataclass(frozen=True)
class CompletenessReport:
    day: dt.date
    expected: int  # facts of the day that need an upload
    recorded: int  # outbox records of the day
    missing: list[Gap] = field(default_factory=list)  # a fact with no record
    extra: list[int] = field(default_factory=list)  # record ids whose fact needs none

    @property
    def complete(self) -> bool:
        return not self.missing and not self.extra


def daily_check(day: dt.date) -> CompletenessReport:
    """The facts of ``day`` that need an upload, by the rules the triggers apply
    (``insurance_platform.rules``), against the outbox records of that day: a fact with no
    record is missing; a record whose fact needs none (or another transaction) is extra.
    Two queries. On a database without the outbox (SQLite) the report is empty."""
    if not rules.outbox_supported():
        return CompletenessReport(day=day, expected=0, recorded=0)
    with connection.cursor() as cursor:
        cursor.execute(rules.EXPECTED_FOR_DAY, [day, day, day])
        expected = cursor.fetchall()
    records = list(
        UploadRecord.objects.filter(business_day=day).values_list(
            "pk", "txn", "move_id", "stocktake_line_id"
        )
    )
    recorded = {(txn, move, line): pk for pk, txn, move, line in records}
    wanted = set()
    missing = []
    for txn, move_id, line_id, occurred_at in expected:
        key = (txn, move_id, line_id)
        wanted.add(key)
        if key not in recorded:
            missing.append(Gap(txn, move_id, line_id, occurred_at))
    extra = sorted(pk for key, pk in recorded.items() if key not in wanted)
    missing.sort(key=lambda gap: (gap.occurred_at, gap.txn))
    return CompletenessReport(
        day=day, expected=len(expected), recorded=len(records), missing=missing, extra=extra
    )
