"""The follow-up pages: the insurance office's list and actions, the ward's own findings
and its appeal form, the rankings page; every action through the one service."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import FindingFollowUp
from billing.selectors import followup as sel
from config import roles
from tests.billing import finance_data as data

pytestmark = pytest.mark.django_db

LIST, WARD, ACT, RANKINGS = (
    "/billing/followup/",
    "/billing/followup/ward/",
    "/billing/followup/act/",
    "/billing/followup/rankings/",
)


@pytest.fixture
def scenario(hospital):
    return data.build(hospital)


@pytest.fixture
def office(scenario):
    return data.logged_in("insurance01", roles.INSURANCE_OFFICE)


@pytest.fixture
def nurse(scenario):
    client = scenario.users["nurse01"]
    client.force_login(client.user)
    return client


def span(scenario):
    return f"since={scenario.days[0]}&until={scenario.days[2]}"


def keys(response) -> list[str]:
    """The findings a list page shows, in its order."""
    return re.findall(r'data-key="([^"]+)"', response.content.decode())


def key_of(scenario, kind, encounter):
    period = sel.Period(scenario.days[0], scenario.days[2])
    return next(
        f.key for f in sel.findings(period) if (f.kind, f.encounter_no) == (kind, encounter)
    )


def test_the_office_lists_every_finding_of_the_period_biggest_amount_first(scenario, office):
    response = office.get(f"{LIST}?{span(scenario)}")
    assert response.status_code == 200
    text = response.content.decode()
    assert "问题跟踪" in text and "待处理" in text
    listed = keys(response)
    # 5 encounter findings, 4 variances, a receipt and E's four prices on each of 3 days.
    assert len(listed) == 13
    assert listed[0].startswith("UNBILLED_USE|ZY003|")  # 6000.00 (ties: by day, then key)
    assert listed[-1].startswith("FOUR_PRICE_MISALIGNED|")  # no amount


def test_the_office_filters_by_kind_department_and_status(scenario, office):
    response = office.get(f"{LIST}?{span(scenario)}&kind=PRICE_MISMATCH")
    assert [k.split("|")[0] for k in keys(response)] == ["PRICE_MISMATCH"]
    response = office.get(f"{LIST}?{span(scenario)}&department=GKB")
    assert {k.split("|")[0] for k in keys(response)} == {
        "DUPLICATE_CHARGE",
        "VARIANCE_OVER_THRESHOLD",
    }
    key = key_of(scenario, "PRICE_MISMATCH", "ZY001")
    office.post(ACT, {"key": key, "step": "confirm", "next": LIST})
    response = office.get(f"{LIST}?{span(scenario)}&status=confirmed")
    assert keys(response) == [key]


def test_the_office_confirms_and_dismisses_from_the_page(scenario, office):
    key = key_of(scenario, "DUPLICATE_CHARGE", "ZY002")
    back = f"{LIST}?{span(scenario)}"
    response = office.post(ACT, {"key": key, "step": "dismiss", "reason": "", "next": back})
    assert response.status_code == 302 and response["Location"] == back
    assert "请填写理由" in office.get(back).content.decode()
    assert not FindingFollowUp.objects.filter(key=key).exists()
    office.post(ACT, {"key": key, "step": "dismiss", "reason": "已退费", "next": back})
    record = FindingFollowUp.objects.get(key=key)
    assert (record.status, record.reason, record.decided_by.username) == (
        "dismissed",
        "已退费",
        "insurance01",
    )


def test_the_ward_sees_only_its_own_findings_and_appeals_one(scenario, nurse):
    response = nurse.get(f"{WARD}?{span(scenario)}")
    assert response.status_code == 200
    listed = keys(response)
    assert listed and all(k.split("|")[1] == "ZY001" or "|XNK|" in k for k in listed)
    text = response.content.decode()
    assert "提交申诉" in text and "GKB" not in text and "SSS01" not in text
    key = key_of(scenario, "PRICE_MISMATCH", "ZY001")
    nurse.post(ACT, {"key": key, "step": "appeal", "reason": "价格已调整", "next": WARD})
    record = FindingFollowUp.objects.get(key=key)
    assert (record.status, record.appealed_by.username) == ("appealed", "nurse01")


def test_a_nurse_cannot_appeal_another_wards_finding_through_the_page(scenario, nurse):
    key = key_of(scenario, "DUPLICATE_CHARGE", "ZY002")  # GKB's
    response = nurse.post(ACT, {"key": key, "step": "appeal", "reason": "x", "next": WARD})
    assert response.status_code == 302
    assert "您只能申诉本科室的问题" in nurse.get(WARD).content.decode()
    assert not FindingFollowUp.objects.filter(key=key).exists()


def test_a_nurse_cannot_confirm_through_the_page(scenario, nurse):
    key = key_of(scenario, "PRICE_MISMATCH", "ZY001")
    nurse.post(ACT, {"key": key, "step": "confirm", "next": WARD})
    assert not FindingFollowUp.objects.filter(key=key).exists()


def test_an_action_never_redirects_off_site(scenario, office):
    key = key_of(scenario, "PRICE_MISMATCH", "ZY001")
    response = office.post(ACT, {"key": key, "step": "confirm", "next": "https://evil.example/"})
    assert response["Location"] == LIST


def test_the_office_decides_the_appeal_from_the_page(scenario, office, nurse):
    key = key_of(scenario, "PRICE_MISMATCH", "ZY001")
    nurse.post(ACT, {"key": key, "step": "appeal", "reason": "价格已调整", "next": WARD})
    text = office.get(f"{LIST}?{span(scenario)}&status=appealed").content.decode()
    assert "价格已调整" in text and "申诉通过" in text
    office.post(ACT, {"key": key, "step": "reject", "reason": "调价晚于计费", "next": LIST})
    assert FindingFollowUp.objects.get(key=key).status == "appeal_rejected"


def test_the_rankings_page_shows_the_top_three_and_the_watch_list(scenario, office):
    month = f"{scenario.days[2]:%Y-%m}"
    response = office.get(f"{RANKINGS}?month={month}")
    assert response.status_code == 200
    text = response.content.decode()
    assert "前三 / top three" in text and "王医生" in text
    office.post("/billing/followup/rankings/watch/", {"month": month})
    text = office.get(f"{RANKINGS}?month={month}").content.decode()
    assert "本月无监测对象" not in text
    assert 'id="watch-list"' in text


def test_finance_reads_the_list_without_any_action(scenario):
    finance = data.logged_in("finance01", roles.FINANCE)
    response = finance.get(f"{LIST}?{span(scenario)}")
    assert response.status_code == 200 and len(keys(response)) == 13
    assert 'name="step"' not in response.content.decode()
    key = key_of(scenario, "PRICE_MISMATCH", "ZY001")
    assert finance.post(ACT, {"key": key, "step": "confirm"}).status_code == 403


def test_the_office_list_costs_the_same_queries_however_many_follow_ups(scenario, office, nurse):
    url = f"{LIST}?{span(scenario)}"
    office.get(url)  # warm the session and the language
    with CaptureQueriesContext(connection) as before:
        office.get(url)
    assert len(before.captured_queries) <= 12
    period = sel.Period(scenario.days[0], scenario.days[2])
    for f in sel.findings(period):
        if f.department_code == "XNK":
            nurse.post(ACT, {"key": f.key, "step": "appeal", "reason": "理由", "next": WARD})
        elif f.kind != "FOUR_PRICE_MISALIGNED" or f.day == scenario.days[0]:
            office.post(ACT, {"key": f.key, "step": "confirm", "next": LIST})
    assert FindingFollowUp.objects.count() >= 8
    with CaptureQueriesContext(connection) as after:
        office.get(url)
    assert len(after.captured_queries) == len(before.captured_queries)


def test_the_list_shows_the_biggest_findings_first_up_to_its_limit(scenario, office, monkeypatch):
    from billing.views import followup as views

    monkeypatch.setattr(views, "SHOWN", 2)
    response = office.get(f"{LIST}?{span(scenario)}")
    assert len(keys(response)) == 2
    text = response.content.decode()
    assert "13 条问题" in text and "按金额显示前 2 条" in text
