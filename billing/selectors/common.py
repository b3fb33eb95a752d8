"""What every report shares: the period, the exception kinds' names, a finding's identity."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    F,
    Max,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast, Concat, Substr

from billing import rules
from billing.models import ExceptionRow, ReconciliationRun
from config.i18n import is_english

CENT = Decimal("0.01")
ZERO = Decimal("0")

# Kinds in the order finance reads them: money lost or wrongly taken first.
KIND_ORDER = (
    "UNBILLED_USE",
    "DUPLICATE_CHARGE",
    "CHARGE_WITHOUT_USE",
    "PRICE_MISMATCH",
    "CHARGE_WITHOUT_ORDER",
    "SPLIT_CHARGE",
    "SELF_PAY_WITHOUT_CONSENT",
    "VARIANCE_OVER_THRESHOLD",
    "STOCK_CONSUMPTION_VARIANCE",
    "PURCHASE_PRICE_MISMATCH",
    "FOUR_PRICE_MISALIGNED",
)
_RUN_LEVEL_LABELS = {
    "VARIANCE_OVER_THRESHOLD": "进销存差异超标",
    "STOCK_CONSUMPTION_VARIANCE": "盘点消耗与计费不符",
    "PURCHASE_PRICE_MISMATCH": "入库价与采购价不符",
    "FOUR_PRICE_MISALIGNED": "四价不统一",
}
KIND_LABELS_EN = {
    "UNBILLED_USE": "unbilled use",
    "DUPLICATE_CHARGE": "duplicate charge",
    "CHARGE_WITHOUT_USE": "charge without use",
    "PRICE_MISMATCH": "charge price mismatch",
    "CHARGE_WITHOUT_ORDER": "charge without order",
    "SPLIT_CHARGE": "split charge",
    "SELF_PAY_WITHOUT_CONSENT": "self-pay without consent",
    "SUBSTITUTION": "substitution",
    "CHARGE_OVER_ORDER": "charge over order",
    "VARIANCE_OVER_THRESHOLD": "variance over threshold",
    "STOCK_CONSUMPTION_VARIANCE": "stock consumption vs billed",
    "PURCHASE_PRICE_MISMATCH": "purchase price mismatch",
    "FOUR_PRICE_MISALIGNED": "four prices misaligned",
}
# Matched per encounter and item: the same pair seen again on a later day is one finding.
PAIR_KINDS = (
    "UNBILLED_USE",
    "DUPLICATE_CHARGE",
    "CHARGE_WITHOUT_USE",
    "SUBSTITUTION",
    "CHARGE_OVER_ORDER",
)
LINE_KINDS = ("PRICE_MISMATCH", "CHARGE_WITHOUT_ORDER", "SPLIT_CHARGE", "SELF_PAY_WITHOUT_CONSENT")


def kind_label(kind: str) -> str:
    """The hospital's name of an exception kind (rules.KINDS for the encounter kinds); its
    English name on an English page."""
    if is_english():
        return KIND_LABELS_EN.get(kind, kind).capitalize()
    info = rules.KINDS.get(kind)
    return info.label if info else _RUN_LEVEL_LABELS.get(kind, kind)


def pct(part, whole) -> Decimal | None:
    """``part / whole`` in percent to two places; None when ``whole`` is 0."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(CENT)


@dataclass(frozen=True)
class Period:
    """Business days ``start`` to ``end``, both included."""

    start: dt.date
    end: dt.date

    @property
    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(n) for n in range((self.end - self.start).days + 1)]

    @property
    def length(self) -> int:
        return (self.end - self.start).days + 1

    @classmethod
    def ending(cls, end: dt.date, days: int) -> Period:
        return cls(end - dt.timedelta(days=days - 1), end)

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        start = dt.date(year, month, 1)
        following = dt.date(year + month // 12, month % 12 + 1, 1)
        return cls(start, following - dt.timedelta(days=1))

    def query(self) -> dict[str, str]:
        return {"since": self.start.isoformat(), "until": self.end.isoformat()}


def latest_run_date() -> dt.date | None:
    """The last business day with a successful reconciliation (one query)."""
    return ReconciliationRun.objects.filter(status=ReconciliationRun.Status.SUCCEEDED).aggregate(
        last=Max("date")
    )["last"]


def exceptions_in(period: Period) -> QuerySet[ExceptionRow]:
    return ExceptionRow.objects.filter(run__date__gte=period.start, run__date__lte=period.end)


def finding_key():
    """A SQL expression naming the finding an exception row reports, across days.

    The nightly run reports an encounter/item pair on every day it is active, so a pair
    seen on three days is one finding, as is a charge line (``charge:<id>``), a receipt
    line or a consumable's prices; a variance over threshold is a finding of its own day.
    """
    return Case(
        When(
            kind__in=PAIR_KINDS,
            then=Concat(
                F("kind"),
                Value("|"),
                F("encounter_no"),
                Value("|"),
                F("material_code"),
                output_field=CharField(),
            ),
        ),
        When(
            kind="VARIANCE_OVER_THRESHOLD",
            then=Concat(
                F("kind"),
                Value("|"),
                F("ref"),
                Value("|"),
                Cast("run__date", CharField()),
                output_field=CharField(),
            ),
        ),
        default=Concat(F("kind"), Value("|"), F("ref"), output_field=CharField()),
        output_field=CharField(),
    )


def ref_id(prefix: str):
    """The numeric id of a ``<prefix>:<id>`` ref, else NULL (a SQL expression)."""
    return Case(
        When(
            Q(ref__regex=rf"^{prefix}:[0-9]+$"),
            then=Cast(Substr("ref", len(prefix) + 2), BigIntegerField()),
        ),
        default=None,
        output_field=BigIntegerField(),
    )


def display_name(first: str | None, last: str | None, username: str | None) -> str:
    full = f"{last or ''}{first or ''}".strip()
    if not username:
        return ""
    return f"{full}（{username}）" if full and full != username else username
