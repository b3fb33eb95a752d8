"""The daily completeness check: every ledger fact of a business day that needs an upload
has exactly one outbox record, and no record stands for a fact that needs none."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


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
    """Placeholder until the outbox rules land (returns an empty report)."""
    return CompletenessReport(day=day, expected=0, recorded=0)
