"""Encounters as HIS sends them, and the look-ups the bedside path needs."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from inventory.models import Department
from inventory.services.scans import department_by_code

from .. import errors
from ..models import DoctorOrder, Encounter, Patient


def encounter_for_write(
    visit_no: str | None, *, lock: bool = False, annotate: dict | None = None
) -> Encounter:
    """The open encounter ``visit_no`` (UNKNOWN_ENCOUNTER / ENCOUNTER_CLOSED otherwise),
    with the caller's ``annotate`` expressions read in the same query."""
    encounters = Encounter.objects.select_related("patient").annotate(**(annotate or {}))
    if lock:
        encounters = encounters.select_for_update()
    encounter = encounters.filter(visit_no=visit_no).first() if visit_no else None
    if encounter is None:
        raise errors.unknown_encounter(visit_no)
    if encounter.discharged_at is not None:
        raise errors.encounter_closed(encounter.visit_no)
    return encounter


@transaction.atomic
def encounter_upsert(
    *,
    visit_no: str,
    patient_id: str,
    patient_name: str,
    insurance_type: str,
    department: str,
    admitted_at: dt.datetime,
) -> tuple[Encounter, bool]:
    """Create or update an encounter from the HIS feed (idempotent on ``visit_no``)."""
    ward = department_by_code(department)
    patient, _ = Patient.objects.update_or_create(
        patient_id=patient_id, defaults={"name": patient_name}
    )
    return Encounter.objects.update_or_create(
        visit_no=visit_no,
        defaults={
            "patient": patient,
            "insurance_type": insurance_type,
            "department": ward,
            "admitted_at": admitted_at,
        },
    )


@transaction.atomic
def encounter_discharge(*, visit_no: str, discharged_at: dt.datetime) -> Encounter:
    """Close an encounter; discharging twice keeps the first time."""
    encounter = Encounter.objects.select_for_update().filter(visit_no=visit_no).first()
    if encounter is None:
        raise errors.unknown_encounter(visit_no)
    if encounter.discharged_at is None:
        encounter.discharged_at = discharged_at
        encounter.save(update_fields=["discharged_at"])
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
    """Create or update a doctor order from HIS (idempotent on ``order_id``)."""
    visit = Encounter.objects.filter(visit_no=encounter).first()
    if visit is None:
        raise errors.unknown_encounter(encounter)
    return DoctorOrder.objects.update_or_create(
        order_id=order_id,
        defaults={
            "encounter": visit,
            "order_code": order_code,
            "quantity": quantity,
            "ordered_at": ordered_at,
            "doctor": doctor,
        },
    )


def usable_at_bedside(department: Department) -> bool:
    return department.kind in (Department.Kind.WARD, Department.Kind.THEATRE)
