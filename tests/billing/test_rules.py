"""billing.rules: each finding kind from exactly its anomaly, the cut-off, the query count.

Anomalies are made through the real entry points: uses and returns via POST /api/v1/scans,
HIS charges, orders and refunds via the HIS feed with an integration-role client.
"""

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing import rules
from billing.models import ChargeLine, Encounter, Patient
from config import roles
from config.business_day import business_day, business_day_bounds
from consumables.models import Consumable
from tests.billing.conftest import client_for, post_scan, stocked_item

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def ago(hours: float) -> str:
    return (NOW - dt.timedelta(hours=hours)).isoformat()


@pytest.fixture
def his(hospital):
    return client_for("his", roles.INTEGRATION)


def order(his, consumable, encounter="ZY001", quantity=1, order_id=None):
    response = his.post(
        "/api/v1/orders",
        {
            "order_id": order_id or f"O-{uuid.uuid4().hex[:10]}",
            "encounter": encounter,
            "order_code": consumable.order_code,
            "quantity": quantity,
            "ordered_at": ago(5),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()


def his_charge(his, consumable, quantity, *, price="25.5", at=None, encounter="ZY001"):
    response = his.post(
        "/api/v1/charges",
        {
            "event_id": str(uuid.uuid4()),
            "encounter": encounter,
            "charge_code": consumable.charge_code,
            "quantity": quantity,
            "unit_price": price,
            "charged_at": at or ago(3),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()["charge"]["id"]


def refund(his, charge_id, quantity, *, at):
    response = his.post(
        f"/api/v1/charges/{charge_id}/refund",
        {"event_id": str(uuid.uuid4()), "quantity": quantity, "refunded_at": at},
        format="json",
    )
    assert response.status_code == 201, response.json()


def use(hospital, code, quantity=1, *, at=None, encounter="ZY001"):
    response = post_scan(
        hospital["nurse"],
        "use",
        code,
        "XNK",
        encounter=encounter,
        quantity=quantity,
        occurred_at=at or ago(3),
    )
    assert response.status_code == 201, response.json()
    return response.json()


def give_back(hospital, code, quantity=1, *, at, encounter="ZY001"):
    response = post_scan(
        hospital["nurse"],
        "return",
        code,
        "XNK",
        encounter=encounter,
        quantity=quantity,
        occurred_at=at,
    )
    assert response.status_code == 201, response.json()


def found(until=None, encounters=None):
    encounters = encounters if encounters is not None else Encounter.objects.all()
    return [
        (f.kind, f.encounter, f.material_code, f.quantity)
        for f in rules.findings(encounters, until=until or timezone.now())
    ]


def his_billed(hospital, body, **fields):
    return stocked_item(hospital, body, billed_by=Consumable.BilledBy.HIS, **fields)


def test_clean_encounter_has_no_findings(hospital, his):
    consumable, _, (code,) = stocked_item(hospital, "690888000001")
    order(his, consumable, quantity=2)
    use(hospital, code, 2)
    assert found() == []


def test_use_of_his_billed_item_charged_short_is_unbilled_use(hospital, his):
    consumable, _, (code,) = his_billed(hospital, "690888000002")
    order(his, consumable, quantity=3)
    use(hospital, code, 3)
    his_charge(his, consumable, 1)
    assert found() == [("UNBILLED_USE", "ZY001", consumable.material_code, 2)]


def test_scan_billed_item_charged_at_his_without_use_is_charge_without_use(hospital, his):
    consumable, _, _ = stocked_item(hospital, "690888000003")
    order(his, consumable, quantity=2)
    his_charge(his, consumable, 2)
    assert found() == [("CHARGE_WITHOUT_USE", "ZY001", consumable.material_code, 2)]


def test_his_charge_on_top_of_a_scan_billed_use_is_duplicate_charge(hospital, his):
    consumable, _, (code,) = stocked_item(hospital, "690888000004")
    order(his, consumable, quantity=2)
    use(hospital, code, 1)
    his_charge(his, consumable, 1)
    assert found() == [("DUPLICATE_CHARGE", "ZY001", consumable.material_code, 1)]


def test_charge_above_the_approved_price_is_price_mismatch(hospital, his):
    consumable, _, (code,) = his_billed(hospital, "690888000005", price="25.5")
    order(his, consumable, quantity=2)
    use(hospital, code, 2)
    charge_id = his_charge(his, consumable, 2, price="30")
    findings = rules.findings(Encounter.objects.all(), until=timezone.now())
    assert [(f.kind, f.material_code, f.quantity, f.ref) for f in findings] == [
        ("PRICE_MISMATCH", consumable.material_code, 2, f"charge:{charge_id}")
    ]
    assert findings[0].detail["charge_price"] == "25.5000"
    assert findings[0].detail["amount_difference"] == "9.00"


def test_charge_whose_order_code_has_no_order_is_charge_without_order(hospital, his):
    consumable, _, (code,) = stocked_item(hospital, "690888000006")
    assert use(hospital, code, 1)["warnings"] == ["NO_ORDER"]
    assert found() == [("CHARGE_WITHOUT_ORDER", "ZY001", consumable.material_code, 1)]


def test_order_entered_after_the_fact_clears_charge_without_order(hospital, his):
    consumable, _, (code,) = stocked_item(hospital, "690888000007")
    use(hospital, code, 1)
    order(his, consumable)
    assert found() == []


def test_fully_returned_use_with_a_his_charge_left_is_charge_without_use(hospital, his):
    consumable, _, (code,) = stocked_item(hospital, "690888000008")
    order(his, consumable)
    use(hospital, code, 1, at=ago(4))
    his_charge(his, consumable, 1, at=ago(3))
    give_back(hospital, code, 1, at=ago(2))
    assert found() == [("CHARGE_WITHOUT_USE", "ZY001", consumable.material_code, 1)]


def test_cut_off_before_a_refund_ignores_the_refund(hospital, his):
    consumable, _, (code,) = his_billed(hospital, "690888000009")
    order(his, consumable)
    use(hospital, code, 1, at=ago(4))
    charge_id = his_charge(his, consumable, 1, at=ago(3))
    refund(his, charge_id, 1, at=ago(1))
    assert found(until=NOW - dt.timedelta(hours=2)) == []
    assert found() == [("UNBILLED_USE", "ZY001", consumable.material_code, 1)]


def test_cut_off_before_a_return_counts_the_use_in_full(hospital, his):
    consumable, _, (code,) = his_billed(hospital, "690888000010")
    order(his, consumable, quantity=2)
    use(hospital, code, 2, at=ago(4))
    his_charge(his, consumable, 1, at=ago(3))
    give_back(hospital, code, 1, at=ago(1))
    assert found(until=NOW - dt.timedelta(hours=2)) == [
        ("UNBILLED_USE", "ZY001", consumable.material_code, 1)
    ]
    assert found() == []


def test_events_after_the_cut_off_are_not_counted(hospital, his):
    consumable, _, (code,) = his_billed(hospital, "690888000011")
    order(his, consumable)
    use(hospital, code, 1, at=ago(1))
    assert found(until=NOW - dt.timedelta(hours=2)) == []


def test_day_findings_skip_pairs_without_an_event_that_day(hospital, his, settings):
    settings.SCAN_BACKDATE_HOURS = 24 * 7  # events three days back
    consumable, _, (code,) = his_billed(hospital, "690888000012")
    order(his, consumable)
    use(hospital, code, 1, at=(NOW - dt.timedelta(days=3)).isoformat())
    today = business_day(NOW)
    start, end = business_day_bounds(today - dt.timedelta(days=3))
    assert [f.kind for f in rules.findings_for_day(start=start, end=end)] == ["UNBILLED_USE"]
    start, end = business_day_bounds(today - dt.timedelta(days=1))
    assert rules.findings_for_day(start=start, end=end) == []


def test_each_finding_explains_what_to_do(hospital, his):
    consumable, _, (code,) = his_billed(hospital, "690888000013")
    order(his, consumable, quantity=3)
    use(hospital, code, 3)
    (finding,) = rules.findings(Encounter.objects.all(), until=timezone.now())
    assert finding.action == "补计费"
    assert "少计费 3" in finding.explanation


def _inpatients(hospital, count):
    return [
        Encounter.objects.create(
            visit_no=f"ZYQ{i:03d}",
            patient=Patient.objects.create(patient_id=f"PQ{i:03d}", name=f"病人{i}"),
            department=hospital["ward"],
            admitted_at=NOW - dt.timedelta(days=1),
        )
        for i in range(count)
    ]


def test_query_count_is_the_same_for_2_and_20_encounters(hospital, his):
    his_item, _, (his_code,) = his_billed(hospital, "690888000014", quantity=40)
    scan_item, _, (scan_code,) = stocked_item(hospital, "690888000015", quantity=40)
    encounters = _inpatients(hospital, 20)
    for encounter in encounters:
        use(hospital, his_code, 1, encounter=encounter.visit_no)
        use(hospital, scan_code, 1, encounter=encounter.visit_no)
        his_charge(his, scan_item, 1, encounter=encounter.visit_no, price="26")
    assert ChargeLine.objects.count() == 40

    def measure(some):
        ids = Encounter.objects.filter(pk__in=[e.pk for e in some])
        with CaptureQueriesContext(connection) as queries:
            result = rules.findings(ids, until=timezone.now())
        return len(queries), len(result)

    few_queries, few_findings = measure(encounters[:2])
    many_queries, many_findings = measure(encounters)
    assert many_findings == 10 * few_findings > 0
    assert few_queries == many_queries == 3  # the ids of the queryset, matching, lines


def test_day_reports_a_line_finding_on_the_day_the_line_was_charged(hospital, his, settings):
    """The pair has events on two days; its wrongly priced line, charged on the first, is
    that day's finding and not again the next time the pair is active."""
    settings.SCAN_BACKDATE_HOURS = 24 * 7  # events three days back
    consumable, _, (code,) = his_billed(hospital, "690888000016")
    today = business_day(NOW)
    first, _ = business_day_bounds(today - dt.timedelta(days=3))
    start, _ = business_day_bounds(today)
    earlier = (first + dt.timedelta(hours=10)).isoformat()
    now = (start + (NOW - start) / 2).isoformat()
    response = his.post(
        "/api/v1/orders",
        {
            "order_id": "O-EARLY",
            "encounter": "ZY001",
            "order_code": consumable.order_code,
            "quantity": 2,
            "ordered_at": (first - dt.timedelta(days=1)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    use(hospital, code, 1, at=earlier)
    charge_id = his_charge(his, consumable, 1, price="30", at=earlier)
    use(hospital, code, 1, at=now)
    his_charge(his, consumable, 1, at=now)

    def on(day):
        bounds = dict(zip(("start", "end"), business_day_bounds(day), strict=True))
        return [(f.kind, f.ref) for f in rules.findings_for_day(**bounds)]

    assert on(today - dt.timedelta(days=3)) == [("PRICE_MISMATCH", f"charge:{charge_id}")]
    assert on(today) == []
