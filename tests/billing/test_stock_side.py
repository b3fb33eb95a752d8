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
from billing.selectors import followup, stock_side
from billing.selectors.common import Period
from config import roles
from config.business_day import business_day_bounds
from consumables.models import Consumable
from inventory.services import stocktake as st
from tests.billing.conftest import client_for, post_scan, stocked_item

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
        st.stocktake_set_count(stocktake_id=take.pk, line_id=line.pk, counted=wanted, user=counter)
        if wanted != line.expected:
            reasons[line.pk] = "盘亏 / missing"
    st.stocktake_submit(stocktake_id=take.pk, user=counter)
    st.stocktake_confirm(stocktake_id=take.pk, user=checker, reasons=reasons)
    return take


def order(his, consumable, quantity, *, encounter="ZY001"):
    response = his.post(
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
    assert response.status_code == 201, response.json()


def his_charge(his, consumable, quantity, *, price="25.5", encounter="ZY001"):
    order(his, consumable, quantity, encounter=encounter)
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
    # 8 units consumed and not billed, at the approved charge price of 25.50
    assert (d["charge_price"], d["amount"]) == ("25.5000", "204.00")
    (found,) = followup.findings(Period(TODAY, TODAY))
    assert (found.kind, found.amount) == ("STOCK_CONSUMPTION_VARIANCE", Decimal("204.00"))


def test_within_the_threshold_is_no_finding(hospital, his, counters):
    """20 issued, 19 billed: 5.00% is not above 5%."""
    leaked(hospital, his, counters, issued=20, billed=19)
    run = reconciliation.reconciliation_run(day=TODAY)
    assert exceptions(run) == []


@override_settings(RECONCILIATION_VARIANCE_THRESHOLD_PCT=4.99)
def test_just_above_a_lower_threshold_is_a_finding(hospital, his, counters):
    consumable = leaked(hospital, his, counters, issued=20, billed=19)
    run = reconciliation.reconciliation_run(day=TODAY)
    assert exceptions(run) == [("STOCK_CONSUMPTION_VARIANCE", "XNK", consumable.material_code, 1)]


def test_no_closing_stocktake_yet_is_no_finding(hospital, his, counters):
    leaked(hospital, his, counters, close=False)
    run = reconciliation.reconciliation_run(day=TODAY)
    assert exceptions(run) == []


def test_reported_on_the_day_the_closing_count_was_confirmed_only(hospital, his, counters):
    leaked(hospital, his, counters)
    yesterday = reconciliation.reconciliation_run(day=TODAY - dt.timedelta(days=1))
    assert exceptions(yesterday) == []


def crafted(hospital, his, counters):
    """Two items between two counts of the ward:
    - A, billed at HIS: 10 issued, 2 billed, none scanned, nothing left (8 lost);
    - B, billed by scan: 10 issued, 3 used and 1 returned by the patient (billed 2),
      2 returned to the store, 1 scrapped, 5 counted at the end.
    """
    count(hospital, counters)
    a, _, _ = stocked_item(hospital, "690000000101", billed_by=Consumable.BilledBy.HIS)
    b, _, codes = stocked_item(hospital, "690000000202")
    his_charge(his, a, 2)
    order(his, b, 3)
    nurse = hospital["nurse"]
    for action, extra in (
        ("use", {"encounter": "ZY001", "quantity": 3}),
        ("return", {"encounter": "ZY001", "quantity": 1}),
        ("return", {"quantity": 2, "to_department": "CK01"}),
        ("scrap", {"quantity": 1, "reason": "污染 / contaminated"}),
    ):
        response = post_scan(nurse, action, codes[0], "XNK", **extra)
        assert response.status_code == 201, response.json()
    count(hospital, counters, {a.pk: 0})
    return a, b


@pytest.mark.parametrize("indexed", [True, False], ids=["index-ranges", "time-range"])
def test_each_stock_move_goes_in_its_term(hospital, his, counters, monkeypatch, indexed):
    """Both ways of reading a period's moves and charges (``stock_side._in_period``: one
    period reads ranges of the two-column indexes, several read the time range once)."""
    monkeypatch.setattr(stock_side, "INDEXED_PERIODS", 1 if indexed else 0)
    a, b = crafted(hospital, his, counters)
    rows = stock_side.stock_periods(since=START, until=END, threshold_pct=Decimal("5"))
    figures = {
        r["material_code"]: tuple(
            r[k]
            for k in (
                "opening",
                "received",
                "issued_in",
                "issued_out",
                "scrapped",
                "closing",
                "consumed",
                "used",
                "billed",
                "stock_pct",
                "use_pct",
                "over",
            )
        )  # fmt: skip
        for r in rows
        if r["department_code"] == "XNK"
    }
    assert figures == {
        a.material_code: (0, 0, 10, 0, 0, 0, 10, 0, 2, Decimal("80.00"), None, True),
        b.material_code: (0, 0, 10, 2, 1, 5, 2, 2, 2, Decimal("0.00"), Decimal("0.00"), False),
    }
    run = reconciliation.reconciliation_run(day=TODAY)
    assert exceptions(run) == [("STOCK_CONSUMPTION_VARIANCE", "XNK", a.material_code, 8)]


def page(user, **query):
    client = Client()
    client.force_login(user)
    return client.get("/billing/finance/stock/", query)


def test_the_page_shows_the_figures_side_by_side(hospital, his, counters):
    a, b = crafted(hospital, his, counters)
    finance = client_for("finance01", roles.FINANCE).user
    response = page(finance, since=TODAY.isoformat(), until=TODAY.isoformat())
    assert response.status_code == 200
    html = response.content.decode()
    assert "进销存" in html and "盘点消耗" in html and "进销存差异率" in html
    body = response.context["body"]
    shown = {
        row["cells"][1]["text"]: [cell["text"] for cell in row["cells"][3:15]] + [row["css"]]
        for row in body
    }
    assert shown[a.material_code] == [
        "0", "0", "10", "0", "0", "0", "10", "0", "2", "80.00%", "—", "超标 / over", "over"
    ]  # fmt: skip
    assert shown[b.material_code] == [
        "0", "0", "10", "2", "1", "5", "2", "2", "2", "0.00%", "0.00%", "—", ""
    ]  # fmt: skip
    assert 'class="over"' in html and 'class="target"' in html
    assert 'id="over-count"' in html
    csv = page(finance, since=TODAY.isoformat(), until=TODAY.isoformat(), format="csv")
    assert csv.status_code == 200
    text = b"".join(csv.streaming_content if csv.streaming else [csv.content]).decode("utf-8-sig")
    line = next(x for x in text.splitlines() if a.material_code in x)
    assert ",10,0,2,80.00," in line


def test_a_day_before_the_counts_shows_nothing(hospital, his, counters):
    crafted(hospital, his, counters)
    finance = client_for("finance01", roles.FINANCE).user
    day = (TODAY - dt.timedelta(days=1)).isoformat()
    response = page(finance, since=day, until=day)
    assert response.status_code == 200
    assert response.context["body"] == []


def test_only_finance_roles_read_the_page(hospital):
    nurse = hospital["nurse"].user
    assert page(nurse).status_code == 403
    auditor = client_for("ins01", roles.INSURANCE_OFFICE).user
    assert page(auditor).status_code == 200
