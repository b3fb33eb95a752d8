"""Celery tasks of the national platform: thin shells around services."""

from celery import shared_task

from .services.send import send_all_due


@shared_task(acks_late=True)
def send_uploads() -> dict:
    """Beat, every minute: send what is due in the outbox (idempotent: records are claimed
    with SKIP LOCKED, and the platform takes a record id once)."""
    result = send_all_due()
    return {
        "claimed": result.claimed,
        "accepted": result.accepted,
        "failed": result.failed,
        "retrying": result.retrying,
    }
