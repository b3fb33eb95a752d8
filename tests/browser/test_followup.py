"""In a real browser: a nurse appeals a finding of her ward on a PDA (360 px), and the
insurance office sees the appeal on a PC and decides it."""

from __future__ import annotations

import pytest

from billing.models import FindingFollowUp
from billing.selectors import followup as sel
from billing.selectors.common import Period
from config import roles
from tests.billing import finance_data as data
from tests.billing.conftest import client_for
from tests.billing.conftest import hospital as billing_hospital  # noqa: F401  (fixture)

from .conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def scenario(billing_hospital):  # noqa: F811
    built = data.build(billing_hospital)
    client_for("insurance01", roles.INSURANCE_OFFICE)
    return built


def test_a_ward_appeal_reaches_the_insurance_office_who_decides_it(scenario, new_page, screenshot):
    d1, _, d3 = scenario.days
    span = f"since={d1}&until={d3}"
    key = next(
        f.key
        for f in sel.findings(Period(d1, d3))
        if (f.kind, f.encounter_no) == ("PRICE_MISMATCH", "ZY001")
    )

    pda = new_page(width=360, height=740)
    log_in(pda, "nurse01", next_url="/billing/followup/ward/")
    pda.goto(f"/billing/followup/ward/?{span}")
    card = pda.locator(f'li.finding-card[data-key="{key}"]')
    assert "收费价格不符" in card.locator(".kind").inner_text()
    assert "待处理" in card.locator(".badge").inner_text()
    # Nothing wider than the PDA's screen.
    assert pda.evaluate("document.documentElement.scrollWidth") <= 360
    assert not card.locator("textarea[name=reason]").is_visible()  # folded until wanted
    card.locator("details.appeal summary").click()
    card.locator("textarea[name=reason]").fill("物价办已于当日调价，计费价格为新价")
    card.locator("textarea[name=evidence]").fill("调价通知 WJ-2026-118")
    screenshot(pda, "followup-ward-appeal-360")
    card.locator("button[value=appeal]").click()
    pda.wait_for_url("**/billing/followup/ward/**")
    assert "申诉已提交" in pda.locator("ul.messages").inner_text()
    card = pda.locator(f'li.finding-card[data-key="{key}"]')
    assert "科室申诉中" in card.locator(".badge").inner_text()
    screenshot(pda, "followup-ward-appealed-360")

    pc = new_page(width=1280)
    log_in(pc, "insurance01", next_url="/billing/followup/")
    pc.goto(f"/billing/followup/?{span}&status=appealed")
    card = pc.locator(f'li.finding-card[data-key="{key}"]')
    assert card.count() == 1 and pc.locator("li.finding-card").count() == 1
    assert "物价办已于当日调价" in card.inner_text()
    assert "调价通知 WJ-2026-118" in card.inner_text()
    card.locator("input[name=reason]").fill("调价生效时间晚于计费时间，申诉不成立")
    screenshot(pc, "followup-office-appeal-1280")
    card.locator("button[value=reject]").click()
    pc.wait_for_url("**/billing/followup/**")
    assert "申诉已驳回" in pc.locator("ul.messages").inner_text()
    record = FindingFollowUp.objects.get(key=key)
    assert (record.status, record.appealed_by.username, record.decided_by.username) == (
        "appeal_rejected",
        "nurse01",
        "insurance01",
    )
    pc.goto(f"/billing/followup/?{span}&status=appeal_rejected")
    screenshot(pc, "followup-office-decided-1280")
    pc.goto(f"/billing/followup/rankings/?month={d3:%Y-%m}")
    pc.locator("#watch-list button").click()
    pc.wait_for_url("**/billing/followup/rankings/**")
    assert "王医生" in pc.locator("#watch-list tbody").inner_text()  # top doctor of the month
    screenshot(pc, "followup-rankings-1280")
