"""The encounter-level kinds of issue 16: DUPLICATE_CHARGE of HIS-billed items,
CHARGE_OVER_ORDER and SUBSTITUTION (串换), each from exactly its anomaly, with the complete
list of findings both from the pre-discharge audit (``rules.findings``) and from the nightly
run of the same day (GET /api/v1/reconciliation/runs/{date}/exceptions), and the near misses.

Everything happens today (Asia/Shanghai) through the real entry points: uses by bedside
scan, orders, charges and refunds by the HIS feed.
"""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from billing import rules
from billing.models import ChargeLine, Encounter, Use
from config import roles
from config.business_day import business_day_bounds
from consumables.models import Consumable
from tests.billing.conftest import client_for, post_scan, stocked_item

pytestmark = pytest.mark.django_db

# Two insurance codes of one generic classification (first 10 characters C030101123) and
# one of another.
DEAR = "C0301011230000100001"
CHEAP = "C0301011230000200002"
OTHER = "C0301019990000300003"


def today():
    return timezone.localdate()


def moment(k: int, n: int = 8) -> str:
    """The k-th of n increasing instants of today, all already past."""
    start, _ = business_day_bounds(today())
    return (start + (timezone.now() - start) * k / (n + 1)).isoformat()


@pytest.fixture
def his(hospital):
    return client_for("his", roles.INTEGRATION)


@pytest.fixture
def finance(hospital):
    return client_for("finance01", roles.FINANCE)


def order(his, consumable, quantity=1, doctor="王医生"):
    start, _ = business_day_bounds(today())
    response = his.post(
        "/api/v1/orders",
        {
            "order_id": f"O-{uuid.uuid4().hex[:10]}",
            "encounter": "ZY001",
            "order_code": consumable.order_code,
            "quantity": quantity,
            "ordered_at": (start - dt.timedelta(hours=1)).isoformat(),
            "doctor": doctor,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()


def his_charge(his, consumable, quantity, *, price="25.5", at=3):
    response = his.post(
        "/api/v1/charges",
        {
            "event_id": str(uuid.uuid4()),
            "encounter": "ZY001",
            "charge_code": consumable.charge_code,
            "quantity": quantity,
            "unit_price": price,
            "charged_at": moment(at),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()["charge"]["id"]


def refund(his, charge_id, quantity, *, at=5):
    response = his.post(
        f"/api/v1/charges/{charge_id}/refund",
        {"event_id": str(uuid.uuid4()), "quantity": quantity, "refunded_at": moment(at)},
        format="json",
    )
    assert response.status_code == 201, response.json()


def use(hospital, code, quantity=1, *, at=2):
    response = post_scan(
        hospital["nurse"],
        "use",
        code,
        "XNK",
        encounter="ZY001",
        quantity=quantity,
        occurred_at=moment(at),
    )
    assert response.status_code == 201, response.json()
    return Use.objects.order_by("-pk").first().pk


def his_billed(hospital, body, **fields):
    return stocked_item(hospital, body, billed_by=Consumable.BilledBy.HIS, **fields)


def audit():
    found = rules.findings(Encounter.objects.all(), until=timezone.now())
    return [(f.kind, f.encounter, f.material_code, f.quantity, f.ref) for f in found]


def nightly(finance):
    """The day's run through the API, and its exceptions as the API gives them."""
    response = finance.post(
        "/api/v1/reconciliation/runs", {"date": today().isoformat()}, format="json"
    )
    assert response.status_code == 201, response.json()
    rows = finance.get(f"/api/v1/reconciliation/runs/{today()}/exceptions").json()
    return sorted(
        (r["kind"], r["encounter"] or "", r["material_code"], r["quantity"], r["ref"]) for r in rows
    )


def variance(consumable, quantity):
    m = consumable.material_code
    return ("VARIANCE_OVER_THRESHOLD", "", m, quantity, f"variance:XNK:{m}")


# -- DUPLICATE_CHARGE of an item keyed in at HIS --------------------------------------------------


def test_his_billed_item_used_once_and_charged_twice_is_duplicate_charge(hospital, his, finance):
    item, _, (code,) = his_billed(hospital, "690666000001")
    order(his, item, quantity=2)
    use(hospital, code, 1)
    charge = his_charge(his, item, 2)
    m = item.material_code
    assert audit() == [("DUPLICATE_CHARGE", "ZY001", m, 1, f"charge:{charge}")]
    # The ward used 1 and billed 2 that day: 100% off, so the day's variance shows too.
    assert nightly(finance) == [
        ("DUPLICATE_CHARGE", "ZY001", m, 1, f"charge:{charge}"),
        variance(item, -1),
    ]
    (finding,) = rules.findings([hospital["encounter"].pk], until=timezone.now())
    assert "净计费 2" in finding.explanation and "多计费 1" in finding.explanation


def test_his_billed_item_charged_as_used_has_no_finding(hospital, his, finance):
    item, _, (code,) = his_billed(hospital, "690666000002")
    order(his, item, quantity=2)
    use(hospital, code, 2)
    his_charge(his, item, 2)
    assert audit() == []
    assert nightly(finance) == []


def test_his_billed_item_charged_with_no_scanned_use_is_no_finding(hospital, his, finance):
    """An item keyed in at HIS is often not scanned: no scanned use is no evidence of no
    use, so CHARGE_WITHOUT_USE stays for scan-billed items."""
    item, _, _ = his_billed(hospital, "690666000003")
    order(his, item, quantity=2)
    his_charge(his, item, 2)
    assert audit() == []
    assert nightly(finance) == []


# -- CHARGE_OVER_ORDER ---------------------------------------------------------------------------


def test_order_for_one_charged_five_is_charge_over_order(hospital, his, finance):
    item, _, (code,) = his_billed(hospital, "690666000011")
    order(his, item, quantity=1, doctor="王医生")
    use(hospital, code, 5)
    his_charge(his, item, 2, at=3)
    last = his_charge(his, item, 3, at=4)
    expected = [("CHARGE_OVER_ORDER", "ZY001", item.material_code, 4, f"charge:{last}")]
    assert audit() == expected
    assert nightly(finance) == expected
    (finding,) = rules.findings([hospital["encounter"].pk], until=timezone.now())
    assert (finding.detail["ordered"], finding.detail["net_charged"]) == (1, 5)
    assert finding.detail["order_code"] == item.order_code
    assert finding.detail["doctors"] == ["王医生"]
    assert "医嘱数量 1" in finding.explanation and "超医嘱 4" in finding.explanation


def test_scan_billed_uses_beyond_the_order_are_charge_over_order(hospital, his, finance):
    """The bedside scan charges each use: three uses on an order for two."""
    item, _, (code,) = stocked_item(hospital, "690666000012")
    order(his, item, quantity=2, doctor="李医生")
    use(hospital, code, 1, at=1)
    use(hospital, code, 2, at=2)
    last = ChargeLine.objects.latest("charged_at").pk
    expected = [("CHARGE_OVER_ORDER", "ZY001", item.material_code, 1, f"charge:{last}")]
    assert audit() == expected
    assert nightly(finance) == expected


def test_orders_of_a_code_add_up(hospital, his, finance):
    item, _, (code,) = his_billed(hospital, "690666000013")
    order(his, item, quantity=2, doctor="王医生")
    order(his, item, quantity=3, doctor="李医生")
    use(hospital, code, 5)
    his_charge(his, item, 5)
    assert audit() == []
    assert nightly(finance) == []


def test_refund_down_to_the_order_clears_charge_over_order(hospital, his, finance):
    item, _, (code,) = his_billed(hospital, "690666000014")
    order(his, item, quantity=1)
    use(hospital, code, 1)
    charge = his_charge(his, item, 3)
    assert audit() == [
        ("CHARGE_OVER_ORDER", "ZY001", item.material_code, 2, f"charge:{charge}"),
        ("DUPLICATE_CHARGE", "ZY001", item.material_code, 2, f"charge:{charge}"),
    ]
    refund(his, charge, 2)
    assert audit() == []
    assert nightly(finance) == []


def test_charge_with_no_order_is_charge_without_order_only(hospital, his, finance):
    item, _, (code,) = his_billed(hospital, "690666000015")
    use(hospital, code, 2)
    charge = his_charge(his, item, 2)
    expected = [("CHARGE_WITHOUT_ORDER", "ZY001", item.material_code, 2, f"charge:{charge}")]
    assert audit() == expected
    assert nightly(finance) == expected


# -- SUBSTITUTION (串换) -------------------------------------------------------------------------


def two_of_a_kind(hospital, *, dear_code=DEAR, cheap_code=CHEAP, dear_billed_by=None):
    dear, _, (dear_scan,) = stocked_item(
        hospital,
        "690666000021",
        price="380",
        insurance_code=dear_code,
        billed_by=dear_billed_by or Consumable.BilledBy.HIS,
        name="药物涂层球囊导管",
    )
    cheap, _, (cheap_scan,) = his_billed(
        hospital, "690666000022", price="120", insurance_code=cheap_code, name="普通球囊导管"
    )
    return dear, dear_scan, cheap, cheap_scan


def test_cheap_item_used_and_dear_item_charged_is_substitution(hospital, his, finance):
    dear, _, cheap, cheap_scan = two_of_a_kind(hospital)
    order(his, dear)
    order(his, cheap)
    use_id = use(hospital, cheap_scan, 1)
    charge = his_charge(his, dear, 1, price="380")
    expected = [
        ("SUBSTITUTION", "ZY001", dear.material_code, 1, f"charge:{charge}"),
        ("UNBILLED_USE", "ZY001", cheap.material_code, 1, f"use:{use_id}"),
    ]
    assert sorted(audit()) == expected
    assert nightly(finance) == sorted([*expected, variance(cheap, 1)])

    finding = next(
        f
        for f in rules.findings([hospital["encounter"].pk], until=timezone.now())
        if f.kind == "SUBSTITUTION"
    )
    assert finding.detail["generic"] == "C030101123"
    assert finding.detail["charge_price"] == "380.0000"
    assert finding.detail["substituted"] == 1
    assert finding.detail["substitutes"] == [
        {
            "material_code": cheap.material_code,
            "name": "普通球囊导管",
            "insurance_code": CHEAP,
            "charge_price": "120.0000",
            "net_used": 1,
            "net_charged": 0,
            "shortfall": 1,
        }
    ]
    assert "单价 380.00" in finding.explanation
    assert f"普通球囊导管（{cheap.material_code}，单价 120.00）" in finding.explanation
    assert "疑似串换 1" in finding.explanation


def test_substitution_replaces_charge_without_use_of_a_scan_billed_dear_item(
    hospital, his, finance
):
    dear, _, cheap, cheap_scan = two_of_a_kind(hospital, dear_billed_by=Consumable.BilledBy.SCAN)
    order(his, dear, quantity=2)
    order(his, cheap)
    use_id = use(hospital, cheap_scan, 1)
    charge = his_charge(his, dear, 2, price="380")
    assert sorted(audit()) == [
        ("SUBSTITUTION", "ZY001", dear.material_code, 2, f"charge:{charge}"),
        ("UNBILLED_USE", "ZY001", cheap.material_code, 1, f"use:{use_id}"),
    ]
    (finding,) = [
        f
        for f in rules.findings([hospital["encounter"].pk], until=timezone.now())
        if f.kind == "SUBSTITUTION"
    ]
    assert (finding.quantity, finding.detail["substituted"]) == (2, 1)


def test_refunding_the_dear_item_and_charging_the_cheap_one_clears_both(hospital, his, finance):
    dear, _, cheap, cheap_scan = two_of_a_kind(hospital)
    order(his, dear)
    order(his, cheap)
    use(hospital, cheap_scan, 1)
    charge = his_charge(his, dear, 1, price="380")
    refund(his, charge, 1, at=5)
    his_charge(his, cheap, 1, price="120", at=6)
    assert audit() == []
    assert nightly(finance) == []


def test_same_generic_class_both_balanced_is_no_finding(hospital, his, finance):
    dear, dear_scan, cheap, cheap_scan = two_of_a_kind(hospital)
    order(his, dear)
    order(his, cheap)
    use(hospital, dear_scan, 1)
    use(hospital, cheap_scan, 1)
    his_charge(his, dear, 1, price="380")
    his_charge(his, cheap, 1, price="120")
    assert audit() == []
    assert nightly(finance) == []


def test_different_generic_classes_are_no_substitution(hospital, his, finance):
    dear, _, cheap, cheap_scan = two_of_a_kind(hospital, cheap_code=OTHER)
    order(his, dear)
    order(his, cheap)
    use_id = use(hospital, cheap_scan, 1)
    his_charge(his, dear, 1, price="380")
    expected = [("UNBILLED_USE", "ZY001", cheap.material_code, 1, f"use:{use_id}")]
    assert audit() == expected
    assert nightly(finance) == sorted([*expected, variance(cheap, 1)])
