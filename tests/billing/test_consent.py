"""Self-pay informed consent (自费知情同意): POST /api/v1/consents and consent_record."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from billing.models import ChargeLine, Consent, Encounter, Patient
from billing.services.consent import consent_record
from config import roles
from consumables.models import Consumable
from organisation.models import Department
from tests.billing.conftest import client_for, post_scan, stocked_item
from tests.factories import DepartmentFactory

pytestmark = pytest.mark.django_db


def consent(client, code, encounter="ZY001", **extra):
    body = {"encounter": encounter, "code": code, "signed_by": "张小三", "relationship": "子女"}
    return client.post("/api/v1/consents", {**body, **extra}, format="json")


@pytest.fixture
def self_pay_item(hospital):
    consumable, di, (code,) = stocked_item(
        hospital,
        "690888000001",
        price="1200",
        insurance_class=Consumable.InsuranceClass.SELF_PAY,
    )
    return consumable, code


def test_consent_is_recorded_once_and_a_second_call_gets_the_first(hospital, self_pay_item):
    consumable, code = self_pay_item
    first = consent(hospital["nurse"], code)
    assert first.status_code == 201, first.json()
    body = first.json()
    assert (body["encounter"], body["material_code"]) == ("ZY001", consumable.material_code)
    assert (body["signed_by"], body["relationship"], body["recorded_by"]) == (
        "张小三",
        "子女",
        "nurse01",
    )

    # Any code of the same item names the same consent; the first signer stands.
    again = consent(hospital["nurse"], consumable.material_code, signed_by="别人")
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    assert again.json()["signed_by"] == "张小三"
    assert Consent.objects.count() == 1


def test_nurse_of_another_ward_may_not_record_a_consent(hospital, self_pay_item):
    _, code = self_pay_item
    other = client_for("nurse02", roles.NURSE, DepartmentFactory(code="WKB", name="外科病区"))
    response = consent(other, code)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "PERMISSION_DENIED"
    assert Consent.objects.count() == 0


def test_after_the_consent_the_same_refused_scan_is_accepted(hospital, self_pay_item):
    _, code = self_pay_item
    event_id = str(uuid.uuid4())
    refused = post_scan(hospital["nurse"], "use", code, "XNK", encounter="ZY001", event_id=event_id)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "CONSENT_REQUIRED"

    assert consent(hospital["nurse"], code).status_code == 201
    # A refusal recorded nothing: the page sends the same event id again.
    accepted = post_scan(
        hospital["nurse"], "use", code, "XNK", encounter="ZY001", event_id=event_id
    )
    assert accepted.status_code == 201, accepted.json()
    assert accepted.json()["charge"]["self_pay"] is True
    assert accepted.json()["charge"]["amount"] == "1200.00"
    assert ChargeLine.objects.get().self_pay is True


def test_unknown_encounter_and_unknown_code_are_refused(hospital, self_pay_item):
    _, code = self_pay_item
    unknown_visit = consent(hospital["nurse"], code, encounter="NOPE")
    assert (unknown_visit.status_code, unknown_visit.json()["error"]["code"]) == (
        404,
        "UNKNOWN_ENCOUNTER",
    )
    unknown_code = consent(hospital["nurse"], "NOT-A-CODE")
    assert (unknown_code.status_code, unknown_code.json()["error"]["code"]) == (
        404,
        "UNKNOWN_CODE",
    )
    assert Consent.objects.count() == 0


def test_discharged_encounter_takes_no_new_consent(hospital, self_pay_item):
    _, code = self_pay_item
    Encounter.objects.filter(pk=hospital["encounter"].pk).update(discharged_at=timezone.now())
    response = consent(hospital["nurse"], code)
    assert (response.status_code, response.json()["error"]["code"]) == (409, "ENCOUNTER_CLOSED")


@pytest.mark.parametrize(
    "field, value",
    [("relationship", "邻居"), ("signed_by", "  "), ("signed_at", "not a time")],
)
def test_bad_form_fields_are_a_validation_error(hospital, self_pay_item, field, value):
    _, code = self_pay_item
    response = consent(hospital["nurse"], code, **{field: value})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert Consent.objects.count() == 0


def test_signed_at_in_the_future_is_refused(hospital, self_pay_item):
    _, code = self_pay_item
    tomorrow = (timezone.now() + dt.timedelta(days=1)).isoformat()
    response = consent(hospital["nurse"], code, signed_at=tomorrow)
    assert response.status_code == 400
    assert response.json()["error"]["detail"]["field"] == "signed_at"


def test_storekeeper_may_not_record_and_administrator_may(hospital, self_pay_item):
    _, code = self_pay_item
    assert consent(hospital["keeper"], code).status_code == 403
    admin = client_for("admin01", roles.ADMINISTRATOR)
    assert consent(admin, code).status_code == 201


def test_theatre_nurse_records_the_consent_of_a_patient_from_any_ward(hospital, self_pay_item):
    _, code = self_pay_item
    theatre = DepartmentFactory(code="SSS", name="中心手术室", kind=Department.Kind.THEATRE)
    or_nurse = client_for("or-nurse", roles.NURSE, theatre)
    assert consent(or_nurse, code).status_code == 201


def test_consent_record_keeps_the_first_recording(hospital, self_pay_item):
    consumable, _ = self_pay_item
    encounter = hospital["encounter"]
    first, created = consent_record(
        encounter=encounter,
        consumable=consumable,
        signed_by="张三",
        relationship="本人",
        signed_at=None,
        recorded_by=hospital["nurse"].user,
    )
    second, created_again = consent_record(
        encounter=encounter,
        consumable=consumable,
        signed_by="李四",
        relationship="配偶",
        signed_at=timezone.now(),
        recorded_by=None,
    )
    assert (created, created_again) == (True, False)
    assert second.pk == first.pk and second.signed_by == "张三"
    # Per encounter: the same item in another encounter needs its own consent.
    other = Encounter.objects.create(
        visit_no="ZY009",
        patient=Patient.objects.create(patient_id="P009", name="赵六"),
        department=hospital["ward"],
        admitted_at=timezone.now(),
    )
    _, created_other = consent_record(
        encounter=other,
        consumable=consumable,
        signed_by="赵六",
        relationship="本人",
        signed_at=None,
        recorded_by=None,
    )
    assert created_other is True
