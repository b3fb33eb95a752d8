"""The HIS feed: encounters, orders, charges keyed in at HIS, refunds (CONTRACT.md)."""

import uuid

import pytest
from django.utils import timezone

from billing.models import ChargeLine, DoctorOrder, Encounter
from config import roles
from tests.billing.conftest import client_for, stocked_item

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
