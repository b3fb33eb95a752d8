"""The insurance office sends a failed upload again (重新上传)."""

from __future__ import annotations

import contextlib

from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from config.errors import DomainError

from ..models import UploadRecord

Status = UploadRecord.Status


def resend(*, record_id: int, user) -> UploadRecord:
    """A failed record goes back to the outbox, due now; the sender takes it at its next
    round. Its platform message stays until the platform answers again; attempts are
    kept. Anything but a failed record is refused: the sender has it in hand."""
    with transaction.atomic():
        record = UploadRecord.objects.select_for_update().filter(pk=record_id).first()
        if record is None:
            raise DomainError("NOT_FOUND", case="upload", detail={"upload": record_id})
        if record.status != Status.FAILED:
            raise DomainError(
                "UPLOAD_NOT_FAILED",
                status=str(Status(record.status).label).split(" / ")[0],
                status_en=record.status,
                detail={"upload": record.pk, "status": record.status},
            )
        now = timezone.now()
        record.status, record.next_attempt_at = Status.PENDING, now
        record.resent_by, record.resent_at = user, now
        record.save(update_fields=["status", "next_attempt_at", "resent_by", "resent_at"])
        transaction.on_commit(_send_soon)
    return record


def _send_soon() -> None:
    """Ask a worker to send now (in-process without a broker, as in the quick start). With
    the broker down the record simply waits: beat's next round takes it."""
    from ..tasks import send_uploads

    with contextlib.suppress(BrokerError, OSError):
        send_uploads.delay()
