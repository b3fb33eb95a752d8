"""In a real browser, on the demo as ``make run`` loads it: the finance user finds a month of
variance on the dashboard, drills into the worst department, opens yesterday's theatre
report and follows one of its patients into the audit trail. Every page has rows."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command

from billing import demo_history
from consumables import demo_data

from .conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo():
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def body_rows(page, table: str):
    return page.locator(f'table[data-table="{table}"] tbody tr:not(.empty)')


def test_the_demo_opens_on_a_month_of_finance(demo, new_page, screenshot):
    page = new_page()
    log_in(page, "finance01", demo_data.DEMO_PASSWORD, next_url="/billing/finance/")

    # The dashboard: a bar for each of the 30 reconciled days, departments ranked.
    bars = page.locator("svg.variance-chart rect.bar")
    assert bars.count() == demo_history.HISTORY_DAYS
    ranking = body_rows(page, "by_variance")
    assert ranking.count() >= 7
    screenshot(page, "demo-finance-dashboard")

    # The worst department's items, and one item's days and exceptions.
    ranking.first.locator("a").first.click()
    page.wait_for_url("**/billing/finance/departments/**")
    items = body_rows(page, "items")
    assert items.count() >= 2
    items.first.locator("a").first.click()
    page.wait_for_url("**/billing/finance/departments/*/items/**")
    assert body_rows(page, "days").count() >= 1
    screenshot(page, "demo-finance-item")

    # Yesterday's theatre report (its default day): implants with supplier and ownership.
    page.goto("/billing/finance/theatre/")
    uses = body_rows(page, "uses")
    assert uses.count() >= 2
    assert body_rows(page, "suppliers").count() >= 1
    cells = [t.strip() for t in uses.first.locator("td").all_inner_texts()]
    visit_no = next(t for t in cells if re.fullmatch(r"ZY\d+", t))
    screenshot(page, "demo-theatre-report")

    # That patient's audit trail: HIS's admission and orders, the scans, the charges.
    page.goto(f"/billing/audit-trail/?q={visit_no}")
    rows = page.locator("table.grid tbody tr")
    assert rows.count() >= 3
    text = page.locator("table.grid tbody").inner_text()
    assert "没有记录" not in text
    assert "扫码" in text and "计费" in text
    screenshot(page, "demo-audit-trail")
