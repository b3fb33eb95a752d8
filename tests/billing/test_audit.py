"""The pre-discharge audit (出院预审核): GET /api/v1/encounters/{visit_no}/audit and the page."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from config import roles
from consumables.models import Consumable
from tests.billing.conftest import client_for, post_scan, stocked_item
from tests.factories import DepartmentFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/encounters/ZY001/audit"
PAGE = "/billing/audit/ZY001/"


@pytest.fixture
def his(hospital):
    return client_for("his", roles.INTEGRATION)


@pytest.fixture
def unbilled(hospital, his):
    """A HIS-billed item ordered ×3, used ×3 at the bedside, charged ×1 at HIS."""
    consumable, _, (code,) = stocked_item(
        hospital, "690999000001", billed_by=Consumable.BilledBy.HIS
    )
    his.post(
        "/api/v1/orders",
        {
            "order_id": "O-1",
            "encounter": "ZY001",
            "order_code": consumable.order_code,
            "quantity": 3,
            "ordered_at": (timezone.now() - dt.timedelta(hours=2)).isoformat(),
            "doctor": "王医生",
        },
        format="json",
    )
    response = post_scan(hospital["nurse"], "use", code, "XNK", encounter="ZY001", quantity=3)
    assert response.status_code == 201, response.json()
    response = his.post(
        "/api/v1/charges",
        {
            "event_id": str(uuid.uuid4()),
            "encounter": "ZY001",
            "charge_code": consumable.charge_code,
            "quantity": 1,
            "unit_price": "25.5",
            "charged_at": timezone.now().isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return consumable


def logged_in(client):
    client.force_login(client.user)
    return client


def test_api_lists_items_orders_and_findings_for_a_nurse_of_the_ward(hospital, unbilled):
    response = hospital["nurse"].get(API)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["encounter"]["visit_no"] == "ZY001"
    assert body["encounter"]["department"] == "XNK"
    assert body["patient"]["name"] == "张三"
    (item,) = body["items"]
    assert item["material_code"] == unbilled.material_code
    assert (item["used"], item["returned"], item["charged"], item["refunded"]) == (3, 0, 1, 0)
    assert item["orders"][0]["order_code"] == unbilled.order_code
    assert item["orders"][0]["quantity"] == 3
    (finding,) = body["findings"]
    assert (finding["kind"], finding["quantity"], finding["action"]) == (
        "UNBILLED_USE",
        2,
        "补计费",
    )
    assert "少计费 2" in finding["explanation"]


def test_page_shows_findings_with_what_to_do_for_a_nurse_of_the_ward(hospital, unbilled):
    response = logged_in(hospital["nurse"]).get(PAGE)
    assert response.status_code == 200
    text = response.content.decode()
    assert "张三" in text
    assert 'data-kind="UNBILLED_USE"' in text
    assert "补计费" in text
    assert unbilled.material_code in text


def test_clean_encounter_page_says_there_is_nothing_to_fix(hospital):
    response = logged_in(hospital["nurse"]).get(PAGE)
    assert response.status_code == 200
    assert 'id="no-findings"' in response.content.decode()


def test_api_refuses_a_nurse_of_another_ward(hospital, unbilled):
    other = client_for("nurse02", roles.NURSE, DepartmentFactory(code="WK", name="外科病区"))
    response = other.get(API)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "PERMISSION_DENIED"


def test_page_refuses_a_nurse_of_another_ward(hospital):
    other = client_for("nurse02", roles.NURSE, DepartmentFactory(code="WK", name="外科病区"))
    assert logged_in(other).get(PAGE).status_code == 403


def test_finance_sees_a_masked_patient_name(hospital, unbilled):
    finance = client_for("finance01", roles.FINANCE)
    body = finance.get(API).json()
    assert body["patient"]["name"] == "张*"
    assert [f["kind"] for f in body["findings"]] == ["UNBILLED_USE"]


def test_insurance_office_sees_the_name(hospital):
    office = client_for("ybb01", roles.INSURANCE_OFFICE)
    assert office.get(API).json()["patient"]["name"] == "张三"


def test_storekeeper_may_not_read_the_audit(hospital):
    assert hospital["keeper"].get(API).status_code == 403


def test_unknown_visit_number_is_404_unknown_encounter(hospital):
    response = hospital["nurse"].get("/api/v1/encounters/NOPE/audit")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "UNKNOWN_ENCOUNTER"


def test_search_box_opens_the_encounter(hospital):
    response = logged_in(hospital["nurse"]).get("/billing/audit/", {"visit_no": " ZY001 "})
    assert response.status_code == 302
    assert response["Location"] == PAGE
