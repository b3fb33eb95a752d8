"""A scan costs the same number of SQL queries however much history lies behind it.

bench/scans.py shows the counts at 10,000 and 1,000,000 moves; these tests keep the claim
true: a query that runs once per earlier move, use or charge (an N+1 over history) makes the
count of the second scan differ from the first's.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import DoctorOrder
from consumables.models import Consumable
from tests.billing.conftest import post_scan, stocked_item

pytestmark = pytest.mark.django_db

HISTORY = 40


def queries_of(client, action, code, department, **extra) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = post_scan(client, action, code, department, **extra)
    assert response.status_code == 201, response.json()
    return len(captured.captured_queries)


def add_order(hospital, consumable):
    DoctorOrder.objects.create(
        order_id="YZ-ORDER-1",
        encounter=hospital["encounter"],
        order_code=consumable.order_code,
        quantity=1000,
        ordered_at=hospital["encounter"].admitted_at,
    )


def test_receive_and_issue_cost_the_same_queries_after_more_history(hospital):
    _, _, (code,) = stocked_item(hospital, "690777000001", quantity=10)
    keeper = hospital["keeper"]
    receive = {"supplier": "GYS01", "unit_cost": "25.5", "quantity": 10, "invoice_no": "FP1"}
    issue = {"from_department": "CK01", "quantity": 1}
    post_scan(keeper, "receive", code, "CK01", **receive)  # the invoice's receipt now exists

    first = (
        queries_of(keeper, "receive", code, "CK01", **receive),
        queries_of(keeper, "issue", code, "XNK", **issue),
    )
    for _ in range(HISTORY):
        post_scan(keeper, "receive", code, "CK01", **receive)
        post_scan(keeper, "issue", code, "XNK", **issue)
    later = (
        queries_of(keeper, "receive", code, "CK01", **receive),
        queries_of(keeper, "issue", code, "XNK", **issue),
    )
    assert later == first


def test_use_of_a_lot_item_costs_the_same_queries_after_more_uses(hospital):
    consumable, _, (code,) = stocked_item(hospital, "690777000002", quantity=HISTORY + 10)
    add_order(hospital, consumable)
    nurse, use = hospital["nurse"], {"encounter": "ZY001", "quantity": 1}
    post_scan(nurse, "use", code, "XNK", **use)  # first use ever: virtual location created

    first = queries_of(nurse, "use", code, "XNK", **use)
    for _ in range(HISTORY):
        post_scan(nurse, "use", code, "XNK", **use)
    assert queries_of(nurse, "use", code, "XNK", **use) == first


def test_use_of_a_unit_costs_the_same_queries_after_more_uses(hospital):
    serials = [f"SN{n:04d}" for n in range(HISTORY + 3)]
    consumable, _, codes = stocked_item(
        hospital,
        "690777000003",
        tracking=Consumable.Tracking.UNIT,
        value_class=Consumable.ValueClass.HIGH,
        price="5800",
        serials=serials,
    )
    add_order(hospital, consumable)
    nurse = hospital["nurse"]
    post_scan(nurse, "use", codes[0], "XNK", encounter="ZY001")

    first = queries_of(nurse, "use", codes[1], "XNK", encounter="ZY001")
    for code in codes[2:-1]:
        post_scan(nurse, "use", code, "XNK", encounter="ZY001")
    assert queries_of(nurse, "use", codes[-1], "XNK", encounter="ZY001") == first



@pytest.mark.postgres  # the move, use and charge line in one statement: PostgreSQL's WITH
@pytest.mark.django_db(transaction=True)
def test_use_of_a_lot_item_is_five_statements_after_authentication(hospital):
    """Issue 15: at most seven with the token's own query (bench/use_inprocess.py counts that
    one too; this client is authenticated without it): the department, the code with its lot
    and price, the encounter, the ward's balance taken with the move, its use and charge line
    in one statement, the scan event; and the scan's one transaction. Transactional, as in
    production: no test transaction around the scan."""
    consumable, _, (code,) = stocked_item(hospital, "690777000004", quantity=5)
    add_order(hospital, consumable)
    nurse, use = hospital["nurse"], {"encounter": "ZY001", "quantity": 1}
    post_scan(nurse, "use", code, "XNK", **use)
    with CaptureQueriesContext(connection) as captured:
        assert post_scan(nurse, "use", code, "XNK", **use).status_code == 201
    statements = [q["sql"] for q in captured.captured_queries]
    assert [s for s in statements if s in ("BEGIN", "COMMIT")] == ["BEGIN", "COMMIT"]
    assert len(statements) - 2 == 5, statements
