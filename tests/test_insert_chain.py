"""config.insert_chain: rows that point at each other, inserted in one statement (on
PostgreSQL; elsewhere one INSERT each)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import Encounter, Patient
from config.insert_chain import insert_chain
from tests.factories import DepartmentFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_a_row_gets_the_id_of_the_earlier_row_it_points_at_in_one_statement():
    ward = DepartmentFactory()
    patient = Patient(patient_id="P-CHAIN", name="张三")
    encounter = Encounter(
        visit_no="ZY-CHAIN", patient=patient, department=ward, admitted_at=timezone.now()
    )
    with CaptureQueriesContext(connection) as captured:
        insert_chain([patient, encounter])
    assert len(captured) == 1
    assert patient.pk and encounter.pk
    assert encounter.patient_id == patient.pk
    assert encounter.patient is patient  # the related object is kept
    stored = Encounter.objects.select_related("patient").get(pk=encounter.pk)
    assert (stored.patient.patient_id, stored.department_id) == ("P-CHAIN", ward.pk)


def test_a_row_pointing_at_a_later_row_is_refused():
    ward = DepartmentFactory()
    patient = Patient(patient_id="P-LATER", name="李四")
    encounter = Encounter(
        visit_no="ZY-LATER",
        patient=patient,
        department=ward,
        admitted_at=timezone.now() - dt.timedelta(hours=1),
    )
    with pytest.raises(ValueError, match="after"):
        insert_chain([encounter, patient])
    assert not Patient.objects.filter(patient_id="P-LATER").exists()


def _guard(patient_id: str) -> tuple[str, list]:
    """A guard that returns a row only while no patient ``patient_id`` exists yet."""
    return (
        "UPDATE billing_patient SET name = name WHERE patient_id = %s RETURNING id",
        [patient_id],
    )


def test_with_a_guard_that_returns_a_row_the_rows_are_inserted_in_the_same_statement():
    Patient.objects.create(patient_id="P-GUARD", name="王五")
    ward = DepartmentFactory()
    patient = Patient(patient_id="P-GUARDED", name="赵六")
    encounter = Encounter(
        visit_no="ZY-GUARDED", patient=patient, department=ward, admitted_at=timezone.now()
    )
    with CaptureQueriesContext(connection) as captured:
        assert insert_chain([patient, encounter], guard=_guard("P-GUARD")) is True
    assert len(captured) == 1
    assert Encounter.objects.get(pk=encounter.pk).patient_id == patient.pk


def test_with_a_guard_that_returns_no_row_nothing_is_inserted():
    ward = DepartmentFactory()
    patient = Patient(patient_id="P-UNGUARDED", name="孙七")
    encounter = Encounter(
        visit_no="ZY-UNGUARDED", patient=patient, department=ward, admitted_at=timezone.now()
    )
    assert insert_chain([patient, encounter], guard=_guard("P-NOBODY")) is False
    assert patient.pk is None and encounter.pk is None
    assert not Patient.objects.filter(patient_id="P-UNGUARDED").exists()
    assert not Encounter.objects.filter(visit_no="ZY-UNGUARDED").exists()
