"""Exactly-once writes keyed by a client ``event_id`` (invariant 2), for scans and for the
HIS feed alike.

The write runs first; its ``ScanEvent`` row goes in last, in the same transaction, with the
answer already in it (one INSERT, never an UPDATE). The unique index on ``event_id`` decides:
of two transactions with the same id, the one that commits first is the write. The other
waits on the index (or earlier, on a row lock the first holds), finds the id recorded, rolls
its own work back and replays the stored answer; so does a duplicate whose work is refused
because the first write already took what it needed (the unit used, the stock moved). A
refusal rolls everything back, so nothing is recorded and the same id may be sent again once
the cause is fixed. A replay of a recorded id is found before any work, by a read of its own
(``look_first``) or, for a scan, by the read of its code (one statement fewer per scan).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from config.errors import DomainError

from ..models import ScanEvent

_RECORD_FIELDS = ("event_id", "action", "fingerprint", "response", "user", "created_at")
_RECORD_SQL = (
    f"INSERT INTO {ScanEvent._meta.db_table} "
    f"({', '.join(ScanEvent._meta.get_field(n).column for n in _RECORD_FIELDS)}) "
    f"VALUES ({', '.join(['%s'] * len(_RECORD_FIELDS))}) "
    "ON CONFLICT (event_id) DO NOTHING RETURNING id"
)


@dataclass(frozen=True)
class WriteOutcome:
    status: int  # 201 recorded, 200 replay of the first answer
    body: dict  # the answer as stored: the same on the first write and on every replay
    result: Any = None  # the service's domain result, on the first write only


class AlreadyRecorded(Exception):
    """This ``event_id`` is recorded already: undo the work and replay the first answer.

    ``run_once`` raises it when another transaction recorded the id first; a ``work`` raises
    it when its own first read found the id recorded (``run_once(look_first=False)``)."""


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


def _record(*, event_id: uuid.UUID, action: str, digest: str, user, answer: dict) -> bool:
    """Insert the event's row with its answer; False when ``event_id`` is recorded already.

    One statement: a concurrent write with the same id that inserted first holds the unique
    index, so this waits for it; if it commits, nothing is inserted, if it rolls back (a
    refusal), this row goes in.
    """
    event = ScanEvent(
        event_id=event_id,
        action=action,
        fingerprint=digest,
        response=answer,
        user=user,
        created_at=timezone.now(),
    )
    fields = [ScanEvent._meta.get_field(name) for name in _RECORD_FIELDS]
    values = [f.get_db_prep_save(getattr(event, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(_RECORD_SQL, values)
        return cursor.fetchone() is not None


def _recorded(event_id: uuid.UUID) -> ScanEvent | None:
    return ScanEvent.objects.filter(event_id=event_id).first()


def run_once(
    *,
    event_id: uuid.UUID,
    action: str,
    digest: str,
    user,
    work: Callable[[Any], Any],
    answer: Callable[[Any], dict] | None = None,
    look_first: bool = True,
) -> WriteOutcome:
    """Run ``work(user)`` once per ``event_id``; replays get the first answer back.

    ``work`` gets the user the event is recorded under (None for an anonymous caller).
    ``answer`` renders the work's result as the body to store and send (the API's output
    serializer); without it the result is that body already. ``look_first``: look for the
    event before the work, so that a replay (a scanner sending again after a timeout, the
    demo loaded twice) costs one read, not the work undone; a caller whose work's first read
    tells (the scans: ``scans.scan_reads``) passes False and raises ``AlreadyRecorded``.
    """
    actor = user if getattr(user, "pk", None) else None
    if look_first:
        existing = _recorded(event_id)
        if existing is not None:
            return _replay(existing, action, digest)
    try:
        with transaction.atomic():
            result = work(actor)
            body = answer(result) if answer is not None else result
            if _record(event_id=event_id, action=action, digest=digest, user=actor, answer=body):
                return WriteOutcome(201, body, result)
            raise AlreadyRecorded
    except AlreadyRecorded:
        pass
    except DomainError:
        # Refused: because a duplicate committed first and took what this needed (replay its
        # answer), or for its own reasons (nothing recorded under this id: the refusal).
        existing = _recorded(event_id)
        if existing is None:
            raise
        return _replay(existing, action, digest)
    except IntegrityError as error:
        existing = _recorded(event_id)
        if existing is not None:
            return _replay(existing, action, digest)
        # Another constraint (a unit used or charged twice at the same instant) held.
        raise DomainError(
            "CONFLICT", detail={"reason": str(error).splitlines()[0][:200]}
        ) from error
    return _replay(ScanEvent.objects.get(event_id=event_id), action, digest)
