"""In a real browser: finance reads 进销存 between two counts, at 1280 px and on a PDA."""

from __future__ import annotations

import pytest
from django.utils import timezone

from config import roles
from tests.billing.conftest import (
    client_for,
    hospital,  # noqa: F401  (fixture)
)
from tests.billing.test_stock_side import counters, crafted, his  # noqa: F401  (fixtures)

from .conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("width", [1280, 360])
def test_the_stock_side_page_flags_the_leak_and_fits_the_screen(
    hospital,  # noqa: F811
    his,  # noqa: F811
    counters,  # noqa: F811
    new_page,
    screenshot,
    width,
):
    leak, _ = crafted(hospital, his, counters)
    client_for("finance01", roles.FINANCE)
    today = timezone.localdate().isoformat()
    url = f"/billing/finance/stock/?since={today}&until={today}"
    page = new_page(width=width, height=900 if width > 400 else 740)
    log_in(page, "finance01", next_url="/billing/finance/stock/")
    page.goto(url)
    row = page.locator("table.stock-side tr.over")
    assert row.count() == 1
    assert leak.material_code in row.inner_text()
    assert "80.00%" in row.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"finance-stock-{width}", full_page=False)
