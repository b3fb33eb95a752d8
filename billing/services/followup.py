"""Follow-up of findings (问题跟踪): confirm, dismiss, appeal, decide; and the watch list.

The state machine (a finding with no record is open, 待处理):

    open --confirm (医保办)-----------------------------> confirmed
    open / confirmed --dismiss + reason (医保办)--------> dismissed      (不予认定; final)
    open / confirmed --appeal + reason (科室护士)--------> appealed       (科室申诉)
    appealed --decide upheld + reason (医保办, not the appellant)--> appeal_upheld  (final)
    appealed --decide rejected + reason (医保办, not the appellant)-> appeal_rejected (final)

Roles: the insurance office confirms, dismisses and decides; the nurses who are members of
the finding's department appeal (there is no department-head role). Nobody decides his own
appeal (an administrator holds every role, so this is checked on the person, and the
database's check constraint backs it). The finding's department is read from the record
that reports it, never taken from the caller. Every step saves the record once, so its
history (django-simple-history) holds who, when, status and reason of each.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone, translation

from billing import rules
from billing.models import Encounter, ExceptionRow, FindingFollowUp, WatchListEntry
from billing.selectors import followup as sel
from billing.selectors.common import Period
from config import roles
from config.errors import DomainError
from config.permissions import has_role

Status = FindingFollowUp.Status
OPEN = sel.STATUS_OPEN

STEPS = {
    # step: (statuses it starts from, Chinese, English)
    "confirm": ((OPEN,), "确认", "confirmed"),
    "dismiss": ((OPEN, Status.CONFIRMED), "不予认定", "dismissed"),
    "appeal": ((OPEN, Status.CONFIRMED), "申诉", "appealed"),
    "decide": ((Status.APPEALED,), "裁定申诉", "decided"),
}
STATUS_EN = {OPEN: "open", **{s.value: s.value.replace("_", " ") for s in Status}}


def parse_key(key: str) -> dict:
    """The identity fields of a ``finding_key`` (``FOLLOWUP_UNKNOWN_FINDING`` if malformed)."""
    parts = (key or "").split("|")
    if len(parts) == 4 and all(parts[:2]):
        kind, encounter, material_code, ref = parts
        return {
            "kind": kind,
            "encounter": encounter,
            "department": "",
            "material_code": material_code,
            "ref": ref,
            "day": None,
        }
    if len(parts) == 6 and parts[0] and not parts[1]:
        kind, _, department, material_code, ref, day = parts
        try:
            day = dt.date.fromisoformat(day) if day else None
        except ValueError:
            raise DomainError("FOLLOWUP_UNKNOWN_FINDING", key=key[:200]) from None
        return {
            "kind": kind,
            "encounter": "",
            "department": department,
            "material_code": material_code,
            "ref": ref,
            "day": day,
        }
    raise DomainError("FOLLOWUP_UNKNOWN_FINDING", key=key[:200])


def _reported(key: str) -> dict:
    """The finding ``key`` names as its latest report states it (department, quantity, ref,
    detail, day): the nightly run's rows first, else the encounter's audit now."""
    ident = parse_key(key)
    rows = ExceptionRow.objects.filter(
        kind=ident["kind"],
        encounter_no=ident["encounter"],
        material_code=ident["material_code"],
        ref=ident["ref"],
    )
    if not ident["encounter"]:
        rows = rows.filter(department_code=ident["department"], run__date=ident["day"])
    row = rows.order_by("-run__date", "pk").values(*sel.ROW_FIELDS, "run__date").first()
    if row is not None:
        row["day"] = row.pop("run__date")
        return row
    if ident["encounter"]:
        encounter = Encounter.objects.filter(visit_no=ident["encounter"]).first()
        if encounter is not None:
            for f in rules.findings([encounter.pk], until=timezone.now()):
                if (
                    f.kind == ident["kind"]
                    and f.material_code == ident["material_code"]
                    and f.ref == ident["ref"]
                ):
                    return {
                        "kind": f.kind,
                        "encounter_no": f.encounter,
                        "department_code": f.department,
                        "material_code": f.material_code,
                        "quantity": f.quantity,
                        "ref": f.ref,
                        "detail": f.detail,
                        "user_id": None,
                        "day": None,
                    }
    raise DomainError("FOLLOWUP_UNKNOWN_FINDING", key=key[:200])


def _locked(key: str, reported: dict) -> FindingFollowUp:
    """The finding's follow-up record, locked; an unsaved one if it has none (open).

    An open finding has no row to lock, so two first steps at once (a confirm and an appeal)
    would both insert: a transaction-scoped advisory lock on the key serialises them, and
    the second then sees the first's row and its status (PostgreSQL; SQLite, the quick
    start, serialises writers anyway)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])
    record = FindingFollowUp.objects.select_for_update().filter(key=key).first()
    if record is None:
        ident = parse_key(key)
        record = FindingFollowUp(
            key=key,
            kind=ident["kind"],
            encounter_no=ident["encounter"],
            department_code=reported["department_code"] or "",
            material_code=ident["material_code"],
            ref=ident["ref"],
            day=ident["day"],
        )
    return record


def _check_step(record: FindingFollowUp, step: str) -> None:
    starts, zh, en = STEPS[step]
    status = record.status or OPEN
    if status not in starts:
        with translation.override("zh-hans"):  # the Chinese half, whatever the reader's language
            status_zh = str(sel.STATUS_LABELS[status]).split(" / ")[0]
        raise DomainError(
            "FOLLOWUP_STATUS",
            status=status_zh,
            step=zh,
            status_en=STATUS_EN[status],
            step_en=en,
            detail={"status": status, "step": step},
        )


def _reason(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise DomainError("FOLLOWUP_REASON_REQUIRED")
    return text


def _office(user) -> None:
    if not has_role(user, roles.INSURANCE_OFFICE):
        raise DomainError("FOLLOWUP_ROLE", case="office")


def _save(record: FindingFollowUp, user, reported: dict, reason_for_history: str) -> None:
    record.amount = sel.amount_of(reported, sel.read_sources([reported]))
    record._history_user = user
    record._change_reason = reason_for_history[:100]
    record.save()


@transaction.atomic
def followup_confirm(*, user, key: str, reason: str = "") -> FindingFollowUp:
    """The insurance office confirms the finding (确认): it stands and counts."""
    _office(user)
    reported = _reported(key)
    record = _locked(key, reported)
    _check_step(record, "confirm")
    record.status = Status.CONFIRMED
    record.reason = (reason or "").strip()
    record.decided_by, record.decided_at = user, timezone.now()
    _save(record, user, reported, "确认 / confirmed")
    return record


@transaction.atomic
def followup_dismiss(*, user, key: str, reason: str) -> FindingFollowUp:
    """The insurance office dismisses the finding (不予认定), with its reason."""
    _office(user)
    reason = _reason(reason)
    reported = _reported(key)
    record = _locked(key, reported)
    _check_step(record, "dismiss")
    record.status = Status.DISMISSED
    record.reason = reason
    record.decided_by, record.decided_at = user, timezone.now()
    _save(record, user, reported, "不予认定 / dismissed")
    return record


@transaction.atomic
def followup_appeal(*, user, key: str, reason: str, evidence: str = "") -> FindingFollowUp:
    """A nurse of the finding's department appeals it (科室申诉), with a reason and
    optionally evidence in words."""
    if not has_role(user, roles.NURSE):
        raise DomainError("FOLLOWUP_ROLE", case="department")
    reason = _reason(reason)
    reported = _reported(key)
    record = _locked(key, reported)
    department = record.department_code or reported["department_code"]
    if not user.is_superuser and not user.departments.filter(code=department).exists():
        raise DomainError(
            "FOLLOWUP_NOT_YOUR_DEPARTMENT",
            department=department or "—",
            detail={"department": department},
        )
    _check_step(record, "appeal")
    record.status = Status.APPEALED
    record.appeal_reason = reason
    record.appeal_evidence = (evidence or "").strip()
    record.appealed_by, record.appealed_at = user, timezone.now()
    _save(record, user, reported, "科室申诉 / appealed")
    return record


@transaction.atomic
def followup_decide(*, user, key: str, upheld: bool, reason: str) -> FindingFollowUp:
    """The insurance office decides an appeal: upheld (申诉通过: the finding no longer
    counts) or rejected (申诉驳回: it stands), with its reason; never by the appellant."""
    _office(user)
    reason = _reason(reason)
    reported = _reported(key)
    record = _locked(key, reported)
    _check_step(record, "decide")
    if record.appealed_by_id == user.pk:
        raise DomainError("FOLLOWUP_SELF_DECISION")
    record.status = Status.APPEAL_UPHELD if upheld else Status.APPEAL_REJECTED
    record.reason = reason
    record.decided_by, record.decided_at = user, timezone.now()
    _save(record, user, reported, "申诉通过 / upheld" if upheld else "申诉驳回 / rejected")
    return record


@transaction.atomic
def watch_list_update(*, month: dt.date) -> list[WatchListEntry]:
    """Put the top three of ``month`` by amount, in each dimension, on the watch list from
    that month for three months (Tianjin). Idempotent: re-running the month refreshes its
    entries' figures and adds none twice. Returns the month's entries."""
    month = sel.month_start(month)
    ranked = sel.rankings(Period.month(month.year, month.month), by="amount")
    until = sel.add_months(month, sel.WATCH_MONTHS - 1)
    entries = []
    for dimension, rows in ranked.items():
        top = rows[: sel.TOP]
        # A re-run after findings were dismissed may change the month's top three.
        WatchListEntry.objects.filter(dimension=dimension, since=month).exclude(
            subject__in=[row["subject"] for row in top]
        ).delete()
        for row in top:
            entry, _ = WatchListEntry.objects.update_or_create(
                dimension=dimension,
                subject=row["subject"],
                since=month,
                defaults={
                    "label": row["label"][:200],
                    "until": until,
                    "rank": row["rank"],
                    "amount": row["amount"],
                    "findings": row["findings"],
                },
            )
            entries.append(entry)
    return entries
