"""Issue 13, finding 6e: after HIS refunds a bedside charge, the nurse's return of the
unused item still moves the stock back; it refunds only what is still charged beyond what
the patient keeps (possibly nothing), never the same money twice."""

import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import ChargeLine, ChargeRefund, Use
from config import roles
from consumables.models import Consumable
from inventory.models import StockBalance, TrackedUnit
from tests.billing.conftest import client_for, post_scan, stocked_item

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def his(hospital):
    return client_for("his", roles.INTEGRATION)


def use(hospital, code, **extra):
    response = post_scan(hospital["nurse"], "use", code, "XNK", encounter="ZY001", **extra)
    assert response.status_code == 201, response.json()
    return response.json()["charge"]["id"]


def his_refund(his, charge_id, quantity):
    body = {"event_id": str(uuid.uuid4()), "quantity": quantity,
            "refunded_at": timezone.now().isoformat()}
    response = his.post(f"/api/v1/charges/{charge_id}/refund", body, format="json")
    assert response.status_code == 201, response.json()


def ward_stock(hospital, consumable) -> int:
    return sum(
        StockBalance.objects.filter(
            location__department=hospital["ward"], consumable=consumable
        ).values_list("quantity", flat=True)
    )


def test_return_of_a_unit_his_refunded_moves_it_back_and_refunds_nothing(hospital, his):
    consumable, _, (code,) = stocked_item(
        hospital, "690555300001", tracking=Consumable.Tracking.UNIT, serials=["SN31"]
    )
    his_refund(his, use(hospital, code), 1)
    response = post_scan(hospital["nurse"], "return", code, "XNK", encounter="ZY001")
    assert response.status_code == 201, response.json()
    assert (response.json()["charge"]["quantity"], response.json()["charge"]["amount"]) == (
        0,
        "0.00",
    )
    assert TrackedUnit.objects.get().location.department == hospital["ward"]
    assert ward_stock(hospital, consumable) == 1
    line = ChargeLine.objects.get()
    assert (line.quantity, line.refunded_quantity) == (1, 1)
    assert ChargeRefund.objects.count() == 1  # HIS's own: no second refund


def test_returned_unit_his_refunded_can_be_used_and_charged_again(hospital, his):
    _, _, (code,) = stocked_item(
        hospital, "690555300002", tracking=Consumable.Tracking.UNIT, serials=["SN32"]
    )
    his_refund(his, use(hospital, code), 1)
    post_scan(hospital["nurse"], "return", code, "XNK", encounter="ZY001")
    use(hospital, code)
    lines = ChargeLine.objects.order_by("pk")
    assert [(c.quantity, c.refunded_quantity) for c in lines] == [(1, 1), (1, 0)]


def test_return_after_a_partial_his_refund_leaves_charged_what_the_patient_kept(
    hospital, his
):
    consumable, _, (code,) = stocked_item(hospital, "690555300003", price="10", quantity=10)
    his_refund(his, use(hospital, code, quantity=5), 2)
    response = post_scan(
        hospital["nurse"], "return", code, "XNK", encounter="ZY001", quantity=4
    )
    assert response.status_code == 201, response.json()
    # Used 5, returned 4: the patient keeps 1. Charged 5, HIS refunded 2: 2 more refunded.
    assert (response.json()["charge"]["quantity"], response.json()["charge"]["amount"]) == (
        -2,
        "-20.00",
    )
    line = ChargeLine.objects.get()
    assert line.quantity - line.refunded_quantity == 1
    assert sum(r.amount for r in line.refunds.all()) == Decimal("40.00")
    assert Use.objects.get().returned_quantity == 4
    assert ward_stock(hospital, consumable) == 9
