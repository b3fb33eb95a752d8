"""Bedside use and return: the right charge on the right patient, once."""

import datetime as dt
import json
import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import timezone

from billing.models import ChargeLine, Consent, DoctorOrder, Use
from consumables.models import Consumable, PriceVersion
from consumables.services import price_version_approve, price_version_propose
from inventory.models import StockMove, TrackedUnit
from tests.billing.conftest import client_for, gs1, post_scan, stocked_item

pytestmark = pytest.mark.django_db


def use(nurse, code, **extra):
    extra.setdefault("encounter", "ZY001")
    return post_scan(nurse, "use", code, "XNK", **extra)


def error_code(response):
    return response.json()["error"]["code"]


def test_use_charges_at_approved_price_with_five_codes_copied(hospital):
    consumable, di, (code,) = stocked_item(hospital, "690555000001", price="25.5")
    response = use(hospital["nurse"], code)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["quantity"] == 1
    assert body["charge"]["unit_price"] == "25.5000"
    assert body["charge"]["amount"] == "25.50"
    assert body["charge"]["self_pay"] is False
    line = ChargeLine.objects.get()
    assert (
        line.material_code,
        line.charge_code,
        line.order_code,
        line.insurance_code,
        line.udi_di,
    ) == (
        consumable.material_code,
        consumable.charge_code,
        consumable.order_code,
        consumable.insurance_code,
        di,
    )
    assert line.encounter == hospital["encounter"]
    move = StockMove.objects.get(kind="use")
    assert move.encounter_no == "ZY001"


def test_use_without_doctor_order_is_recorded_with_warning(hospital):
    _, _, (code,) = stocked_item(hospital, "690555000002")
    assert use(hospital["nurse"], code).json()["warnings"] == ["NO_ORDER"]


def test_use_with_matching_order_has_no_warning_and_links_the_order(hospital):
    consumable, _, (code,) = stocked_item(hospital, "690555000003")
    order = DoctorOrder.objects.create(
        order_id="YZ1",
        encounter=hospital["encounter"],
        order_code=consumable.order_code,
        ordered_at=timezone.now(),
    )
    assert use(hospital["nurse"], code).json()["warnings"] == []
    assert Use.objects.get().order == order


def test_refusing_use_without_order_is_a_setting(hospital, settings):
    settings.BILLING_REFUSE_USE_WITHOUT_ORDER = True
    _, _, (code,) = stocked_item(hospital, "690555000004")
    assert error_code(use(hospital["nurse"], code)) == "NO_ORDER"
    assert ChargeLine.objects.count() == 0


def test_return_reverses_exactly_its_charge(hospital):
    _, _, (code,) = stocked_item(hospital, "690555000005", price="10")
    use(hospital["nurse"], code, quantity=3)
    response = post_scan(hospital["nurse"], "return", code, "XNK", encounter="ZY001", quantity=2)
    assert response.status_code == 201, response.json()
    assert response.json()["charge"]["quantity"] == -2
    assert response.json()["charge"]["amount"] == "-20.00"
    line = ChargeLine.objects.get()
    assert (line.quantity, line.refunded_quantity) == (3, 2)
    assert [r.amount for r in line.refunds.all()] == [Decimal("20.00")]
    assert Use.objects.get().returned_quantity == 2


def test_returning_more_than_used_is_refused(hospital):
    _, _, (code,) = stocked_item(hospital, "690555000006")
    use(hospital["nurse"], code, quantity=1)
    response = post_scan(hospital["nurse"], "return", code, "XNK", encounter="ZY001", quantity=2)
    assert error_code(response) == "VALIDATION_ERROR"
    assert ChargeLine.objects.get().refunded_quantity == 0


def test_second_use_of_a_unit_is_refused(hospital):
    _, _, codes = stocked_item(
        hospital,
        "690555000007",
        tracking=Consumable.Tracking.UNIT,
        serials=["SN1"],
        value_class="high",
    )
    assert use(hospital["nurse"], codes[0]).status_code == 201
    again = use(hospital["nurse"], codes[0])
    assert error_code(again) == "ALREADY_USED"
    assert ChargeLine.objects.count() == 1


def test_unit_returned_unused_can_be_used_again_and_charged_once_more(hospital):
    _, _, codes = stocked_item(
        hospital, "690555000008", tracking=Consumable.Tracking.UNIT, serials=["SN2"]
    )
    use(hospital["nurse"], codes[0])
    back = post_scan(hospital["nurse"], "return", codes[0], "XNK", encounter="ZY001")
    assert back.status_code == 201, back.json()
    assert TrackedUnit.objects.get().location is not None
    assert use(hospital["nurse"], codes[0]).status_code == 201
    lines = ChargeLine.objects.order_by("pk")
    assert [(c.quantity, c.refunded_quantity) for c in lines] == [(1, 1), (1, 0)]


def test_charge_price_is_the_one_in_force_at_the_time_of_use(hospital, django_user_model):
    consumable, _, (code,) = stocked_item(hospital, "690555000009", price="10")
    change_at = timezone.now() + dt.timedelta(seconds=1)
    proposer = django_user_model.objects.create_user("pricing01")
    approver = django_user_model.objects.create_user("pricing02")
    version = price_version_propose(
        consumable=consumable,
        purchase_price="12",
        charge_price="12",
        effective_from=change_at,
        reason="平台调价",
        proposed_by=proposer,
    )
    price_version_approve(version=version, approver=approver)
    effective = PriceVersion.objects.get(pk=version.pk).effective_from
    before = use(
        hospital["nurse"], code, occurred_at=(effective - dt.timedelta(seconds=1)).isoformat()
    )
    after = use(
        hospital["nurse"], code, occurred_at=(effective + dt.timedelta(minutes=1)).isoformat()
    )
    assert before.json()["charge"]["unit_price"] == "10.0000"
    assert after.json()["charge"]["unit_price"] == "12.0000"


def test_item_billed_at_his_records_the_use_but_no_charge(hospital):
    _, _, (code,) = stocked_item(hospital, "690555000010", billed_by=Consumable.BilledBy.HIS)
    response = use(hospital["nurse"], code)
    assert response.status_code == 201
    assert response.json()["charge"] is None
    assert Use.objects.count() == 1 and ChargeLine.objects.count() == 0


def test_use_on_discharged_encounter_is_refused(hospital):
    _, _, (code,) = stocked_item(hospital, "690555000011")
    hospital["encounter"].discharged_at = timezone.now()
    hospital["encounter"].save()
    assert error_code(use(hospital["nurse"], code)) == "ENCOUNTER_CLOSED"
    assert StockMove.objects.filter(kind="use").count() == 0


def test_use_for_unknown_visit_is_refused(hospital):
    _, _, (code,) = stocked_item(hospital, "690555000012")
    assert error_code(use(hospital["nurse"], code, encounter="NOPE")) == "UNKNOWN_ENCOUNTER"


def test_self_pay_item_needs_recorded_consent(hospital):
    consumable, _, (code,) = stocked_item(
        hospital, "690555000013", insurance_class=Consumable.InsuranceClass.SELF_PAY
    )
    refused = use(hospital["nurse"], code)
    assert error_code(refused) == "CONSENT_REQUIRED"
    Consent.objects.create(
        encounter=hospital["encounter"],
        consumable=consumable,
        signed_by="张三",
        signed_at=timezone.now(),
    )
    accepted = use(hospital["nurse"], code)
    assert accepted.status_code == 201
    assert accepted.json()["charge"]["self_pay"] is True


def test_item_not_on_this_ward_is_not_in_stock(hospital):
    _, di, _ = stocked_item(hospital, "690555000014", quantity=1)
    use(hospital["nurse"], gs1(di))
    assert error_code(use(hospital["nurse"], gs1(di))) == "NOT_IN_STOCK"


def test_expired_lot_is_refused_at_the_bedside(hospital):
    _, di, _ = stocked_item(hospital, "690555000015")
    expired = gs1(di, lot="OLD", expiry_days=-3)
    assert error_code(use(hospital["nurse"], expired)) == "EXPIRED"


def test_nurse_of_another_ward_may_not_scan_here(hospital):
    from tests.factories import DepartmentFactory

    other = client_for("nurse02", "nurse", DepartmentFactory(code="GK"))
    _, _, (code,) = stocked_item(hospital, "690555000016")
    assert use(other, code).status_code == 403


def concurrently(n, target):
    barrier = threading.Barrier(n)
    results = []

    def run():
        try:
            barrier.wait()
            results.append(target())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_16_concurrent_uses_of_one_unit_make_one_charge(hospital):
    _, _, codes = stocked_item(
        hospital, "690555000020", tracking=Consumable.Tracking.UNIT, serials=["ONE"]
    )
    results = concurrently(16, lambda: use(hospital["nurse"], codes[0]).status_code)
    assert sorted(results) == [201] + [409] * 15
    assert ChargeLine.objects.count() == 1
    assert Use.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_12_concurrent_uses_of_a_lot_with_3_on_the_ward_use_and_charge_3(hospital):
    """The ward's balance is taken in the statement that writes the move, the use and the
    charge (``ledger.post_moves``): the last three units go to three scans, the others are
    refused as not in stock, and nothing is written for them."""
    consumable, _, (code,) = stocked_item(hospital, "690555000029", quantity=3)
    results = concurrently(12, lambda: use(hospital["nurse"], code))
    assert sorted(r.status_code for r in results) == [201] * 3 + [409] * 9
    assert {error_code(r) for r in results if r.status_code == 409} == {"NOT_IN_STOCK"}
    assert Use.objects.filter(consumable=consumable).count() == 3
    assert ChargeLine.objects.filter(consumable=consumable).count() == 3
    assert StockMove.objects.filter(consumable=consumable, kind="use").count() == 3
    ward = hospital["ward"].location
    assert ward.balances.get(consumable=consumable).quantity == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_same_use_event_16_times_at_once_makes_one_charge_and_one_answer(hospital):
    _, _, (code,) = stocked_item(hospital, "690555000021")
    event_id = str(uuid.uuid4())

    def send():
        response = use(hospital["nurse"], code, event_id=event_id)
        return response.status_code, json.dumps(response.json(), sort_keys=True)

    results = concurrently(16, send)
    assert sorted(s for s, _ in results) == [200] * 15 + [201]
    assert len({body for _, body in results}) == 1
    assert ChargeLine.objects.count() == 1


def test_replay_of_a_unit_use_gets_the_first_answer_not_already_used(hospital):
    _, _, codes = stocked_item(
        hospital, "690555000030", tracking=Consumable.Tracking.UNIT, serials=["R1"]
    )
    event_id = str(uuid.uuid4())
    first = use(hospital["nurse"], codes[0], event_id=event_id)
    assert first.status_code == 201, first.json()
    again = use(hospital["nurse"], codes[0], event_id=event_id)
    assert again.status_code == 200, again.json()
    assert again.json() == first.json()
    assert Use.objects.count() == 1 and ChargeLine.objects.count() == 1


def test_replay_after_discharge_gets_the_first_answer(hospital):
    _, _, (code,) = stocked_item(hospital, "690555000031")
    event_id = str(uuid.uuid4())
    first = use(hospital["nurse"], code, event_id=event_id)
    assert first.status_code == 201, first.json()
    hospital["encounter"].discharged_at = timezone.now()
    hospital["encounter"].save()
    again = use(hospital["nurse"], code, event_id=event_id)
    assert (again.status_code, again.json()) == (200, first.json())
    assert StockMove.objects.filter(kind="use").count() == 1


def test_an_event_id_reused_for_another_scan_is_refused_even_when_that_scan_would_pass(hospital):
    _, _, (code,) = stocked_item(hospital, "690555000032", quantity=5)
    event_id = str(uuid.uuid4())
    assert use(hospital["nurse"], code, event_id=event_id, quantity=1).status_code == 201
    response = use(hospital["nurse"], code, event_id=event_id, quantity=2)
    assert response.status_code == 409
    assert error_code(response) == "EVENT_ID_REUSED"
    assert Use.objects.count() == 1
