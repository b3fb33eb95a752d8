"""In a real browser: the pages open in Chinese, the top-bar switch turns them to English
(the choice sticks in the language cookie), and back."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from billing.models import Encounter, Patient
from config import roles
from organisation.models import Department, Supplier
from tests.billing.conftest import client_for, stocked_item
from tests.factories import DepartmentFactory
from tests.test_i18n import compiled_messages  # noqa: F401  (a fixture, used by name)

from .conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)
HAN = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture
def ward(compiled_messages, settings):  # noqa: F811
    settings.LANGUAGE_COOKIE_SECURE = False  # the test server speaks plain HTTP
    store = DepartmentFactory(code="CK01", name="Central store", kind=Department.Kind.STORE)
    ward = DepartmentFactory(code="XNK", name="Cardiology ward")
    Supplier.objects.create(code="GYS01", name="Supplier One")
    hospital = {
        "store": store,
        "ward": ward,
        "keeper": client_for("store01", roles.STOREKEEPER, store),
        "nurse": client_for("nurse01", roles.NURSE, ward),
    }
    Encounter.objects.create(
        visit_no="ZY001",
        patient=Patient.objects.create(patient_id="P-1", name="Zhang San"),
        department=ward,
        admitted_at=timezone.now() - dt.timedelta(days=2),
    )
    _, _, (hospital["cannula"],) = stocked_item(
        hospital, "690999000011", name="IV cannula", spec="22G", price="25.5", quantity=20
    )
    return hospital


def switch_to(page, language: str) -> None:
    with page.expect_navigation():
        page.select_option("select[name=language]", language)


def visible_han(page) -> list[str]:
    """Chinese in what the page shows, the language switch aside (it names 简体中文 in its
    own script on purpose)."""
    text = page.evaluate(
        """() => {
            const clone = document.body.cloneNode(true);
            clone.querySelectorAll("select[name=language], script").forEach(n => n.remove());
            return clone.innerText;
        }"""
    )
    return [line for line in text.splitlines() if HAN.search(line)]


@pytest.fixture
def english_browser_page(browser, live_server, plain_http_cookies):
    """A page of a browser that asks for English first (Accept-Language: en-US)."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        locale="en-US",
        timezone_id="Asia/Shanghai",
        base_url=live_server.url,
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_switch_turns_the_pages_to_english_and_back(ward, english_browser_page):
    from playwright.sync_api import expect

    page = english_browser_page
    log_in(page, "nurse01")
    # Chinese by default, even for a browser asking for English first.
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("main")).to_contain_text("床旁扫码 / Bedside scanning")
    expect(page.locator("select[name=language]")).to_have_value("zh-hans")

    switch_to(page, "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("select[name=language]")).to_have_value("en")
    expect(page.locator("main")).to_contain_text("Bedside scanning")
    expect(page.locator("header")).to_contain_text("Log out")
    assert visible_han(page) == []

    # The choice sticks: the bedside page, opened afresh, is English too.
    page.goto("/billing/bedside/?ward=XNK")
    expect(page.locator("h1")).to_have_text("Bedside")
    expect(page.locator("#scanbox")).to_have_attribute("placeholder", "Scan the wristband")
    page.locator("#scanbox").press_sequentially("ZY001")
    page.locator("#scanbox").press("Enter")
    expect(page.locator(".bs-name")).to_have_text("Zhang San")
    expect(page.locator(".bs-patient")).to_contain_text("Visit no.")

    # A scan answer drawn by the script: English words, English money.
    result = page.locator("[data-result]")
    page.locator("#scanbox").press_sequentially(ward["cannula"])
    page.locator("#scanbox").press("Enter")
    expect(result).to_have_class(re.compile(r"\bok\b"))
    expect(result).to_contain_text("IV cannula 22G")
    expect(result).to_contain_text("Qty 1")
    expect(result).to_contain_text("Amount ¥25.50")
    expect(result).to_contain_text("No doctor order: recorded, ask for the order")
    # A refusal: the server's English message, the code, no Chinese.
    page.locator("#scanbox").press_sequentially("NO-SUCH-CODE")
    page.locator("#scanbox").press("Enter")
    expect(result).to_have_class(re.compile(r"\berr\b"))
    expect(result).to_contain_text("UNKNOWN_CODE")
    assert not HAN.search(result.inner_text()), result.inner_text()
    assert visible_han(page) == []

    switch_to(page, "zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("h1")).to_contain_text("床旁扫码")
    expect(page.locator("#scanbox")).to_have_attribute(
        "placeholder", re.compile("请扫描")
    )
