"""Exactly-once writes keyed by a client ``event_id`` (invariant 2), for scans and for the
HIS feed alike.

The ``ScanEvent`` row is inserted first in the write's transaction: a concurrent duplicate
waits on the unique index, then replays the stored answer. A refusal rolls everything back,
so nothing is recorded and the same id may be sent again once the cause is fixed.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from config.errors import DomainError

from ..models import ScanEvent

_CLAIM_FIELDS = ("event_id", "action", "fingerprint", "response", "user", "created_at")
_CLAIM_SQL = (
    f"INSERT INTO {ScanEvent._meta.db_table} "
    f"({', '.join(ScanEvent._meta.get_field(n).column for n in _CLAIM_FIELDS)}) "
    f"VALUES ({', '.join(['%s'] * len(_CLAIM_FIELDS))}) "
    "ON CONFLICT (event_id) DO NOTHING RETURNING id"
)


@dataclass(frozen=True)
class WriteOutcome:
    status: int  # 201 recorded, 200 replay of the first answer
    body: dict


def fingerprint(data: dict) -> str:
    canonical = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(event: ScanEvent, action: str, digest: str) -> WriteOutcome:
    if event.fingerprint != digest or event.action != action:
        raise DomainError(
            "EVENT_ID_REUSED",
            detail={"event_id": str(event.event_id), "first_action": event.action},
        )
    return WriteOutcome(200, event.response)


def _claim(*, event_id: uuid.UUID, action: str, digest: str, user) -> ScanEvent | None:
    """Insert the event's row, or return None when ``event_id`` is already recorded.

    One statement: a concurrent first write with the same id holds the unique index, so this
    waits for it; if it commits, nothing is inserted (the caller replays), if it rolls back
    (a refusal), this row goes in and the write is done here.
    """
    event = ScanEvent(
        event_id=event_id,
        action=action,
        fingerprint=digest,
        user=user if getattr(user, "pk", None) else None,
        created_at=timezone.now(),
    )
    fields = [ScanEvent._meta.get_field(name) for name in _CLAIM_FIELDS]
    values = [f.get_db_prep_save(getattr(event, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, values)
        row = cursor.fetchone()
    if row is None:
        return None
    event.pk = row[0]
    event._state.adding = False
    return event


def run_once(
    *,
    event_id: uuid.UUID,
    action: str,
    digest: str,
    user,
    work: Callable[[ScanEvent], dict],
) -> WriteOutcome:
    """Run ``work`` once per ``event_id``; replays get the first answer back."""
    try:
        with transaction.atomic():
            event = _claim(event_id=event_id, action=action, digest=digest, user=user)
            if event is not None:
                body = work(event)
                ScanEvent.objects.filter(pk=event.pk).update(response=body)
                return WriteOutcome(201, body)
    except IntegrityError as error:
        existing = ScanEvent.objects.filter(event_id=event_id).first()
        if existing is not None:
            return _replay(existing, action, digest)
        # Another constraint (a unit used or charged twice at the same instant) held.
        raise DomainError(
            "CONFLICT", detail={"reason": str(error).splitlines()[0][:200]}
        ) from error
    return _replay(ScanEvent.objects.get(event_id=event_id), action, digest)
