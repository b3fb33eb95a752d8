"""Celery tasks: thin shells around services (idempotent, retried on transient errors)."""

import datetime as dt

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import reconciliation


@shared_task(
    bind=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_kwargs={"max_retries": 5},
    acks_late=True,
)
def reconcile_day(self, day: str) -> dict:
    """Reconcile one business day (``YYYY-MM-DD``); rerunning gives the same rows."""
    run = reconciliation.reconciliation_run(day=dt.date.fromisoformat(day))
    return {"date": day, "status": run.status, "totals": run.totals}


@shared_task
def reconcile_previous_day() -> dict:
    """Beat, 00:30 Asia/Shanghai: the business day that just ended."""
    return reconcile_day.run(reconciliation.previous_business_day().isoformat())
