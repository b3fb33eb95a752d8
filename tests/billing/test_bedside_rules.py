"""Issue 12 through the API, on PostgreSQL: the bedside rules the page relies on are the
service's, so a PDA, HIS or a script posting to the API meets the same refusals.

Each refusal is checked for its code and for leaving nothing behind: no stock move, no use,
no charge line, no refund.
"""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import ChargeLine, ChargeRefund, Encounter, Patient, Use
from config import roles
from consumables.models import DeviceIdentifier
from inventory.models import StockMove
from organisation.models import Department
from tests.billing.conftest import client_for, gs1, post_scan, stocked_item
from tests.factories import DepartmentFactory, DeviceIdentifierFactory, PriceVersionFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def written() -> tuple[int, int, int, int]:
    return (
        StockMove.objects.count(),
        Use.objects.count(),
        ChargeLine.objects.count(),
        ChargeRefund.objects.count(),
    )


def refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.json()
    error = response.json()["error"]
    assert error["code"] == code
    return error


def inpatient(visit_no: str, ward: Department) -> Encounter:
    return Encounter.objects.create(
        visit_no=visit_no,
        patient=Patient.objects.create(patient_id=f"P-{visit_no}", name="李四"),
        department=ward,
        admitted_at=timezone.now() - dt.timedelta(days=2),
    )


# 1. A box scanned at the bedside ----------------------------------------------------------


@pytest.fixture
def boxed(hospital):
    """Cannulas on the ward, with a unit DI and a box DI of 50."""
    consumable, unit_di, (unit_code,) = stocked_item(hospital, "690400000001", quantity=60)
    box = DeviceIdentifierFactory(consumable=consumable, units_per_package=50).udi_di
    return consumable, unit_code, gs1(box)


def test_use_of_a_box_code_without_quantity_is_refused_and_records_nothing(hospital, boxed):
    _, _, box_code = boxed
    before = written()
    response = post_scan(hospital["nurse"], "use", box_code, "XNK", encounter="ZY001")
    error = refused(response, 409, "PACKAGE_CODE")
    consumable, _, _ = boxed
    assert error["detail"] == {
        "units_per_package": 50,
        "unit": consumable.unit,
        "udi_di": DeviceIdentifier.objects.get(units_per_package=50).udi_di,
        "material_code": consumable.material_code,
    }
    assert error["message"] == (
        f"该条码为包装码（每包装 50{consumable.unit}）：请扫描单件条码，或输入实际使用数量"
    )
    assert written() == before


def test_use_of_a_box_code_with_a_quantity_records_and_charges_those_units(hospital, boxed):
    consumable, _, box_code = boxed
    response = post_scan(hospital["nurse"], "use", box_code, "XNK", encounter="ZY001", quantity=3)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["quantity"], body["charge"]["quantity"]) == (3, 3)
    assert body["charge"]["amount"] == "76.50"
    assert Use.objects.get().quantity == 3
    assert ChargeLine.objects.get().quantity == 3
    assert StockMove.objects.get(kind="use").quantity == 3


def test_a_unit_scan_still_charges_one_smallest_unit(hospital, boxed):
    _, unit_code, _ = boxed
    response = post_scan(hospital["nurse"], "use", unit_code, "XNK", encounter="ZY001")
    assert response.status_code == 201, response.json()
    assert response.json()["charge"]["quantity"] == 1


def test_a_box_is_still_received_and_issued_whole(hospital, boxed):
    consumable, _, box_code = boxed
    keeper = hospital["keeper"]
    response = post_scan(keeper, "receive", box_code, "CK01", supplier="GYS01", unit_cost="25.5")
    assert response.status_code == 201, response.json()
    assert response.json()["quantity"] == 50


# 4. A patient of another ward -----------------------------------------------------------


@pytest.fixture
def elsewhere(hospital):
    """ZY009 lies on the surgical ward WKB; the nurse works on XNK and in theatre SSS."""
    other = DepartmentFactory(code="WKB", name="外科病区")
    theatre = DepartmentFactory(code="SSS", name="中心手术室", kind=Department.Kind.THEATRE)
    theatre.members.add(hospital["nurse"].user, hospital["keeper"].user)
    inpatient("ZY009", other)
    _, _, (code,) = stocked_item(hospital, "690400000002", quantity=10)
    keeper = hospital["keeper"]
    received = post_scan(
        keeper, "receive", code, "CK01", supplier="GYS01", unit_cost="25.5", quantity=4
    )
    issued = post_scan(keeper, "issue", code, "SSS", from_department="CK01", quantity=4)
    assert (received.status_code, issued.status_code) == (201, 201), issued.json()
    return code


def test_use_for_a_patient_of_another_ward_is_refused_through_the_api(hospital, elsewhere):
    before = written()
    response = post_scan(hospital["nurse"], "use", elsewhere, "XNK", encounter="ZY009")
    error = refused(response, 409, "ENCOUNTER_NOT_ON_WARD")
    assert error["detail"] == {"encounter": "ZY009", "department": "WKB"}
    assert written() == before


def test_the_bedside_panel_and_the_api_refuse_alike(hospital, elsewhere, client):
    client.force_login(hospital["nurse"].user)
    page = client.get("/billing/bedside/patient/", {"ward": "XNK", "visit": "ZY009"})
    api = post_scan(hospital["nurse"], "use", elsewhere, "XNK", encounter="ZY009")
    assert page.status_code == api.status_code == 409
    assert "ENCOUNTER_NOT_ON_WARD" in page.content.decode()


def test_a_theatre_takes_the_patients_of_every_ward(hospital, elsewhere):
    response = post_scan(hospital["nurse"], "use", elsewhere, "SSS", encounter="ZY009")
    assert response.status_code == 201, response.json()
    assert Use.objects.get().encounter.visit_no == "ZY009"


def test_return_from_a_patient_of_another_ward_is_refused(hospital, elsewhere):
    assert (
        post_scan(hospital["nurse"], "use", elsewhere, "SSS", encounter="ZY009").status_code == 201
    )
    before = written()
    response = post_scan(
        hospital["nurse"], "return", elsewhere, "XNK", encounter="ZY009", quantity=1
    )
    refused(response, 409, "ENCOUNTER_NOT_ON_WARD")
    assert written() == before
    assert Use.objects.get().returned_quantity == 0


# 5. A return without an encounter goes back to a store ----------------------------------


@pytest.mark.parametrize("target", ["WKB", "SSS"])
def test_return_without_an_encounter_to_a_ward_or_theatre_is_refused(hospital, target):
    other = DepartmentFactory(code="WKB", name="外科病区")
    theatre = DepartmentFactory(code="SSS", name="中心手术室", kind=Department.Kind.THEATRE)
    assert other and theatre
    _, _, (code,) = stocked_item(hospital, "690400000003", quantity=5)
    before = written()
    response = post_scan(hospital["nurse"], "return", code, "XNK", to_department=target, quantity=2)
    error = refused(response, 400, "VALIDATION_ERROR")
    assert error["detail"]["field"] == "to_department"
    assert written() == before


def test_return_without_an_encounter_goes_back_to_the_store(hospital):
    _, _, (code,) = stocked_item(hospital, "690400000004", quantity=5)
    response = post_scan(hospital["nurse"], "return", code, "XNK", to_department="CK01", quantity=2)
    assert response.status_code == 201, response.json()
    assert response.json()["to"] == hospital["store"].location.code


# 6. Event times -------------------------------------------------------------------------


def iso(at: dt.datetime) -> str:
    return at.isoformat()


@pytest.fixture
def repriced(hospital):
    """An item whose charge price went from 25.50 to 30.00 a day ago."""
    consumable, _, (code,) = stocked_item(hospital, "690400000005", quantity=10)
    PriceVersionFactory(
        consumable=consumable,
        purchase_price=Decimal("30"),
        charge_price=Decimal("30"),
        effective_from=timezone.now() - dt.timedelta(days=1),
    )
    return consumable, code


@pytest.mark.parametrize(
    "occurred_at",
    [
        pytest.param(lambda now: iso(now + dt.timedelta(minutes=6)), id="6-minutes-ahead"),
        pytest.param(lambda now: iso(now + dt.timedelta(days=365)), id="a-year-ahead"),
        pytest.param(lambda now: iso(now - dt.timedelta(hours=73)), id="73-hours-back"),
        pytest.param(lambda now: "0001-01-01T00:00:00+08:00", id="year-1"),
        pytest.param(lambda now: "9999-12-31T23:59:59+00:00", id="year-9999"),
        pytest.param(lambda now: "9999-12-31T23:59:59-08:00", id="year-9999-west"),
        pytest.param(lambda now: "0001-01-01T00:00:00Z", id="year-1-utc"),
    ],
)
def test_use_outside_the_time_window_is_refused(hospital, repriced, occurred_at):
    _, code = repriced
    before = written()
    response = post_scan(
        hospital["nurse"],
        "use",
        code,
        "XNK",
        encounter="ZY001",
        occurred_at=occurred_at(timezone.now()),
    )
    refused(response, 400, "TIME_OUT_OF_RANGE")
    assert written() == before


def test_a_use_a_year_ahead_names_the_window(hospital, repriced):
    _, code = repriced
    response = post_scan(
        hospital["nurse"],
        "use",
        code,
        "XNK",
        encounter="ZY001",
        occurred_at=iso(timezone.now() + dt.timedelta(days=365)),
    )
    error = refused(response, 400, "TIME_OUT_OF_RANGE")
    assert error["detail"]["field"] == "occurred_at"
    assert {"earliest", "latest", "value"} <= set(error["detail"])


def test_use_inside_the_window_is_priced_at_its_own_time(hospital, repriced):
    _, code = repriced
    nurse, now = hospital["nurse"], timezone.now()
    early = post_scan(
        nurse, "use", code, "XNK", encounter="ZY001", occurred_at=iso(now - dt.timedelta(hours=71))
    )
    late = post_scan(
        nurse, "use", code, "XNK", encounter="ZY001", occurred_at=iso(now + dt.timedelta(minutes=4))
    )
    assert (early.status_code, late.status_code) == (201, 201), (early.json(), late.json())
    assert early.json()["charge"]["unit_price"] == "25.5000"
    assert late.json()["charge"]["unit_price"] == "30.0000"


def test_the_back_dating_window_is_a_setting(hospital, repriced, settings):
    _, code = repriced
    settings.SCAN_BACKDATE_HOURS = 2
    occurred_at = iso(timezone.now() - dt.timedelta(hours=3))
    response = post_scan(
        hospital["nurse"], "use", code, "XNK", encounter="ZY001", occurred_at=occurred_at
    )
    refused(response, 400, "TIME_OUT_OF_RANGE")


@pytest.fixture
def his(hospital):
    return client_for("his", roles.INTEGRATION)


def his_charge(his, consumable, charged_at: str):
    body = {
        "event_id": str(uuid.uuid4()),
        "encounter": "ZY001",
        "charge_code": consumable.charge_code,
        "quantity": 1,
        "unit_price": "25.50",
        "charged_at": charged_at,
    }
    return his.post("/api/v1/charges", body, format="json")


@pytest.mark.parametrize(
    "charged_at",
    [
        pytest.param(lambda now: "0001-01-01T00:00:00+00:00", id="year-1"),
        pytest.param(lambda now: "9999-12-31T23:59:59+00:00", id="year-9999"),
        pytest.param(lambda now: "0001-01-01T00:00:00+08:00", id="year-1-east"),
        pytest.param(lambda now: iso(now + dt.timedelta(days=30)), id="a-month-ahead"),
        pytest.param(lambda now: iso(now - dt.timedelta(hours=80)), id="80-hours-back"),
    ],
)
def test_his_charge_outside_the_window_is_refused(hospital, repriced, his, charged_at):
    consumable, _ = repriced
    before = written()
    response = his_charge(his, consumable, charged_at(timezone.now()))
    refused(response, 400, "TIME_OUT_OF_RANGE")
    assert written() == before


def test_his_charge_a_month_ahead_is_time_out_of_range(hospital, repriced, his):
    consumable, _ = repriced
    response = his_charge(his, consumable, iso(timezone.now() + dt.timedelta(days=30)))
    assert refused(response, 400, "TIME_OUT_OF_RANGE")["detail"]["field"] == "charged_at"


def refund(his, charge_id: int, refunded_at: str):
    body = {"event_id": str(uuid.uuid4()), "quantity": 1, "refunded_at": refunded_at}
    return his.post(f"/api/v1/charges/{charge_id}/refund", body, format="json")


def test_refund_before_its_charge_is_refused(hospital, repriced, his):
    consumable, _ = repriced
    charged_at = timezone.now() - dt.timedelta(hours=2)
    charge = his_charge(his, consumable, iso(charged_at))
    assert charge.status_code == 201, charge.json()
    charge_id = charge.json()["charge"]["id"]
    response = refund(his, charge_id, iso(charged_at - dt.timedelta(minutes=1)))
    error = refused(response, 400, "TIME_OUT_OF_RANGE")
    assert error["detail"]["reason"] == "BEFORE_CHARGE"
    assert ChargeRefund.objects.count() == 0
    assert ChargeLine.objects.get().refunded_quantity == 0


@pytest.mark.parametrize(
    "refunded_at",
    ["9999-12-31T23:59:59+00:00", "9999-12-31T23:59:59-08:00", "0001-01-01T00:00:00+08:00"],
)
def test_refund_at_the_ends_of_time_is_refused(hospital, repriced, his, refunded_at):
    consumable, _ = repriced
    charge_id = his_charge(his, consumable, iso(timezone.now())).json()["charge"]["id"]
    response = refund(his, charge_id, refunded_at)
    refused(response, 400, "TIME_OUT_OF_RANGE")
    assert ChargeRefund.objects.count() == 0
    assert ChargeLine.objects.get().refunded_quantity == 0


def test_refund_after_its_charge_inside_the_window_is_recorded(hospital, repriced, his):
    consumable, _ = repriced
    charged_at = timezone.now() - dt.timedelta(hours=2)
    charge_id = his_charge(his, consumable, iso(charged_at)).json()["charge"]["id"]
    response = refund(his, charge_id, iso(charged_at + dt.timedelta(hours=1)))
    assert response.status_code == 201, response.json()
    assert ChargeLine.objects.get().refunded_quantity == 1


def test_a_scanned_use_whose_amount_would_not_fit_is_refused(hospital):
    """The amount check is the service's (charges.money): a scan meets it as HIS does."""
    _, _, (code,) = stocked_item(hospital, "690400000009", price="9999999999", quantity=1)
    keeper = hospital["keeper"]
    for action, extra in [
        ("receive", {"supplier": "GYS01", "unit_cost": "1"}),
        ("issue", {"from_department": "CK01"}),
    ]:
        response = post_scan(
            keeper, action, code, "CK01" if action == "receive" else "XNK", quantity=200, **extra
        )
        assert response.status_code == 201, response.json()
    before = written()
    response = post_scan(hospital["nurse"], "use", code, "XNK", encounter="ZY001", quantity=200)
    error = refused(response, 400, "VALIDATION_ERROR")
    assert error["detail"]["reason"] == "AMOUNT_TOO_LARGE"
    assert written() == before
