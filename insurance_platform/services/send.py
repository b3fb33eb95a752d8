"""The sender: due outbox records, prepared, posted to the platform in batches, and each
record's answer stored.

- **Claim.** One statement takes up to ``batch_size`` due records (pending and due, or sent
  and never answered for ``STALE``) with ``FOR UPDATE SKIP LOCKED`` and marks them sent:
  two workers never take the same record, and a worker that dies mid-batch leaves its
  records to be taken again after ``STALE`` (the platform answers a record id it already
  accepted as accepted, so a second delivery is harmless).
- **Send.** The batch's payloads are prepared (``prepare``), grouped by transaction and
  posted, one request per transaction.
- **Answer.** Accepted: ``accepted`` with the time. Refused by the platform (a coded error
  on the record): ``failed`` with its code and message, for the insurance office to read
  and resend. The platform down, slow or refusing the envelope: back to ``pending`` with
  the message and the next attempt after an exponential back-off; ``failed`` after
  ``MAX_ATTEMPTS``.

Nothing on the bedside path calls this: records wait in the outbox while the broker or the
platform is down.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.error
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from .. import envelope
from ..models import UploadRecord
from .prepare import prepare

Status = UploadRecord.Status
MAX_ATTEMPTS = 8
STALE = dt.timedelta(minutes=10)  # a sent record with no answer after this is sent again
TIMEOUT_SECONDS = 30


def backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4, ... minutes after the n-th failed attempt, at most an hour."""
    return dt.timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


def platform_url() -> str:
    return settings.INSURANCE_PLATFORM_URL or (
        f"http://127.0.0.1:{settings.INSURANCE_PLATFORM_DOUBLE_PORT}"
    )


@dataclass
class SendResult:
    claimed: int = 0
    accepted: int = 0
    failed: int = 0
    retrying: int = 0
    errors: list[str] = field(default_factory=list)


CLAIM_SQL = """
UPDATE insurance_platform_uploadrecord r
SET status = 'sent', sent_at = %(now)s, attempts = r.attempts + 1
WHERE r.id IN (
    SELECT id FROM insurance_platform_uploadrecord
    WHERE (status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= %(now)s))
       OR (status = 'sent' AND sent_at < %(stale)s)
    ORDER BY id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
RETURNING r.id
"""


def claim(*, now: dt.datetime, batch_size: int) -> list[int]:
    params = {"now": now, "stale": now - STALE, "limit": batch_size}
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(CLAIM_SQL, params)
                return sorted(row[0] for row in cursor.fetchall())
        # SQLite (the quick start, one writer): the same choice without SKIP LOCKED.
        due = UploadRecord.objects.filter(
            Q(status=Status.PENDING, next_attempt_at__isnull=True)
            | Q(status=Status.PENDING, next_attempt_at__lte=now)
            | Q(status=Status.SENT, sent_at__lt=now - STALE)
        )
        ids = list(due.order_by("pk").values_list("pk", flat=True)[:batch_size])
        UploadRecord.objects.filter(pk__in=ids).update(
            status=Status.SENT, sent_at=now, attempts=F("attempts") + 1
        )
        return ids


def send_due(*, now: dt.datetime | None = None, batch_size: int = 500) -> SendResult:
    """Send one batch of due records; returns what became of them."""
    now = now or timezone.now()
    result = SendResult()
    ids = claim(now=now, batch_size=batch_size)
    if not ids:
        return result
    result.claimed = len(ids)
    prepare(ids)
    records = list(UploadRecord.objects.filter(pk__in=ids).order_by("pk"))
    by_txn: dict[str, list[UploadRecord]] = defaultdict(list)
    for record in records:
        if record.payload is None:  # being prepared by another worker: next round
            _retry(record, "报文尚未生成 / payload not prepared yet", now=now, result=result)
        else:
            by_txn[record.txn].append(record)
    for txn, batch in by_txn.items():
        _send_batch(txn, batch, now=now, result=result)
    UploadRecord.objects.bulk_update(
        records,
        ["status", "error_code", "error", "next_attempt_at", "acknowledged_at"],
        batch_size=1000,
    )
    return result


def send_all_due(*, batch_size: int = 500, max_batches: int = 1000) -> SendResult:
    """Batches until nothing is due (what the beat task runs)."""
    total = SendResult()
    for _ in range(max_batches):
        one = send_due(batch_size=batch_size)
        if not one.claimed:
            break
        for name in ("claimed", "accepted", "failed", "retrying"):
            setattr(total, name, getattr(total, name) + getattr(one, name))
        total.errors.extend(one.errors)
        if one.retrying == one.claimed:
            break  # the platform is down: the back-off decides when to try again
    return total


def _send_batch(txn: str, batch: list[UploadRecord], *, now, result: SendResult) -> None:
    try:
        answer = post(txn, batch, now=now)
    except PlatformUnavailable as error:
        result.errors.append(str(error))
        for record in batch:
            _retry(record, str(error), now=now, result=result)
        return
    by_id = {
        str(entry.get(envelope.RECORD_ID)): entry
        for entry in (answer.get("output") or {}).get("results") or []
        if isinstance(entry, dict)
    }
    for record in batch:
        entry = by_id.get(str(record.pk))
        if entry is None:
            _retry(record, "平台未回复此条 / no answer for this record", now=now, result=result)
        elif entry.get("infcode") == 0:
            record.status, record.acknowledged_at = Status.ACCEPTED, now
            record.error_code, record.error, record.next_attempt_at = "", "", None
            result.accepted += 1
        else:
            record.status = Status.FAILED
            record.error_code = str(entry.get("infcode"))[:32]
            record.error = str(entry.get("err_msg") or "")
            record.next_attempt_at = None
            result.failed += 1


def _retry(record: UploadRecord, message: str, *, now, result: SendResult) -> None:
    record.error_code, record.error = "UNAVAILABLE", message
    if record.attempts >= MAX_ATTEMPTS:
        record.status, record.next_attempt_at = Status.FAILED, None
        result.failed += 1
    else:
        record.status, record.next_attempt_at = Status.PENDING, now + backoff(record.attempts)
        result.retrying += 1


class PlatformUnavailable(Exception):
    """The platform did not take the request: down, slow, an HTTP error, or the envelope
    refused (our code or signature): worth another try later."""


def message_for(txn: str, batch: list[UploadRecord], *, now: dt.datetime) -> dict:
    return {
        "infno": txn,
        # 30 characters at most: institution code, time, the batch's first record id.
        "msgid": f"{settings.INSURANCE_FIXMEDINS_CODE[:12]}{now:%y%m%d%H%M%S}{batch[0].pk}"[:30],
        "fixmedins_code": settings.INSURANCE_FIXMEDINS_CODE,
        "inf_time": timezone.localtime(now).strftime("%Y-%m-%d %H:%M:%S"),
        "infver": "V1.0",
        "opter_type": "1",
        "input": {"data": [{envelope.RECORD_ID: str(r.pk), **(r.payload or {})} for r in batch]},
    }


def post(txn: str, batch: list[UploadRecord], *, now: dt.datetime) -> dict:
    body = json.dumps(message_for(txn, batch, now=now), ensure_ascii=False).encode()
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/json; charset=utf-8", envelope.TIMESTAMP: stamp}
    if settings.INSURANCE_PLATFORM_SECRET:
        headers[envelope.SIGNATURE] = envelope.signature(
            settings.INSURANCE_PLATFORM_SECRET, stamp, body
        )
    request = urllib.request.Request(
        platform_url() + envelope.PATH, data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise PlatformUnavailable(
            f"平台返回 HTTP {error.code} / platform answered HTTP {error.code}"
        ) from error
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as error:
        raise PlatformUnavailable(f"平台不可达 / platform unreachable: {error}") from error
    if not isinstance(answer, dict) or answer.get("infcode") != 0:
        message = answer.get("err_msg") if isinstance(answer, dict) else answer
        raise PlatformUnavailable(f"平台拒收报文 / envelope refused: {message}")
    return answer
