"""What every review in the master shares (mapping changes, supplier submissions): lock the
record and check it still awaits a decision, a second person decides, a reason is given."""

from __future__ import annotations

from config.errors import DomainError


def pending_locked(model, pk: int, *, pending: str, code: str):
    """``model`` row ``pk`` under a row lock, refused with ``code`` (409) unless its status
    is still ``pending``: two people deciding at once decide once."""
    record = model.objects.select_for_update().get(pk=pk)
    if record.status != pending:
        raise DomainError(code, detail={"status": record.status})
    return record


def second_person(author_id: int | None, decider, *, case: str) -> None:
    """Refuse (SELF_APPROVAL, 403, worded as ``case``) a decision by the author of what is
    decided."""
    if author_id == decider.pk:
        raise DomainError("SELF_APPROVAL", case=case)


def required_reason(reason: str, zh: str = "请填写原因", en: str = "a reason is required"):
    """``reason`` stripped; an empty one is refused (every decision says why)."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("VALIDATION_ERROR", zh, en, http_status=400)
    return reason[:500]
