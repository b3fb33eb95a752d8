"""Celery tasks: thin shells around services (idempotent, retried on transient errors)."""

import datetime as dt

from celery import shared_task
from django.db import InterfaceError, OperationalError, connection

from . import reconciliation

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
