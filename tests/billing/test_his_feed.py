"""The HIS feed: encounters, orders, charges keyed in at HIS, refunds (docs/contract.md)."""

import uuid

import pytest
from django.utils import timezone

from billing.models import ChargeLine, DoctorOrder, Encounter, Patient
from config import roles
from tests.billing.conftest import client_for, stocked_item
from tests.factories import DepartmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def his(hospital):
    return client_for("his", roles.INTEGRATION)


def now():
    return timezone.now().isoformat()


def test_encounter_is_created_then_updated_by_visit_number(his, hospital):
    body = {
        "visit_no": "ZY900",
        "patient_id": "P900",
        "patient_name": "李四",
        "insurance_type": "居民医保",
        "department": "XNK",
        "admitted_at": now(),
    }
    assert his.post("/api/v1/encounters", body, format="json").status_code == 201
    body["insurance_type"] = "自费"
    assert his.post("/api/v1/encounters", body, format="json").status_code == 200
    assert Encounter.objects.get(visit_no="ZY900").insurance_type == "自费"


def test_discharge_closes_the_encounter(his, hospital):
    response = his.post("/api/v1/encounters/ZY001/discharge", {}, format="json")
    assert response.status_code == 200
    assert Encounter.objects.get(visit_no="ZY001").discharged_at is not None


def test_the_platform_person_number_comes_with_the_encounter_and_stays(his, hospital):
    body = {
        "visit_no": "ZY901",
        "patient_id": "P901",
        "patient_name": "王五",
        "insurance_type": "职工医保",
        "department": "XNK",
        "admitted_at": now(),
        "psn_no": "51000019900101123X",
    }
    assert his.post("/api/v1/encounters", body, format="json").status_code == 201
    del body["psn_no"]  # not sent again: kept
    assert his.post("/api/v1/encounters", body, format="json").status_code == 200
    encounter = Encounter.objects.get(visit_no="ZY901")
    assert encounter.psn_no == "51000019900101123X"
    body["psn_no"] = "51000019900101124X"
    assert his.post("/api/v1/encounters", body, format="json").status_code == 200
    encounter.refresh_from_db()
    assert encounter.psn_no == "51000019900101124X"
    assert "人员编号" in encounter.history.first().history_change_reason
    body["psn_no"] = "X" * 31
    response = his.post("/api/v1/encounters", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_the_settlement_id_comes_with_the_discharge_or_after_it(his, hospital):
    response = his.post("/api/v1/encounters/ZY001/discharge", {}, format="json")
    assert response.status_code == 200
    first = Encounter.objects.get(visit_no="ZY001").discharged_at
    response = his.post(
        "/api/v1/encounters/ZY001/discharge", {"setl_id": "SETL20260301001"}, format="json"
    )
    assert response.status_code == 200
    encounter = Encounter.objects.get(visit_no="ZY001")
    assert encounter.setl_id == "SETL20260301001" and encounter.discharged_at == first
    response = his.post("/api/v1/encounters/ZY001/discharge", {"setl_id": "S" * 31}, format="json")
    assert response.status_code == 400


def test_order_is_idempotent_on_order_id(his, hospital):
    body = {
        "order_id": "YZ9",
        "encounter": "ZY001",
        "order_code": "YZ00000001",
        "quantity": 2,
        "ordered_at": now(),
        "doctor": "王医生",
    }
    assert his.post("/api/v1/orders", body, format="json").status_code == 201
    assert his.post("/api/v1/orders", body, format="json").status_code == 200
    assert DoctorOrder.objects.count() == 1


CHARGED_AT = timezone.now().isoformat()


def charge(his, consumable, event_id=None, **extra):
    body = {
        "event_id": str(event_id or uuid.uuid4()),
        "encounter": "ZY001",
        "charge_code": consumable.charge_code,
        "quantity": 2,
        "unit_price": "8.50",
        "charged_at": CHARGED_AT,
        **extra,
    }
    return his.post("/api/v1/charges", body, format="json")


def test_his_charge_copies_the_five_codes_and_replays(his, hospital):
    consumable, _, _ = stocked_item(hospital, "690555100001", price="8.5")
    event_id = uuid.uuid4()
    first = charge(his, consumable, event_id)
    again = charge(his, consumable, event_id)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    line = ChargeLine.objects.get()
    assert (line.source, line.amount, line.insurance_code) == ("his", 17, consumable.insurance_code)


def test_his_charge_with_reused_event_id_is_refused(his, hospital):
    consumable, _, _ = stocked_item(hospital, "690555100002")
    event_id = uuid.uuid4()
    charge(his, consumable, event_id)
    response = charge(his, consumable, event_id, quantity=5)
    assert response.json()["error"]["code"] == "EVENT_ID_REUSED"


def test_his_charge_for_unknown_charge_code_is_refused(his, hospital):
    response = his.post(
        "/api/v1/charges",
        {
            "event_id": str(uuid.uuid4()),
            "encounter": "ZY001",
            "charge_code": "NOPE",
            "quantity": 1,
            "unit_price": "1",
            "charged_at": now(),
        },
        format="json",
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "UNKNOWN_CODE"


def test_refund_is_recorded_once_and_cannot_exceed_the_charge(his, hospital):
    consumable, _, _ = stocked_item(hospital, "690555100003")
    charge_id = charge(his, consumable).json()["charge"]["id"]
    url = f"/api/v1/charges/{charge_id}/refund"
    event_id = str(uuid.uuid4())
    body = {"event_id": event_id, "quantity": 1, "refunded_at": now()}
    assert his.post(url, body, format="json").status_code == 201
    assert his.post(url, body, format="json").status_code == 200
    too_much = {"event_id": str(uuid.uuid4()), "quantity": 2, "refunded_at": now()}
    response = his.post(url, too_much, format="json")
    assert response.json()["error"]["code"] == "REFUND_EXCEEDS_CHARGE"
    assert ChargeLine.objects.get().refunded_quantity == 1


def test_his_feed_needs_the_integration_role(hospital):
    response = hospital["nurse"].post("/api/v1/orders", {}, format="json")
    assert response.status_code == 403


# Issue 13, finding 5: HIS may not silently rewrite a patient's encounter (docs/contract.md).


def encounter_body(**changes):
    """ZY001 as the hospital fixture made it, as HIS would post it again."""
    encounter = Encounter.objects.select_related("patient", "department").get(visit_no="ZY001")
    return {
        "visit_no": "ZY001",
        "patient_id": encounter.patient.patient_id,
        "patient_name": encounter.patient.name,
        "insurance_type": encounter.insurance_type,
        "department": encounter.department.code,
        "admitted_at": encounter.admitted_at.isoformat(),
        **changes,
    }


def order_body(**changes):
    return {
        "order_id": "YZ77",
        "encounter": "ZY001",
        "order_code": "YZ00000001",
        "quantity": 1,
        "ordered_at": now(),
        "doctor": "王医生",
        **changes,
    }


def discharge(his, visit_no="ZY001"):
    response = his.post(f"/api/v1/encounters/{visit_no}/discharge", {}, format="json")
    assert response.status_code == 200


def test_posting_a_visit_number_with_another_patient_is_refused_as_a_conflict(his, hospital):
    consumable, _, _ = stocked_item(hospital, "690555100011")
    assert charge(his, consumable).status_code == 201
    response = his.post(
        "/api/v1/encounters",
        encounter_body(patient_id="P999", patient_name="王五"),
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ENCOUNTER_CONFLICT"
    line = ChargeLine.objects.select_related("encounter__patient").get()
    assert line.encounter.patient.patient_id == "P001"
    assert not Patient.objects.filter(patient_id="P999").exists()


def test_another_patient_on_a_discharged_visit_number_is_refused_as_a_conflict(his, hospital):
    discharge(his)
    response = his.post("/api/v1/encounters", encounter_body(patient_id="P999"), format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ENCOUNTER_CONFLICT"
    assert Encounter.objects.get(visit_no="ZY001").patient.patient_id == "P001"


def test_posting_the_same_encounter_again_unchanged_changes_nothing(his, hospital):
    before = Encounter.history.filter(visit_no="ZY001").count()
    response = his.post("/api/v1/encounters", encounter_body(), format="json")
    assert response.status_code == 200
    assert response.json() == {"visit_no": "ZY001", "created": False}
    assert Encounter.history.filter(visit_no="ZY001").count() == before


def test_insurance_type_and_ward_changes_are_kept_in_the_encounter_history(his, hospital):
    DepartmentFactory(code="WK", name="外科病区")
    response = his.post(
        "/api/v1/encounters",
        encounter_body(insurance_type="自费", department="WK"),
        format="json",
    )
    assert response.status_code == 200
    change = Encounter.history.filter(visit_no="ZY001").latest("history_id")
    previous = change.prev_record
    assert (previous.insurance_type, previous.department.code) == ("职工医保", "XNK")
    assert (change.insurance_type, change.department.code) == ("自费", "WK")
    assert change.history_user.username == "his"
    assert "职工医保 → 自费" in change.history_change_reason
    assert "XNK → WK" in change.history_change_reason
    changed = {c.field for c in change.diff_against(previous).changes}
    assert changed == {"insurance_type", "department"}


def test_changing_a_discharged_encounter_is_refused_as_closed(his, hospital):
    discharge(his)
    response = his.post("/api/v1/encounters", encounter_body(insurance_type="自费"), format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ENCOUNTER_CLOSED"
    assert Encounter.objects.get(visit_no="ZY001").insurance_type == "职工医保"


def test_a_discharged_encounter_posted_again_unchanged_is_accepted(his, hospital):
    discharge(his)
    response = his.post("/api/v1/encounters", encounter_body(), format="json")
    assert response.status_code == 200


def test_order_on_a_discharged_encounter_is_refused_as_closed(his, hospital):
    discharge(his)
    response = his.post("/api/v1/orders", order_body(), format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ENCOUNTER_CLOSED"
    assert not DoctorOrder.objects.exists()


def test_an_order_replayed_after_discharge_is_accepted_unchanged(his, hospital):
    body = order_body()
    assert his.post("/api/v1/orders", body, format="json").status_code == 201
    discharge(his)
    assert his.post("/api/v1/orders", body, format="json").status_code == 200
    response = his.post("/api/v1/orders", {**body, "quantity": 3}, format="json")
    assert response.json()["error"]["code"] == "ENCOUNTER_CLOSED"
    assert DoctorOrder.objects.get().quantity == 1


def test_an_order_never_moves_to_another_encounter(his, hospital):
    other = Encounter.objects.create(
        visit_no="ZY002",
        patient=Patient.objects.create(patient_id="P002", name="李四"),
        department=hospital["ward"],
        admitted_at=timezone.now(),
    )
    assert his.post("/api/v1/orders", order_body(), format="json").status_code == 201
    response = his.post("/api/v1/orders", order_body(encounter=other.visit_no), format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ORDER_CONFLICT"
    assert DoctorOrder.objects.get().encounter.visit_no == "ZY001"


def test_an_order_of_an_open_encounter_may_be_amended(his, hospital):
    assert his.post("/api/v1/orders", order_body(), format="json").status_code == 201
    response = his.post("/api/v1/orders", order_body(quantity=2), format="json")
    assert response.status_code == 200
    assert DoctorOrder.objects.get().quantity == 2


def test_an_auditor_reads_the_insurance_type_change_on_the_encounter_history_page(
    his, hospital, admin_client
):
    his.post("/api/v1/encounters", encounter_body(insurance_type="自费"), format="json")
    encounter = Encounter.objects.get(visit_no="ZY001")
    page = admin_client.get(f"/admin/billing/encounter/{encounter.pk}/history/")
    assert page.status_code == 200
    assert "医保类型 职工医保 → 自费" in page.content.decode()
