"""Celery tasks: thin shells around services (idempotent, retried on transient errors)."""

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from . import reconciliation
from .models import ReconciliationRun
from .services.followup import watch_list_update

# A lost connection, a deadlock or a serialization failure: worth another try. Anything
# else (a bug, bad data) fails the run at once, with its error on the run endpoint.
TRANSIENT = (OperationalError, InterfaceError)
MAX_RETRIES = 5


def backoff(retries: int) -> int:
    return min(600, 15 * 2**retries)


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def reconcile_day(self, day: str) -> dict:
    """Reconcile one business day (``YYYY-MM-DD``); rerunning gives the same rows, and two
    deliveries of the same day run one after the other (the day's lock)."""
    date = dt.date.fromisoformat(day)
    try:
        run = reconciliation.reconciliation_run(day=date)
    except TRANSIENT as error:
        # In-process (no broker) nothing would come back to retry: the run stays failed.
        if self.request.is_eager or self.request.retries >= MAX_RETRIES:
            raise
        if not connection.in_atomic_block:
            connection.close()  # the connection may be what broke: the retry opens another
        countdown = backoff(self.request.retries)
        reconciliation.mark_retrying(date, error, countdown)
        raise self.retry(exc=error, countdown=countdown) from error
    return {"date": day, "status": run.status, "totals": run.totals}


@shared_task
def reconcile_previous_day() -> str:
    """Beat, 00:30 Asia/Shanghai: queue the business day that just ended (its run also
    holds the day's four-price audit of every consumable in force)."""
    day = reconciliation.previous_business_day().isoformat()
    reconcile_day.delay(day)
    return day


@shared_task
def watch_list_previous_month() -> str:
    """Beat, the 1st at 06:00 Asia/Shanghai: the month that just ended's top three by
    amount go on the watch list for three months (idempotent: a rerun adds nothing twice)."""
    today = reconciliation.previous_business_day() + dt.timedelta(days=1)
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    watch_list_update(month=last_month)
    return f"{last_month:%Y-%m}"


BROKER_UNAVAILABLE = "BROKER_UNAVAILABLE: the task queue could not be reached; nothing was queued"


def queue_reconcile_day(day: dt.date) -> ReconciliationRun:
    """Mark the day's run queued and queue it for a worker. If the broker cannot be reached
    the run is marked failed (no worker will ever take it: left ``queued`` it would say so
    for ever) and ``BrokerError`` propagates; the stored result stays as it was."""
    run = reconciliation.request_run(day)
    try:
        reconcile_day.delay(day.isoformat())
    except BrokerError:
        # Only the queued mark this request made: a run a worker has started meanwhile
        # (an earlier delivery) speaks for itself.
        ReconciliationRun.objects.filter(pk=run.pk, status=ReconciliationRun.Status.QUEUED).update(
            status=ReconciliationRun.Status.FAILED,
            finished_at=timezone.now(),
            error=BROKER_UNAVAILABLE,
        )
        raise
    run.refresh_from_db()
    return run


def run_or_queue_day(day: dt.date) -> tuple[ReconciliationRun, bool, Exception | None]:
    """Reconcile ``day`` at a person's request: ``(run, queued, failure)``.

    Without a broker (the quick start) the day runs here, and a failed run comes back as its
    ``failure`` (the previous result stands); with one it is queued for a worker
    (``queued``), and an unreachable broker raises ``BrokerError``.
    """
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        return queue_reconcile_day(day), True, None
    failure = None
    try:
        reconcile_day.delay(day.isoformat())
    except Exception as error:  # the run is marked failed by the task itself
        failure = error
    return ReconciliationRun.objects.get(date=day), False, failure
