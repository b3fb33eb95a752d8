"""The window an event time from a scanner or HIS must fall in (CONTRACT.md).

An event's time picks the price in force and the business day it is reconciled on, so a
clock that is wrong by a year must not pass: ``occurred_at``, ``charged_at`` and
``refunded_at`` are at most ``FUTURE_TOLERANCE`` ahead of the server clock and no older than
``settings.SCAN_BACKDATE_HOURS``. One function, called by every service that takes a time
from outside, so the scan API, the bedside page and the HIS feed cannot disagree.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from .errors import DomainError

FUTURE_TOLERANCE = dt.timedelta(minutes=5)
FIELD_NAMES = {"occurred_at": "扫码时间", "charged_at": "计费时间", "refunded_at": "退费时间"}


def window(now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """(earliest, latest) accepted event time at ``now``."""
    now = now or timezone.now()
    return now - dt.timedelta(hours=settings.SCAN_BACKDATE_HOURS), now + FUTURE_TOLERANCE


def _local(at: dt.datetime) -> str:
    return f"{timezone.localtime(at):%Y-%m-%d %H:%M}"


def _refusal(field: str, at: dt.datetime, earliest, latest, **detail) -> DomainError:
    return DomainError(
        "TIME_OUT_OF_RANGE",
        f"{FIELD_NAMES.get(field, field)}超出允许范围（最早 {_local(earliest)}，"
        f"最晚 {_local(latest)}）：请核对设备时钟",
        f"{field} is outside the accepted window: check the device's clock",
        detail={
            "field": field,
            "value": at.isoformat(),
            "earliest": earliest.isoformat(),
            "latest": latest.isoformat(),
            **detail,
        },
        http_status=400,
    )


def refuse_unless_in_window(at: dt.datetime, *, field: str, not_before=None) -> None:
    """TIME_OUT_OF_RANGE unless ``at`` is inside the window (and not before ``not_before``,
    e.g. a refund before its charge). Comparisons only: no arithmetic on ``at``, so the
    years 0001 and 9999 are refused, not overflowed."""
    earliest, latest = window()
    if not earliest <= at <= latest:
        raise _refusal(field, at, earliest, latest)
    if not_before is not None and at < not_before:
        raise _refusal(
            field,
            at,
            not_before,
            latest,
            reason="BEFORE_CHARGE",
            charged_at=not_before.isoformat(),
        )
