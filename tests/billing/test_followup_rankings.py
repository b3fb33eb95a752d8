"""Rankings by amount and by count (departments, doctors, recording staff), what does not
count, and the watch list of the top three for three months with its trend."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billing.models import ExceptionRow, ReconciliationRun, WatchListEntry
from billing.selectors import followup as sel
from billing.selectors.common import Period
from billing.services import followup as svc
from config import roles
from tests.billing import finance_data as data
from tests.billing.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenario(hospital):
    return data.build(hospital)


@pytest.fixture
def office(db):
    return client_for("insurance01", roles.INSURANCE_OFFICE).user


def ranked(period, dimension, by="amount"):
    return [
        (r["label"], r["amount"], r["findings"]) for r in sel.rankings(period, by=by)[dimension]
    ]


def whole(scenario):
    return Period(scenario.days[0], scenario.days[2])


def test_amounts_follow_the_rule_of_each_kind(scenario):
    amounts = {
        (f.kind, f.encounter_no or f.department_code, f.day): f.amount
        for f in sel.findings(whole(scenario))
    }
    d1, d2, d3 = scenario.days
    # Shortfall x charge price in force at the use; excess x the line's price; the price
    # difference; |unit cost - purchase price| x quantity; the day's variance amount.
    assert amounts[("UNBILLED_USE", "ZY003", d3)] == Decimal("6000.00")
    assert amounts[("UNBILLED_USE", "ZY001", d1)] == Decimal("30.00")
    assert amounts[("DUPLICATE_CHARGE", "ZY002", d2)] == Decimal("5.00")  # 2 x 2.50
    assert amounts[("PRICE_MISMATCH", "ZY001", d2)] == Decimal("5.00")  # (35 - 30) x 1
    assert amounts[("PURCHASE_PRICE_MISMATCH", "CK01", d1)] == Decimal("5.00")  # (31-30) x 5
    assert amounts[("VARIANCE_OVER_THRESHOLD", "SSS01", d3)] == Decimal("6000.00")
    assert amounts[("FOUR_PRICE_MISALIGNED", "", d1)] == Decimal("0.00")


def test_departments_rank_by_amount_and_by_count(scenario):
    period = whole(scenario)
    assert ranked(period, "department") == [
        ("SSS01", Decimal("12000.00"), 2),
        ("XNK", Decimal("125.00"), 5),
        ("GKB", Decimal("10.00"), 2),
        ("CK01", Decimal("5.00"), 1),
    ]
    assert [r[0] for r in ranked(period, "department", by="count")] == [
        "XNK",
        "SSS01",
        "GKB",
        "CK01",
    ]
    tops = [r["top"] for r in sel.rankings(period)["department"]]
    assert tops == [True, True, True, False]


def test_staff_are_who_recorded_and_doctors_come_from_the_orders(scenario):
    period = whole(scenario)
    assert ranked(period, "staff") == [
        ("ssn01", Decimal("6000.00"), 1),
        ("李小红（nurse01）", Decimal("60.00"), 2),
        ("his01", Decimal("10.00"), 2),
        ("store01", Decimal("5.00"), 1),
    ]
    # Every use and HIS line of the scenario falls under 王医生's orders (a HIS line without
    # its order id by the encounter's order of the same code); variances are nobody's.
    assert ranked(period, "doctor") == [("王医生", Decimal("6070.00"), 5)]


def test_dismissed_findings_and_upheld_appeals_do_not_count(scenario, office):
    period = whole(scenario)
    by_key = {(f.kind, f.encounter_no): f.key for f in sel.findings(period) if f.encounter_no}
    svc.followup_dismiss(user=office, key=by_key[("UNBILLED_USE", "ZY003")], reason="已补计费")
    nurse = scenario.users["nurse01"].user
    svc.followup_appeal(user=nurse, key=by_key[("PRICE_MISMATCH", "ZY001")], reason="物价已调")
    svc.followup_decide(
        user=office, key=by_key[("PRICE_MISMATCH", "ZY001")], upheld=True, reason="属实"
    )
    departments = dict((r[0], r[1:]) for r in ranked(period, "department"))
    assert departments["SSS01"] == (Decimal("6000.00"), 1)
    assert departments["XNK"] == (Decimal("120.00"), 4)
    staff = dict((r[0], r[1:]) for r in ranked(period, "staff"))
    assert "ssn01" not in staff
    assert staff["his01"] == (Decimal("5.00"), 1)


def test_a_rejected_appeal_still_counts(scenario, office):
    period = whole(scenario)
    key = next(f.key for f in sel.findings(period) if f.kind == "PRICE_MISMATCH")
    svc.followup_appeal(user=scenario.users["nurse01"].user, key=key, reason="物价已调")
    svc.followup_decide(user=office, key=key, upheld=False, reason="不属实")
    assert dict((r[0], r[1:]) for r in ranked(period, "department"))["XNK"] == (
        Decimal("125.00"),
        5,
    )


# -- the watch list ---------------------------------------------------------------------------


def finding_on(day, department, amount, n=[0]):  # noqa: B006 - a counter for unique refs
    n[0] += 1
    run, _ = ReconciliationRun.objects.get_or_create(
        date=day, defaults={"status": ReconciliationRun.Status.SUCCEEDED}
    )
    return ExceptionRow.objects.create(
        run=run,
        kind="CHARGE_WITHOUT_ORDER",
        department_code=department,
        material_code="M1",
        encounter_no=f"ZY{n[0]:04d}",
        quantity=1,
        ref=f"charge:{900000 + n[0]}",
        detail={"amount": str(amount)},
    )


SEP, OCT, NOV, DEC = (dt.date(2026, m, 1) for m in (9, 10, 11, 12))


@pytest.fixture
def months(db):
    for code, amount in [("D1", 500), ("D2", 400), ("D3", 300), ("D4", 200), ("D5", 100)]:
        finding_on(dt.date(2026, 9, 15), code, amount)
    finding_on(dt.date(2026, 10, 3), "D1", 100)
    finding_on(dt.date(2026, 10, 4), "D1", 20)
    finding_on(dt.date(2026, 10, 5), "D4", 900)


def watched(month, dimension="department"):
    return {
        w["entry"].subject: w for w in sel.watch_list(month) if w["entry"].dimension == dimension
    }


def test_the_top_three_of_a_month_enter_the_watch_list_for_three_months(months):
    entries = svc.watch_list_update(month=dt.date(2026, 9, 20))
    departments = [e for e in entries if e.dimension == "department"]
    assert [(e.subject, e.rank, e.amount) for e in departments] == [
        ("D1", 1, Decimal("500.00")),
        ("D2", 2, Decimal("400.00")),
        ("D3", 3, Decimal("300.00")),
    ]
    assert {(e.since, e.until) for e in departments} == {(SEP, NOV)}
    for month in (SEP, OCT, NOV):
        assert set(watched(month)) == {"D1", "D2", "D3"}
    assert watched(DEC) == {}


def test_the_trend_is_each_watched_months_findings(months):
    svc.watch_list_update(month=SEP)
    trend = watched(NOV)["D1"]["trend"]
    assert [(t["month"], t["amount"], t["findings"]) for t in trend] == [
        (SEP, Decimal("500.00"), 1),
        (OCT, Decimal("120.00"), 2),
        (NOV, Decimal("0.00"), 0),
    ]
    # Seen in October, November has not come yet.
    assert watched(OCT)["D1"]["trend"][2]["amount"] is None


def test_updating_a_month_again_adds_no_entry_twice(months):
    svc.watch_list_update(month=SEP)
    svc.watch_list_update(month=SEP)
    assert WatchListEntry.objects.filter(dimension="department").count() == 3


def test_a_later_months_top_three_enter_from_that_month(months):
    svc.watch_list_update(month=SEP)
    svc.watch_list_update(month=OCT)
    october = WatchListEntry.objects.filter(dimension="department", since=OCT)
    assert {e.subject for e in october} == {"D4", "D1"}  # only two counted in October
    assert set(watched(DEC)) == {"D4", "D1"}  # September's have left, October's remain


def test_rerunning_a_month_after_a_dismissal_takes_the_new_top_three(months, office):
    svc.watch_list_update(month=SEP)
    d1 = next(f for f in sel.findings(Period.month(2026, 9)) if f.department_code == "D1")
    svc.followup_dismiss(user=office, key=d1.key, reason="误报")
    svc.watch_list_update(month=SEP)
    assert set(watched(SEP)) == {"D2", "D3", "D4"}


def test_the_monthly_task_puts_last_months_top_three_on_watch(months, monkeypatch):
    from billing import reconciliation, tasks

    monkeypatch.setattr(reconciliation, "previous_business_day", lambda: dt.date(2026, 9, 30))
    assert tasks.watch_list_previous_month.delay().get() == "2026-09"
    assert set(watched(SEP)) == {"D1", "D2", "D3"}


@pytest.mark.parametrize(
    "kind, ref, quantity, detail, expected",
    [
        ("SPLIT_CHARGE", "charge:7", 3, {}, "37.50"),  # 3 x the line's 12.50
        ("SELF_PAY_WITHOUT_CONSENT", "charge:7", 1, {}, "12.50"),
        ("CHARGE_OVER_ORDER", "charge:7", 4, {}, "50.00"),
        ("SUBSTITUTION", "charge:7", 2, {}, "25.00"),
        ("DUPLICATE_CHARGE", "charge:7", 2, {}, "25.00"),
        ("UNBILLED_USE", "use:3", 2, {}, "160.00"),  # 2 x the price in force at the use
        ("PRICE_MISMATCH", "charge:7", 1, {"amount_difference": "-4.00"}, "4.00"),
        (
            "PURCHASE_PRICE_MISMATCH",
            "receipt_line:1",
            5,
            {"unit_cost": "31.00", "purchase_price": "30.00"},
            "5.00",
        ),
        ("STOCK_CONSUMPTION_VARIANCE", "stocktake:1", 6, {"variance_amount": "-18.00"}, "18.00"),
        ("FOUR_PRICE_MISALIGNED", "consumable:X", None, {}, "0.00"),
    ],
)
def test_the_amount_rule_of_each_kind(kind, ref, quantity, detail, expected):
    sources = sel.Sources(
        charges={7: {"unit_price": Decimal("12.5000"), "user_id": None, "doctor": ""}},
        uses={3: {"price": Decimal("80.0000"), "user_id": None, "doctor": ""}},
    )
    row = {
        "kind": kind,
        "ref": ref,
        "quantity": quantity,
        "detail": detail,
        "day": None,
        "department_code": "",
        "material_code": "",
    }
    assert sel.amount_of(row, sources) == Decimal(expected)
