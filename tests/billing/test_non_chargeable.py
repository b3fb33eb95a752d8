"""Non-chargeable consumables (chargeable=0: gauze and the like, in a procedure fee).

Their approved price version carries a purchase price and no charge price (issue 14). They
are received and used like any item and put nothing on the patient's bill; if one is later
marked chargeable without a charge price approved, nothing prices it: the use and the
receipt are refused with NO_APPROVED_PRICE instead of charging from an empty price.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import ChargeLine, Use
from consumables.models import Consumable
from inventory.models import StockMove
from tests.billing.conftest import gs1, gtin, post_scan
from tests.factories import ConsumableFactory, DeviceIdentifierFactory, PriceVersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def gauze(hospital):
    consumable = ConsumableFactory(
        chargeable=False, charge_code=None, tracking=Consumable.Tracking.LOT
    )
    di = DeviceIdentifierFactory(consumable=consumable, udi_di=gtin("690777000001")).udi_di
    PriceVersionFactory(
        consumable=consumable,
        purchase_price=Decimal("1.20"),
        charge_price=None,
        effective_from=timezone.now() - dt.timedelta(days=30),
    )
    return consumable, gs1(di, lot="SB01")


def receive_and_issue(hospital, code, quantity=10):
    keeper = hospital["keeper"]
    hospital["ward"].members.add(keeper.user)
    received = post_scan(
        keeper, "receive", code, "CK01", supplier="GYS01", unit_cost="1.20", quantity=quantity
    )
    issued = post_scan(keeper, "issue", code, "XNK", from_department="CK01", quantity=quantity)
    return received, issued


def test_gauze_with_a_purchase_price_only_is_received_used_and_charged_nothing(hospital, gauze):
    _, code = gauze
    received, issued = receive_and_issue(hospital, code)
    assert (received.status_code, issued.status_code) == (201, 201), received.json()

    used = post_scan(hospital["nurse"], "use", code, "XNK", encounter="ZY001", quantity=2)
    assert used.status_code == 201, used.json()
    assert used.json()["charge"] is None
    assert Use.objects.get().quantity == 2
    assert not ChargeLine.objects.exists()


def test_an_item_made_chargeable_without_a_charge_price_is_refused_not_charged(hospital, gauze):
    consumable, code = gauze
    receive_and_issue(hospital, code)
    Consumable.objects.filter(pk=consumable.pk).update(chargeable=True, charge_code="FY-SB01")
    moves = StockMove.objects.count()

    used = post_scan(hospital["nurse"], "use", code, "XNK", encounter="ZY001", quantity=1)
    assert used.status_code == 409, used.json()
    assert used.json()["error"]["code"] == "NO_APPROVED_PRICE"
    received = post_scan(
        hospital["keeper"],
        "receive",
        code,
        "CK01",
        supplier="GYS01",
        unit_cost="1.20",
        quantity=5,
    )
    assert received.status_code == 409, received.json()
    assert received.json()["error"]["code"] == "NO_APPROVED_PRICE"
    assert (Use.objects.count(), ChargeLine.objects.count()) == (0, 0)
    assert StockMove.objects.count() == moves
