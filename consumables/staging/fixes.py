"""Fixing the workspace one row at a time: correct a row's codes, exclude a wrong row, or
restore an excluded one. One transaction each, with the row's history naming who and why,
and a new conflict snapshot."""

from __future__ import annotations

from django.db import transaction

from config.error_codes import Both
from config.errors import DomainError

from ..reviews.services import required_reason
from .conflicts import take_snapshot
from .loading import EDITABLE, SUPPLIER_EDITABLE, restaged
from .models import ConflictSnapshot, StagingRow


def _locked(row_id: int, status: str) -> StagingRow:
    row = StagingRow.objects.select_for_update().select_related("batch").get(pk=row_id)
    if row.status != status:
        raise DomainError(
            "STAGING_ROW_NOT_EDITABLE",
            status=Both(row.get_status_display(), row.status),
            detail={"status": row.status},
        )
    return row


def _save(row: StagingRow, user, reason: str) -> StagingRow:
    row._history_user = user
    row._change_reason = reason[:100]
    row.save()
    take_snapshot(trigger=ConflictSnapshot.Trigger.FIX, batch=row.batch, user=user)
    return row


@transaction.atomic
def staging_row_fix(*, row: StagingRow, values: dict[str, str], user, note: str = ""):
    """Set the codes of a pending row (``values``: any of ``EDITABLE``, or of
    ``SUPPLIER_EDITABLE`` for a supplier row; '' clears one) and check it again with
    import_master's row rules. Its key code cannot be emptied."""
    unknown = set(values) - set(EDITABLE) - set(SUPPLIER_EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    row = _locked(row.pk, StagingRow.Status.PENDING)
    result = restaged(row, values)
    if isinstance(result, StagingRow):
        for name in (*EDITABLE, *SUPPLIER_EDITABLE, "problems"):
            setattr(row, name, getattr(result, name))
    else:
        raise DomainError(result.code, result.message, result.message, http_status=400)
    row.note = (note or "").strip()[:300]
    row.promotion_error = ""
    return _save(row, user, row.note or "逐条修正 / fixed by hand")


@transaction.atomic
def staging_row_exclude(*, row: StagingRow, user, note: str) -> StagingRow:
    """Take a wrong row out of the report and of promotion (it stays, marked excluded)."""
    note = required_reason(note, "排除须填写原因", "an exclusion needs a reason")
    row = _locked(row.pk, StagingRow.Status.PENDING)
    row.status = StagingRow.Status.EXCLUDED
    row.note = note[:300]
    return _save(row, user, note)


@transaction.atomic
def staging_row_restore(*, row: StagingRow, user) -> StagingRow:
    """Bring an excluded row back into the workspace."""
    row = _locked(row.pk, StagingRow.Status.EXCLUDED)
    row.status = StagingRow.Status.PENDING
    return _save(row, user, "恢复 / restored")
