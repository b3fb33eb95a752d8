"""The window an event time from a scanner or HIS must fall in (docs/contract.md).

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
from rest_framework import serializers

from .error_codes import Both
from .errors import DomainError

FUTURE_TOLERANCE = dt.timedelta(minutes=5)
FIELD_NAMES = {
    "occurred_at": "扫码时间",
    "charged_at": "计费时间",
    "refunded_at": "退费时间",
    "discharged_at": "出院时间",
}


def window(now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """(earliest, latest) accepted event time at ``now``."""
    now = now or timezone.now()
    return now - dt.timedelta(hours=settings.SCAN_BACKDATE_HOURS), now + FUTURE_TOLERANCE


def _refusal(field: str, at: dt.datetime, earliest, latest, **detail) -> DomainError:
    bounds = {"latest": timezone.localtime(latest)}
    if earliest is not None:
        bounds["earliest"] = timezone.localtime(earliest)
    return DomainError(
        "TIME_OUT_OF_RANGE",
        case="" if earliest is not None else "no_earliest",
        field=Both(FIELD_NAMES.get(field, field), field),
        **bounds,
        detail={
            "field": field,
            "value": at.isoformat(),
            "earliest": earliest.isoformat() if earliest is not None else None,
            "latest": latest.isoformat(),
            **detail,
        },
    )


def _refuse_outside(at, *, field, earliest, not_before, **detail) -> None:
    """The window's check; ``earliest`` None: no back-dating bound (``not_before`` is then
    the earliest the refusal names)."""
    latest = window()[1]
    if at > latest or (earliest is not None and at < earliest):
        raise _refusal(field, at, not_before if earliest is None else earliest, latest)
    if not_before is not None and at < not_before:
        raise _refusal(field, at, not_before, latest, **detail)


def refuse_unless_in_window(at: dt.datetime, *, field: str, not_before=None) -> None:
    """TIME_OUT_OF_RANGE unless ``at`` is inside the window (and not before ``not_before``,
    e.g. a refund before its charge). Comparisons only: no arithmetic on ``at``, so the
    years 0001 and 9999 are refused, not overflowed."""
    _refuse_outside(
        at,
        field=field,
        earliest=window()[0],
        not_before=not_before,
        reason="BEFORE_CHARGE",
        charged_at=not_before.isoformat() if not_before is not None else None,
    )


def refuse_if_ahead(at: dt.datetime, *, field: str, not_before=None, reason: str = "") -> None:
    """TIME_OUT_OF_RANGE if ``at`` is more than ``FUTURE_TOLERANCE`` ahead of the server
    clock, or before ``not_before``. For times that may lie far back (an admission, a
    discharge keyed in late): only the future, which no real event has, is bounded."""
    _refuse_outside(at, field=field, earliest=None, not_before=not_before, reason=reason)


class EventTimeField(serializers.DateTimeField):
    """An API event time for a service that checks it against the window above.

    DRF converts an aware time to the server's zone and answers an overflow (year 1 at
    +08:00, year 9999 at -08:00) with a generic VALIDATION_ERROR; such a time is kept in its
    own offset instead, so the service refuses it like any other time out of range
    (TIME_OUT_OF_RANGE, docs/contract.md). Only for fields whose service calls the window: the
    value must never reach the database unchecked.
    """

    def enforce_timezone(self, value):
        try:
            return super().enforce_timezone(value)
        except serializers.ValidationError:  # an aware time fails only by overflowing
            if timezone.is_aware(value):
                return value
            raise
