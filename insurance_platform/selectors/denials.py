"""Denials analysed (拒付分析): by department, item, reason and month, each split into what
we had found first and what we missed; the unmatched ones."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce

from ..models import Denial

FOUND = ~Q(found_kinds=[])
ZERO = Decimal("0.00")
DIMENSIONS = {
    "department": ("department__code", "department__name"),
    "item": ("material_code", "item_code"),
    "reason": ("reason",),
    "month": ("month",),
}
UNMATCHED_SHOWN = 200


@dataclass(frozen=True)
class Group:
    key: tuple
    count: int
    amount: Decimal
    found_count: int
    found_amount: Decimal

    @property
    def missed_count(self) -> int:
        return self.count - self.found_count

    @property
    def missed_amount(self) -> Decimal:
        return self.amount - self.found_amount


def months() -> list[dt.date]:
    return list(Denial.objects.order_by("-month").values_list("month", flat=True).distinct())


def _scope(month: dt.date | None):
    rows = Denial.objects.all()
    return rows.filter(month=month) if month else rows


def grouped(month: dt.date | None, dimension: str) -> list[Group]:
    """One query: the denials of ``month`` (None: all) by ``dimension``, biggest first."""
    fields = DIMENSIONS[dimension]
    rows = (
        _scope(month)
        .values(*fields)
        .annotate(
            n=Count("pk"),
            total=Coalesce(Sum("amount"), ZERO),
            n_found=Count("pk", filter=FOUND),
            found_total=Coalesce(Sum("amount", filter=FOUND), ZERO),
        )
        .order_by("-total", *fields)
    )
    return [
        Group(
            key=tuple(r[f] for f in fields),
            count=r["n"],
            amount=r["total"],
            found_count=r["n_found"],
            found_amount=r["found_total"],
        )
        for r in rows
    ]


def totals(month: dt.date | None) -> Group:
    r = _scope(month).aggregate(
        n=Count("pk"),
        total=Coalesce(Sum("amount"), ZERO),
        n_found=Count("pk", filter=FOUND),
        found_total=Coalesce(Sum("amount", filter=FOUND), ZERO),
    )
    return Group((), r["n"], r["total"], r["n_found"], r["found_total"])


def unmatched(month: dt.date | None) -> list[Denial]:
    return list(
        _scope(month)
        .filter(Q(encounter__isnull=True) | Q(charge_ids=[]))
        .select_related("batch")
        .order_by("-amount", "pk")[:UNMATCHED_SHOWN]
    )


def missed(month: dt.date | None, *, limit: int = UNMATCHED_SHOWN) -> list[Denial]:
    """Matched denials we had not found: what the rules should learn from, biggest first."""
    return list(
        _scope(month)
        .exclude(charge_ids=[])
        .filter(found_kinds=[])
        .select_related("department")
        .order_by(F("amount").desc(), "pk")[:limit]
    )
