"""The business day (营业日): the hospital's calendar day of a moment, in ``settings.TIME_ZONE``
(Asia/Shanghai). Reconciliation, the daily lists, the finance reports and the price dates all
cut days here, so a day means the same to each of them and to ``timezone.localdate``."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

BUSINESS_ZONE = ZoneInfo(settings.TIME_ZONE)


def business_day(at: dt.datetime | None = None) -> dt.date:
    """The business day of ``at`` (default now)."""
    return (at or timezone.now()).astimezone(BUSINESS_ZONE).date()


def day_start(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day``, as an aware datetime."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=BUSINESS_ZONE)


def business_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of ``day``; ``end`` is the nightly cut-off."""
    start = day_start(day)
    return start, start + dt.timedelta(days=1)
