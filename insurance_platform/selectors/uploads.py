"""Reads of the outbox for the insurance office's page and the uploads API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count

from ..models import UploadRecord

Txn, Status = UploadRecord.Txn, UploadRecord.Status
FAILURES_SHOWN = 200


@dataclass(frozen=True)
class TxnRow:
    txn: str
    label: str
    counts: dict[str, int]  # status -> records
    total: int


def day_summary(day: dt.date) -> list[TxnRow]:
    """Records of a business day by transaction and status (one query); every transaction
    has its row, with zeros where nothing happened."""
    found: dict[str, dict[str, int]] = {t.value: {} for t in Txn}
    rows = (
        UploadRecord.objects.filter(business_day=day)
        .values("txn", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        found.setdefault(row["txn"], {})[row["status"]] = row["n"]
    return [
        TxnRow(
            txn=txn,
            label=Txn(txn).label,
            counts={s.value: counts.get(s.value, 0) for s in Status},
            total=sum(counts.values()),
        )
        for txn, counts in found.items()
    ]


def failures(day: dt.date, *, limit: int = FAILURES_SHOWN) -> list[UploadRecord]:
    """The day's failed records with the platform's message, oldest first (one query)."""
    return list(
        UploadRecord.objects.filter(business_day=day, status=Status.FAILED)
        .select_related("move__consumable", "stocktake_line__consumable", "resent_by")
        .order_by("pk")[:limit]
    )


def day_records(day: dt.date, *, txn: str = "", status: str = ""):
    """The records of a day for the API, with the ledger event each comes from."""
    rows = UploadRecord.objects.filter(business_day=day).select_related("move", "stocktake_line")
    if txn:
        rows = rows.filter(txn=txn)
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("pk")


def ref_of(record: UploadRecord) -> str:
    """The ledger event a record comes from: the scan's (or HIS's) ``event_id`` of its move,
    else ``move:<id>``; ``stocktake:<id>`` for a line of a posted stocktake."""
    if record.move_id:
        event = record.move.event_id
        return str(event) if event else f"move:{record.move_id}"
    return f"stocktake:{record.stocktake_line.stocktake_id}"
