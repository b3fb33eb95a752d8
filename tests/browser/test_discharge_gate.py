"""In a real browser (issue 16, item 5): a ward nurse opens the pre-discharge audit of a
patient whose discharge HIS was refused (409 OPEN_FINDINGS) and reads what to fix; once the
wrong charge is refunded the banner is gone and HIS discharges the patient."""

from __future__ import annotations

import uuid

import pytest

from config import roles
from tests.billing.conftest import client_for, hospital  # noqa: F401  (a fixture, by name)
from tests.billing.test_boundary import charge, item, minutes_ago, order

from .conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_ward_sees_why_discharge_is_held_and_that_it_is_released(
    hospital,  # noqa: F811
    new_page,
    screenshot,
    settings,
):
    settings.DISCHARGE_GATE_KINDS = frozenset({"PRICE_MISMATCH"})
    his = client_for("his", roles.INTEGRATION)
    consumable = item(hospital, "690777000091")
    order(his, consumable)
    line = charge(his, consumable, price="99.00").json()["charge"]
    assert his.post("/api/v1/encounters/ZY001/discharge", {}, format="json").status_code == 409

    page = new_page()
    log_in(page, "nurse01")
    page.goto("/billing/audit/ZY001/")
    banner = page.locator("#discharge-held")
    assert banner.get_attribute("role") == "alert"
    text = banner.inner_text()
    assert "出院已被拦截" in text and "核对价格" in text and consumable.material_code in text
    assert banner.locator("li").count() == 1
    screenshot(page, "audit-discharge-held-1280")

    refund = his.post(
        f"/api/v1/charges/{line['id']}/refund",
        {"event_id": str(uuid.uuid4()), "quantity": 1, "refunded_at": minutes_ago(1).isoformat()},
        format="json",
    )
    assert refund.status_code == 201
    page.reload()
    assert page.locator("#discharge-held").count() == 0
    assert his.post("/api/v1/encounters/ZY001/discharge", {}, format="json").status_code == 200
