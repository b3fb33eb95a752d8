"""In a real browser: receiving and issuing by keyboard-wedge scan, then stock on hand."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from config import roles
from consumables.models import Consumable
from consumables.udi import gtin_check_digit
from inventory.ledger import department_location
from inventory.models import StockBalance
from organisation.models import Department, Supplier
from tests.factories import (
    ConsumableFactory,
    DepartmentFactory,
    DeviceIdentifierFactory,
    PriceVersionFactory,
)

from .conftest import PASSWORD, log_in

pytestmark = pytest.mark.django_db(transaction=True)

BAD_GTIN = "01069012340000111712123110L1"  # wrong GTIN check digit


def gtin(body12: str) -> str:
    body = "0" + body12
    return body + gtin_check_digit(body)


def gs1(di: str, lot: str, expiry_days: int = 365) -> str:
    expiry = (timezone.localdate() + dt.timedelta(days=expiry_days)).strftime("%y%m%d")
    return f"01{di}17{expiry}10{lot}"


def person(username: str, role: str, *departments) -> User:
    # Transactional tests flush the tables: the role groups of the data migration may be gone.
    group, _ = Group.objects.get_or_create(name=role)
    user = User.objects.create_user(username, password=PASSWORD, first_name=username)
    user.groups.add(group)
    for department in departments:
        department.members.add(user)
    return user


def item(di_body: str, name: str, tracking=Consumable.Tracking.LOT) -> tuple[Consumable, str]:
    consumable = ConsumableFactory(name=name, spec="20G×1.1mm", tracking=tracking)
    di = DeviceIdentifierFactory(consumable=consumable, udi_di=gtin(di_body)).udi_di
    PriceVersionFactory(consumable=consumable, purchase_price=Decimal("12.5"))
    return consumable, di


@pytest.fixture
def hospital():
    store = DepartmentFactory(code="CK01", name="中心库房", kind=Department.Kind.STORE)
    ward = DepartmentFactory(code="XNK", name="心内科病区")
    Supplier.objects.create(code="GYS01", name="四川某医疗器械有限公司")
    person("store01", roles.STOREKEEPER, store)
    person("nurse01", roles.NURSE, ward)
    return {"store": store, "ward": ward}


def scan(page, code: str, key: str = "Enter"):
    box = page.locator("#scanbox")
    box.press_sequentially(code)
    box.press(key)


def on_hand(department, consumable) -> int:
    return sum(
        StockBalance.objects.filter(
            location=department_location(department), consumable=consumable
        ).values_list("quantity", flat=True)
    )


def fill_receipt(page, invoice="FP-2024-001", unit_cost="12.5"):
    page.select_option("select[name=supplier]", "GYS01")
    page.fill("input[name=invoice_no]", invoice)
    page.fill("input[name=unit_cost]", unit_cost)


def test_storekeeper_receives_issues_and_the_ward_sees_the_stock(hospital, new_page):
    from playwright.sync_api import expect

    consumable, di = item("690300000001", "静脉留置针")
    page = new_page(1280)
    log_in(page, "store01", next_url="/inventory/receive/")
    expect(page.locator("h1")).to_contain_text("入库")
    expect(page.locator("select[name=store]")).to_have_value("CK01")  # his only store
    fill_receipt(page)
    page.fill("[data-field=quantity]", "20")
    page.click("h1")  # the scan box takes the focus back
    expect(page.locator("#scanbox")).to_be_focused()

    scan(page, gs1(di, "LZ2401"))
    result = page.locator("[data-scan-result]")
    expect(result).to_have_class("scan-result ok")
    expect(result).to_contain_text("静脉留置针")
    expect(result).to_contain_text("LZ2401")
    expect(result).to_contain_text("数量 / qty 20")
    expect(page.locator("#scanbox")).to_have_value("")
    expect(page.locator("#scanbox")).to_be_focused()
    expect(page.locator("[data-field=quantity]")).to_have_value("")  # per scan only

    page.screenshot(path="/tmp/receive.png", full_page=True)

    scan(page, BAD_GTIN)
    expect(result).to_have_class("scan-result err")
    expect(result).to_contain_text("GTIN 校验位错误")
    expect(result).to_contain_text("UNREADABLE_CODE")

    log = page.locator("[data-scan-log] tr")
    expect(log).to_have_count(2)
    expect(log.nth(0)).to_have_class("err")
    expect(log.nth(1)).to_have_class("ok")
    page.screenshot(path="/tmp/receive-error.png", full_page=True)
    assert on_hand(hospital["store"], consumable) == 20

    page.goto("/inventory/issue/")
    page.select_option("select[name=ward]", "XNK")
    page.fill("input[name=q]", consumable.material_code)
    with page.expect_navigation(wait_until="load"):  # the lookup reloads the page:
        page.click(".fefo-search button")  # scan only once its scripts listen again
    fefo = page.locator(".fefo-table tbody tr")
    expect(fefo).to_have_count(1)
    expect(fefo.first).to_contain_text("LZ2401")
    expect(fefo.first).to_contain_text("20")
    page.fill("[data-field=quantity]", "5")
    scan(page, gs1(di, "LZ2401"), key="Tab")
    result = page.locator("[data-scan-result]")
    expect(result).to_have_class("scan-result ok")
    expect(result).to_contain_text("已出库")
    expect(result).to_contain_text("心内科病区")
    assert (on_hand(hospital["store"], consumable), on_hand(hospital["ward"], consumable)) == (
        15,
        5,
    )

    nurse = new_page(1280)
    log_in(nurse, "nurse01", next_url="/inventory/stock/")
    row = nurse.locator(f"tr[data-material-code='{consumable.material_code}']")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-department", "XNK")
    expect(row).to_contain_text("LZ2401")
    expect(row).to_contain_text("5")


def test_receiving_on_a_pda_screen_over_plain_http(hospital, new_page):
    from playwright.sync_api import expect

    _, di = item("690300000002", "非灭菌骨科螺钉", tracking=Consumable.Tracking.UNIT)
    page = new_page(360, 740)
    # A plain-http intranet address is no secure context: crypto.randomUUID is missing.
    page.add_init_script("delete Crypto.prototype.randomUUID;")
    log_in(page, "store01", next_url="/inventory/receive/")
    scan(page, gs1(di, "GK01"))  # nothing filled in yet: not sent
    result = page.locator("[data-scan-result]")
    expect(result).to_have_class("scan-result err")
    expect(result).to_contain_text("请先填写")

    fill_receipt(page, invoice="FP-2024-002")
    page.fill("[data-field=quantity]", "2")
    page.locator("#scanbox").focus()
    scan(page, gs1(di, "GK01"))
    expect(result).to_have_class("scan-result ok")
    expect(result).to_contain_text("非灭菌骨科螺钉")
    link = result.locator("a.labels-link")
    expect(link).to_contain_text("2")
    assert link.get_attribute("href").startswith("/inventory/labels/?labels=YN")

    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways on a PDA ({width}px)"
    page.screenshot(path="/tmp/receive-360.png", full_page=True)

    page.reload()  # the session's scans survive a reload
    expect(page.locator("[data-scan-log] tr")).to_have_count(2)
