"""In a real browser on a PDA: the insurance office finds uploads the platform refused,
reads the platform's message and sends one again once the cause is fixed."""

from __future__ import annotations

import pytest

from config import roles
from insurance_platform.models import UploadRecord
from insurance_platform.services import send
from tests.billing.conftest import client_for, hospital, post_scan  # noqa: F401  (fixtures)
from tests.insurance_platform import conftest as platform_conftest
from tests.insurance_platform import test_outbox_flows as flows

from .conftest import log_in

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

world = flows.world
platform = platform_conftest.platform


def test_the_office_resends_a_refused_sale_at_360_px(world, platform, new_page, screenshot):
    for _ in range(2):
        flows.created(post_scan(world["nurse"], "use", world["code"], "XNK", encounter="ZY001"))
    platform.reject(lambda txn, r: txn == "3505", 3101, "医保目录编码未备案 / code not filed")
    send.send_all_due()
    assert UploadRecord.objects.filter(status="failed").count() == 2
    client_for("ins01", roles.INSURANCE_OFFICE)
    page = new_page(width=360, height=740)
    log_in(page, "ins01", next_url="/insurance/uploads/")
    failures = page.locator("#failures tbody tr")
    assert failures.count() == 2
    assert "医保目录编码未备案" in failures.first.inner_text()
    assert "完整" in page.locator("#completeness").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, "platform-uploads-360", full_page=False)
    # The code is filed at the platform; one is sent again from the page.
    platform._rejections.clear()
    failures.first.get_by_role("button", name="重新上传 / Resend").click()
    page.wait_for_selector(".messages, [role=status], .notice")
    assert "已重新排队上传" in page.content()
    assert page.locator("#failures tbody tr").count() == 1
    assert UploadRecord.objects.filter(status="accepted", txn="3505").count() == 1
    screenshot(page, "platform-uploads-resent-360", full_page=True)
