"""In a real browser (issue 12, item 9): a nurse's home page offers the nurse's work only,
and a finance address ends on the Chinese 403 page that says why and leads home."""

from __future__ import annotations

import pytest

from tests.billing.conftest import hospital  # noqa: F401  (a fixture, used by name)

from .conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)

NURSE_TILES = [
    "床旁扫码 / Bedside scanning",
    "一日清单 / Daily itemised lists",
    "出院预审核 / Pre-discharge audit",
    "库存 / Stock on hand",
    "追溯 / Movement history",
    "盘点 / Stocktake",
]


def test_a_nurse_sees_only_nurse_tiles_and_a_finance_page_explains_its_refusal(
    hospital,  # noqa: F811
    new_page,
    screenshot,
):
    page = new_page()
    log_in(page, "nurse01")
    assert page.locator("ul.tiles a").all_inner_texts() == NURSE_TILES
    assert page.locator("h2").all_inner_texts() == ["病区 / Wards", "库房 / Stores"]
    screenshot(page, "home-nurse-1280")

    response = page.goto("/billing/finance/")
    assert response.status == 403
    assert page.locator("h1").inner_text() == "无权访问 / Access denied"
    alert = page.get_by_role("alert")
    assert "您的账号没有此页面所需的角色" in alert.inner_text()
    assert "财务 / finance" in page.locator("ul.needed-roles").inner_text()
    screenshot(page, "forbidden-nurse-1280")

    page.get_by_role("link", name="返回首页 / Back to the home page").click()
    page.wait_for_url("**/")
    assert page.locator("ul.tiles a").first.inner_text() == NURSE_TILES[0]
