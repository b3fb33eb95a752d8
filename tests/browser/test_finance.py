"""In a real browser: finance opens the dashboard, drills down department -> item ->
exception, and downloads the charges behind it as XLSX."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from config import roles
from tests.billing import finance_data as data
from tests.billing.conftest import client_for
from tests.billing.conftest import hospital as billing_hospital  # noqa: F401  (fixture)

from .conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def scenario(billing_hospital):  # noqa: F811
    built = data.build(billing_hospital)
    client_for("finance01", roles.FINANCE)
    return built


def test_finance_drills_down_to_the_charges_behind_an_exception_and_downloads_them(
    scenario, new_page, tmp_path, screenshot
):
    page = new_page()
    log_in(page, "finance01", next_url="/billing/finance/")
    chart = page.locator("svg.variance-chart")
    assert chart.get_attribute("role") == "img"
    assert chart.locator("rect.bar").count() == 3
    assert page.locator("svg.variance-chart .target-line").count() == 1
    screenshot(page, "finance-dashboard-1280", full_page=False)

    page.locator('table[data-table="by_variance"] a', has_text="XNK").click()
    page.wait_for_url("**/billing/finance/departments/XNK/**")
    b = scenario.items["B"].material_code
    page.locator('table[data-table="items"] a', has_text=b).click()
    page.wait_for_url(f"**/departments/XNK/items/{b}/**")

    unbilled = page.locator('table[data-table="exceptions"] tr', has_text="UNBILLED_USE")
    unbilled.first.locator("a").click()
    page.wait_for_url("**/billing/finance/exceptions/*/")
    assert "漏费" in page.locator("h1").inner_text()
    assert page.locator("#patient-name").inner_text() == "张*"
    charges = page.locator('table[data-table="charges"] tbody tr')
    assert charges.count() == 2  # the two HIS charges of B on ZY001 up to day 3
    assert page.locator('table[data-table="moves"] tbody tr').count() == 2
    screenshot(page, "finance-exception-1280")

    with page.expect_download() as info:
        page.locator('a[data-export="charges-xlsx"]').click()
    download = info.value
    assert download.suggested_filename.endswith("-charges.xlsx")
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    rows = list(load_workbook(target).active.iter_rows(values_only=True))
    assert rows[1][0] == "计费号 / charge"
    assert len(rows) - 2 == 2
    assert sorted(r[7] for r in rows[2:]) == [1, 2]  # charged quantities, as numbers


def test_dashboard_fits_a_pda_screen(scenario, new_page, screenshot):
    page = new_page(width=360, height=740)
    log_in(page, "finance01", next_url="/billing/finance/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360  # wide tables scroll inside their frame, the page does not
    box = page.locator("svg.variance-chart").bounding_box()
    assert box["width"] <= 360
    screenshot(page, "finance-dashboard-360", full_page=False)
