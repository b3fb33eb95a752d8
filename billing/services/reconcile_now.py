"""Reconcile one day at a person's request: the finance dashboard's "reconcile this day now".

The same service as ``POST /api/v1/reconciliation/runs`` (``billing.tasks``): with no broker
(``make run``, no beat) the day is reconciled here, in the request; with one, the day is
queued for the worker. Refused: a business day (Asia/Shanghai) after today, and a day before
the history begins (the first day with a stock move or a charge line: before it there is
nothing to reconcile). Who asked for which day and when is kept: a line of the ``billing``
logger and an entry of the admin's action log (``django.contrib.admin.LogEntry``) on the run,
because the run itself records no person.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Min
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from billing import errors, tasks
from billing.models import ChargeLine, ReconciliationRun
from config.business_day import business_day
from config.errors import DomainError
from inventory.models import StockMove

logger = logging.getLogger("billing")


def today() -> dt.date:
    return business_day(timezone.now())


def history_start() -> dt.date | None:
    """The business day of the first stock move or charge line, or None (nothing yet)."""
    firsts = [
        StockMove.objects.aggregate(first=Min("occurred_at"))["first"],
        ChargeLine.objects.aggregate(first=Min("charged_at"))["first"],
    ]
    known = [business_day(at) for at in firsts if at is not None]
    return min(known) if known else None


def refuse_unless_reconcilable(day: dt.date) -> None:
    """``DomainError`` (DAY_OUT_OF_RANGE) for a future day or one before the history."""
    if day > today():
        raise DomainError(
            "DAY_OUT_OF_RANGE",
            day=day,
            detail={"date": day.isoformat(), "today": today().isoformat()},
        )
    first = history_start()
    if first is None:
        raise DomainError("DAY_OUT_OF_RANGE", case="no_history", detail={"date": day.isoformat()})
    if day < first:
        raise DomainError(
            "DAY_OUT_OF_RANGE",
            case="before_history",
            day=day,
            first=first,
            detail={"date": day.isoformat(), "first_day": first.isoformat()},
        )


@dataclass
class Outcome:
    run: ReconciliationRun
    queued: bool  # handed to the worker (a broker is configured): the result comes later
    error: str = ""  # the run failed: the previous result stands


def reconcile_day_now(*, day: dt.date, user) -> Outcome:
    """Reconcile ``day`` now (or queue it when a worker does the runs) for ``user``, after
    ``refuse_unless_reconcilable``; record who asked. A failed run is an ``Outcome`` with its
    error (the previous result stands); an unreachable broker is ``DomainError``."""
    refuse_unless_reconcilable(day)
    try:
        run, queued, failure = tasks.run_or_queue_day(day)
    except BrokerError as broker_error:
        _record(day, user, "broker unavailable")
        raise errors.broker_unavailable() from broker_error
    error = ""
    if failure is not None:  # the run is marked failed; its previous rows stand
        logger.error("reconciliation of %s asked by %s failed", day, user, exc_info=failure)
        error = f"{type(failure).__name__}: {failure}"
    _record(day, user, "queued" if queued else run.status, run=run)
    return Outcome(run=run, queued=queued, error=error or run.error)


def _record(day: dt.date, user, outcome: str, run: ReconciliationRun | None = None) -> None:
    logger.info(
        "reconciliation of %s run now from the finance dashboard by %s (user id %s): %s",
        day,
        user.get_username(),
        user.pk,
        outcome,
    )
    LogEntry.objects.create(
        user=user,
        content_type=ContentType.objects.get_for_model(ReconciliationRun),
        object_id=str(run.pk) if run else "",
        object_repr=f"日对账 {day.isoformat()}",
        action_flag=CHANGE,
        change_message=(
            f"立即对账 {day.isoformat()}：{outcome} / reconcile {day.isoformat()} now: {outcome}"
        ),
    )
