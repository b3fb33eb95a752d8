"""Encounters as HIS sends them, and the look-ups the bedside path needs."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from config.error_codes import Both
from config.errors import DomainError
from config.event_times import refuse_if_ahead
from consumables.models import Consumable
from inventory.services.scans import department_by_code
from organisation.models import Department

from .. import errors, rules
from ..models import ChargeLine, Consent, DoctorOrder, Encounter, Patient
from .discharge_gate import unresolved_findings
from .insurance_types import encounter_is_insured, insurance_type_or_refuse, insured_expression


def encounter_for_write(
    visit_no: str | None,
    *,
    lock: bool = False,
    annotate: dict | None = None,
    on_ward: Department | None = None,
) -> Encounter:
    """The open encounter ``visit_no`` (UNKNOWN_ENCOUNTER / ENCOUNTER_CLOSED otherwise),
    with ``insured`` (its insurance type is insured) and the caller's ``annotate``
    expressions read in the same query; with ``on_ward``, a patient of that ward
    (``refuse_unless_on_ward``)."""
    encounters = encounters_for_write(annotate=annotate)
    if lock:
        encounters = encounters.select_for_update(of=("self",))
    encounter = encounters.filter(visit_no=visit_no).first() if visit_no else None
    return refuse_unless_open(encounter, visit_no, on_ward=on_ward)


def encounters_for_write(*, annotate: dict | None = None) -> QuerySet:
    """Encounters as a write reads them: with the patient, the ward, ``insured`` and the
    caller's ``annotate`` expressions."""
    return Encounter.objects.select_related("patient", "department").annotate(
        insured=insured_expression(), **(annotate or {})
    )


def refuse_unless_open(
    encounter: Encounter | None, visit_no: str | None, *, on_ward: Department | None = None
) -> Encounter:
    """``encounter`` (the one read for ``visit_no``, or None) if a write may name it:
    UNKNOWN_ENCOUNTER, ENCOUNTER_CLOSED, and with ``on_ward`` ENCOUNTER_NOT_ON_WARD
    otherwise."""
    if encounter is None:
        raise errors.unknown_encounter(visit_no)
    if encounter.discharged_at is not None:
        raise errors.encounter_closed(encounter.visit_no)
    if on_ward is not None:
        refuse_unless_on_ward(encounter, on_ward)
    return encounter


def refuse_unless_on_ward(encounter: Encounter, department: Department) -> None:
    """A use or a return from a patient happens on the patient's own ward; a theatre takes
    the patients of every ward (ENCOUNTER_NOT_ON_WARD otherwise). The one place this rule
    lives: the bedside page's patient panel and the scan API both call it."""
    if department.kind == Department.Kind.WARD and encounter.department_id != department.pk:
        raise DomainError(
            "ENCOUNTER_NOT_ON_WARD",
            encounter=encounter.visit_no,
            patient_ward=encounter.department.name,
            ward=Both(department.name, department.code),
            detail={"encounter": encounter.visit_no, "department": encounter.department.code},
        )


@transaction.atomic
def encounter_upsert(
    *,
    visit_no: str,
    patient_id: str,
    patient_name: str,
    insurance_type: str,
    department: str,
    admitted_at: dt.datetime,
    psn_no: str | None = None,
) -> tuple[Encounter, bool]:
    """Create or update an encounter from the HIS feed (idempotent on ``visit_no``).

    A visit number stays with its patient: another ``patient_id`` is ENCOUNTER_CONFLICT,
    so HIS cannot move an encounter and its charges to someone else. The same post again
    changes nothing; a discharged encounter is refused any change (ENCOUNTER_CLOSED). A
    change of insurance type or ward is saved with its reason (old -> new) in the
    encounter's history, under the HIS account that sent it.
    """
    ward = department_by_code(department)
    encounter = _encounter_locked(visit_no)
    insurance_type_or_refuse(
        insurance_type, current=encounter.insurance_type if encounter else None
    )
    wanted = {"insurance_type": insurance_type, "department": ward, "admitted_at": admitted_at}
    if psn_no is not None:  # the insured person's number (人员编号), where HIS sends it
        wanted["psn_no"] = psn_no
    if encounter is None:
        patient = _patient_upsert(patient_id=patient_id, name=patient_name)
        encounter, created = Encounter.objects.select_for_update().get_or_create(
            visit_no=visit_no, defaults={"patient": patient, **wanted}
        )
        if created:
            return encounter, True
        encounter = _encounter_locked(visit_no)  # created meanwhile by a concurrent post
    if encounter.patient.patient_id != patient_id:
        raise errors.encounter_conflict(visit_no, patient_id)
    changes = _encounter_changes(encounter, wanted)
    if not changes and encounter.patient.name == patient_name:
        return encounter, False
    if encounter.discharged_at is not None:
        raise errors.encounter_closed(visit_no)
    _patient_upsert(patient_id=patient_id, name=patient_name)
    if changes:
        for name, value in wanted.items():
            setattr(encounter, name, value)
        encounter._change_reason = _change_reason(changes)
        encounter.save(update_fields=list(wanted))
        insurance = [c for c in changes if c[0] == "insurance_type"]
        if insurance:
            encounter.insurance_recheck = insurance_recheck(encounter, *insurance[0][1:])
    return encounter, False


def insurance_recheck(encounter: Encounter, old: str, new: str) -> dict:
    """Re-check the open lines of ``encounter`` after its insurance type went ``old`` ->
    ``new`` (the change is saved already, with its history).

    A charge line is not rewritten (a trigger keeps it as charged: it is what HIS billed),
    so this reports: ``self_pay_changed``, the standing lines whose self-pay share
    (``charges.is_self_pay``) differs under the new type (the ward refunds and charges them
    again); ``findings``, the line findings about consent and restricted items now standing
    (SELF_PAY_WITHOUT_CONSENT, naming the change). The audit and the nightly run find the
    same from then on. Two queries.
    """
    insured = encounter_is_insured(Encounter(insurance_type=new))
    lines = (
        ChargeLine.objects.filter(encounter=encounter, refunded_quantity__lt=F("quantity"))
        .annotate(
            consented=Exists(
                Consent.objects.filter(
                    encounter_id=OuterRef("encounter_id"), consumable_id=OuterRef("consumable_id")
                )
            )
        )
        .values("pk", "material_code", "self_pay", "consented", "consumable__insurance_class")
        .order_by("pk")
    )
    changed = []
    for line in lines:
        klass = line["consumable__insurance_class"]
        now = (
            not insured
            or klass == Consumable.InsuranceClass.SELF_PAY
            or (klass == Consumable.InsuranceClass.RESTRICTED and line["consented"])
        )
        if now != line["self_pay"]:
            changed.append(
                {
                    "charge": line["pk"],
                    "material_code": line["material_code"],
                    "self_pay": line["self_pay"],
                    "self_pay_now": now,
                }
            )
    found = [
        f.as_row()
        for f in rules.line_findings([encounter.pk], until=timezone.now())
        if f.kind == rules.SELF_PAY_WITHOUT_CONSENT
    ]
    return {"insurance_change": f"{old} → {new}", "self_pay_changed": changed, "findings": found}


def _encounter_locked(visit_no: str) -> Encounter | None:
    return (
        Encounter.objects.select_for_update(of=("self",))
        .select_related("patient", "department")
        .filter(visit_no=visit_no)
        .first()
    )


def _patient_upsert(*, patient_id: str, name: str) -> Patient:
    patient, created = Patient.objects.select_for_update().get_or_create(
        patient_id=patient_id, defaults={"name": name}
    )
    if not created and patient.name != name:
        patient.name = name
        patient.save(update_fields=["name"])
    return patient


# Labels of the history reason an auditor reads (history_change_reason, 100 characters).
CHANGE_LABELS = {
    "insurance_type": "医保类型",
    "department": "病区",
    "admitted_at": "入院时间",
    "psn_no": "人员编号",
}


def _encounter_changes(encounter: Encounter, wanted: dict) -> list[tuple[str, str, str]]:
    """``(field, old, new)`` for each field HIS changes, in words an auditor reads."""
    changes = []
    for name, new in wanted.items():
        old = getattr(encounter, name)
        if old != new:
            if name == "admitted_at":
                old, new = (timezone.localtime(t).isoformat(timespec="minutes") for t in (old, new))
            elif name == "department":
                old, new = old.code, new.code
            changes.append((name, str(old), str(new)))
    return changes


def _change_reason(changes: list[tuple[str, str, str]]) -> str:
    text = "HIS: " + "; ".join(f"{CHANGE_LABELS[name]} {old} → {new}" for name, old, new in changes)
    return text[:100]


def gated_findings(
    encounter: Encounter, *, found: list[rules.Finding] | None = None
) -> list[rules.Finding]:
    """The findings that hold ``encounter``'s discharge (出院预审核): those of the kinds in
    ``DISCHARGE_GATE_KINDS`` (empty: the gate is off, no query) standing now and not
    resolved by the follow-up (``discharge_gate.unresolved_findings``). ``found``: the
    encounter's findings up to now when the caller has them (the audit page)."""
    kinds = settings.DISCHARGE_GATE_KINDS
    if not kinds:
        return []
    if found is None:
        found = rules.findings([encounter.pk], until=timezone.now())
    return unresolved_findings([f for f in found if f.kind in kinds])


def refuse_unless_audited(encounter: Encounter) -> None:
    """OPEN_FINDINGS (409) with the list while ``gated_findings`` remain."""
    held = gated_findings(encounter)
    if held:
        raise DomainError(
            "OPEN_FINDINGS",
            encounter=encounter.visit_no,
            count=len(held),
            detail={"encounter": encounter.visit_no, "findings": [f.as_row() for f in held]},
        )


@transaction.atomic
def encounter_discharge(
    *, visit_no: str, discharged_at: dt.datetime, setl_id: str = ""
) -> Encounter:
    """Close an encounter; discharging twice keeps the first time. A discharge ahead of the
    server clock or before the admission is TIME_OUT_OF_RANGE (it may be keyed in late, so
    it has no back-dating window). With the discharge gate on, open findings of the gated
    kinds hold it (OPEN_FINDINGS, ``refuse_unless_audited``). ``setl_id``: the insurance
    settlement's id (结算ID), kept once known (a later discharge post may bring it)."""
    encounter = Encounter.objects.select_for_update().filter(visit_no=visit_no).first()
    if encounter is None:
        raise errors.unknown_encounter(visit_no)
    if encounter.discharged_at is None:
        refuse_unless_audited(encounter)
        refuse_if_ahead(
            discharged_at,
            field="discharged_at",
            not_before=encounter.admitted_at,
            reason="BEFORE_ADMISSION",
        )
        encounter.discharged_at = discharged_at
        encounter.save(update_fields=["discharged_at"])
    if setl_id and encounter.setl_id != setl_id:
        encounter.setl_id = setl_id
        encounter._change_reason = f"HIS: 结算ID / settlement id → {setl_id}"
        encounter.save(update_fields=["setl_id"])
    return encounter


@transaction.atomic
def order_upsert(
    *,
    order_id: str,
    encounter: str,
    order_code: str,
    quantity: int,
    ordered_at: dt.datetime,
    doctor: str = "",
) -> tuple[DoctorOrder, bool]:
    """Create or update a doctor order from HIS (idempotent on ``order_id``).

    An order's encounter never changes (ORDER_CONFLICT); a discharged encounter takes no
    new or changed order (ENCOUNTER_CLOSED), though the same order posted again is a no-op.
    """
    visit = Encounter.objects.select_for_update().filter(visit_no=encounter).first()
    if visit is None:
        raise errors.unknown_encounter(encounter)
    wanted = {
        "order_code": order_code,
        "quantity": quantity,
        "ordered_at": ordered_at,
        "doctor": doctor,
    }
    order = (
        DoctorOrder.objects.select_for_update(of=("self",))
        .select_related("encounter")
        .filter(order_id=order_id)
        .first()
    )
    if order is None:
        if visit.discharged_at is not None:
            raise errors.encounter_closed(visit.visit_no)
        order, created = DoctorOrder.objects.select_for_update().get_or_create(
            order_id=order_id, defaults={"encounter": visit, **wanted}
        )
        if created:
            return order, True
        # else created meanwhile by a post for another encounter: checked as any other.
    if order.encounter_id != visit.pk:
        raise errors.order_conflict(order_id, order.encounter.visit_no, encounter)
    if all(getattr(order, name) == value for name, value in wanted.items()):
        return order, False
    if visit.discharged_at is not None:
        raise errors.encounter_closed(visit.visit_no)
    for name, value in wanted.items():
        setattr(order, name, value)
    order.save(update_fields=list(wanted))
    return order, False


def usable_at_bedside(department: Department) -> bool:
    return department.kind in (Department.Kind.WARD, Department.Kind.THEATRE)
