"""STOCK_CONSUMPTION_VARIANCE and the finance page 进销存: consumption between two confirmed
stocktakes (counts and ledger) against net billed, beside the use side.

Stock moves through the real entrances (scans), HIS charges through the feed, counts through
the stocktake services; each exception test asserts the complete list of the day's run.
"""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.utils import timezone

from billing import reconciliation
from billing.models import ExceptionRow
from billing.selectors import stock_side
from config import roles
from config.business_day import business_day_bounds
from consumables.models import Consumable
from inventory.services import stocktake as st
from tests.billing.conftest import client_for, gs1, post_scan, stocked_item

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
START, END = business_day_bounds(TODAY)


@pytest.fixture
def his(hospital):
    return client_for("his", roles.INTEGRATION)


@pytest.fixture
def counters(hospital):
    """The ward's counter (the nurse) and a second person who confirms."""
    checker = User.objects.create_user("checker01", password="pw-123456!")
    hospital["ward"].members.add(checker)
    return hospital["nurse"].user, checker


def count(hospital, counters, counted: dict | None = None):
    """A confirmed stocktake of the ward: ``counted`` maps consumable -> counted (all its
    lines; the first lot takes it), anything not named is counted as on the book."""
    counter, checker = counters
    take = st.stocktake_open(department=hospital["ward"], user=counter)
    reasons = {}
    for line in take.lines.all():
        wanted = (counted or {}).get(line.consumable_id, line.expected)
        if wanted != line.expected:
            st.stocktake_set_count(
                stocktake_id=take.pk, line_id=line.pk, counted=wanted, user=counter
            )
            reasons[line.pk] = "盘亏 / missing"
    st.stocktake_submit(stocktake_id=take.pk, user=counter)
    st.stocktake_confirm(stocktake_id=take.pk, user=checker, reasons=reasons)
    return take


def his_charge(his, consumable, quantity, *, price="25.5", encounter="ZY001"):
    order = his.post(
        "/api/v1/orders",
        {
            "order_id": f"O-{uuid.uuid4().hex[:10]}",
            "encounter": encounter,
            "order_code": consumable.order_code,
            "quantity": quantity,
            "ordered_at": START.isoformat(),
        },
        format="json",
    )
    assert order.status_code == 201, order.json()
    response = his.post(
        "/api/v1/charges",
        {
            "event_id": str(uuid.uuid4()),
            "encounter": encounter,
            "charge_code": consumable.charge_code,
            "quantity": quantity,
            "unit_price": price,
            "charged_at": timezone.now().isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()


def leaked(hospital, his, counters, *, issued=10, billed=2, close=True):
    """``issued`` units of an HIS-billed item issued to the ward, ``billed`` charged at HIS,
    none scanned, stocktakes before and (if ``close``) after with nothing left."""
    count(hospital, counters)  # the ward holds nothing of it yet
    consumable, _, _ = stocked_item(
        hospital, "690000000101", quantity=issued, billed_by=Consumable.BilledBy.HIS
    )
    his_charge(his, consumable, billed)
    if close:
        count(hospital, counters, {consumable.pk: 0})
    return consumable


def exceptions(run) -> list[tuple]:
    return sorted(
        (e.kind, e.department_code, e.material_code, e.quantity)
        for e in ExceptionRow.objects.filter(run=run)
    )


def test_issued_to_a_ward_billed_in_part_and_never_scanned_is_a_finding(hospital, his, counters):
    consumable = leaked(hospital, his, counters)
    run = reconciliation.reconciliation_run(day=TODAY)
    m = consumable.material_code
    assert exceptions(run) == [("STOCK_CONSUMPTION_VARIANCE", "XNK", m, 8)]
    finding = ExceptionRow.objects.get(run=run)
    d = finding.detail
    assert {k: d[k] for k in ("opening", "received", "issued_in", "issued_out", "scrapped",
                              "closing", "consumed", "used", "billed")} == {
        "opening": 0, "received": 0, "issued_in": 10, "issued_out": 0, "scrapped": 0,
        "closing": 0, "consumed": 10, "used": 0, "billed": 2,
    }  # fmt: skip
    assert (d["variance_pct"], d["threshold_pct"]) == ("80.00", "5")
    assert finding.ref.startswith(f"stock:XNK:{m}:")
