"""Propose, approve, reject: the one review workflow of the master (mapping changes, supplier
submissions, price versions). One transaction each; each step is saved with its actor, so
the record's history (simple_history) names who proposed and who decided.

The rules are the same for every kind: a record is decided once, under a row lock (two
people deciding at once decide once); the decider is a second person, never the proposer
(the database checks it too: ``models.decider_not_proposer``); a rejection says why. What
an approval does is the kind's hook (``ReviewKind.on_approve``), run under the same lock
before the decision is saved: a refusal there leaves the record awaiting review.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from config import error_codes
from config.errors import DomainError

from .models import Reviewed


@dataclass(frozen=True)
class ReviewKind:
    """What differs between kinds of review: the model, how its refusals are worded and what
    approval does. The codes and cases are the catalogue's (``config.error_codes``), checked
    when the kind is declared."""

    model: type[Reviewed]
    # The code refusing a decision on a record that no longer awaits one (``*_NOT_PENDING``).
    code: str
    # The case of SELF_APPROVAL that words the proposer's refusal.
    case: str
    # VALIDATION_ERROR's words for a rejection without a reason, ``(Chinese, English)``.
    reason_required: tuple[str, str]
    # Called with the locked record, the decider and the instant of the decision; changes
    # what the approval changes (the master, the record's own fields) or raises DomainError.
    on_approve: Callable[[Reviewed, object, dt.datetime], None] | None = None

    def __post_init__(self):
        error_codes.entry(self.code)
        if self.case not in error_codes.entry("SELF_APPROVAL").cases:
            raise ValueError(f"SELF_APPROVAL has no case {self.case!r}")


def saved_by(record, user):
    """``record`` saved with ``user`` as the actor its history names."""
    record._history_user = user
    record.save()
    return record


def review_propose(*, record: Reviewed, proposed_by) -> Reviewed:
    """Save a new proposal (``record``, not yet saved) awaiting a second person."""
    record.proposed_by = proposed_by
    record.status = type(record).Status.PROPOSED
    return saved_by(record, proposed_by)


def required_reason(reason: str, zh: str = "请填写原因", en: str = "a reason is required"):
    """``reason`` stripped; an empty one is refused (every decision says why)."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("VALIDATION_ERROR", zh, en, http_status=400)
    return reason[:500]


def _pending_locked(kind: ReviewKind, pk: int) -> Reviewed:
    """The record under a row lock, refused unless it still awaits a decision."""
    record = kind.model.objects.select_for_update().get(pk=pk)
    if record.status != kind.model.Status.PROPOSED:
        raise DomainError(kind.code, detail={"status": record.status})
    return record


def _second_person(kind: ReviewKind, record: Reviewed, decider) -> None:
    """Refuse (SELF_APPROVAL) a decision by the proposer, or on a record with none."""
    if record.proposed_by_id is None or record.proposed_by_id == decider.pk:
        raise DomainError("SELF_APPROVAL", case=kind.case)


def _decided(record: Reviewed, status: str, decider, at: dt.datetime, reason: str):
    record.status = status
    record.decided_by = decider
    record.decided_at = at
    record.decision_reason = reason
    return saved_by(record, decider)


@transaction.atomic
def review_approve(*, kind: ReviewKind, record: Reviewed, decider, reason: str = "") -> Reviewed:
    """Approve ``record`` (re-read under a lock): a second person, the kind's effect applied,
    then the decision saved. Returns the record as decided."""
    record = _pending_locked(kind, record.pk)
    _second_person(kind, record, decider)
    now = timezone.now()
    if kind.on_approve is not None:
        kind.on_approve(record, decider, now)
    reason = (reason or "").strip()[:500]
    return _decided(record, kind.model.Status.APPROVED, decider, now, reason)


@transaction.atomic
def review_reject(*, kind: ReviewKind, record: Reviewed, decider, reason: str) -> Reviewed:
    """Reject ``record`` with a reason (required); nothing else changes."""
    reason = required_reason(reason, *kind.reason_required)
    record = _pending_locked(kind, record.pk)
    _second_person(kind, record, decider)
    return _decided(record, kind.model.Status.REJECTED, decider, timezone.now(), reason)
