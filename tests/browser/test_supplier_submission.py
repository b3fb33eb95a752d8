"""In a real browser: a supplier submits an item's insurance code, UDI-DIs and insurance class
(限定支付 with its condition), procurement approves, and the scan of that DI then resolves to
the item, which is now restricted."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from config import roles
from consumables.models import Consumable, SupplierSubmission
from consumables.submissions.services import supplier_product_assign
from consumables.udi import gtin_check_digit
from organisation.models import Supplier
from tests.factories import ConsumableFactory, insurance_code

from .conftest import PASSWORD, log_in

pytestmark = pytest.mark.django_db(transaction=True)


def gtin(indicator: str, body12: str) -> str:
    body = indicator + body12
    return body + gtin_check_digit(body)


UNIT_DI = gtin("0", "690355512340")
BOX_DI = gtin("1", "690355512340")
INS = insurance_code(777)
CONDITION = "限中心静脉置管术后使用"


def person(username: str, role: str) -> User:
    group, _ = Group.objects.get_or_create(name=role)
    user = User.objects.create_user(username, password=PASSWORD, first_name=username)
    user.groups.add(group)
    return user


@pytest.fixture
def market():
    supplier = Supplier.objects.create(code="GYS01", name="四川某医疗器械有限公司")
    rival = Supplier.objects.create(code="GYS02", name="成都另一器械公司")
    seller = person("gys01", roles.SUPPLIER)
    supplier.users.add(seller)
    buyer = person("cg01", roles.PROCUREMENT)
    item = ConsumableFactory(material_code="WZ-LZZ", name="静脉留置针", spec="22G",
                             insurance_code=None)  # fmt: skip
    theirs = ConsumableFactory(material_code="WZ-DNG", name="导尿管", insurance_code=None)
    supplier_product_assign(supplier_code="GYS01", consumable=item, user=buyer)
    supplier_product_assign(supplier_code="GYS02", consumable=theirs, user=buyer)
    assert rival.code == "GYS02"
    return {"item": item}


def resolve(page, code: str):
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        "/api/v1/codes/resolve", data={"code": code}, headers={"X-CSRFToken": token}
    )
    assert response.status == 200, response.text()
    return response.json()


def scan_text(di: str) -> str:
    expiry = (timezone.localdate() + dt.timedelta(days=400)).strftime("%y%m%d")
    return f"01{di}17{expiry}10LZ2405"


def test_supplier_submits_procurement_approves_and_the_scan_resolves(market, new_page):
    from playwright.sync_api import expect

    # The supplier sees only its own product, and submits its codes.
    seller = new_page(1280)
    log_in(seller, "gys01", next_url="/master/supplier/")
    rows = seller.locator("[data-products] tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("静脉留置针")
    expect(seller.locator("body")).not_to_contain_text("导尿管")
    rows.first.get_by_role("link", name="提交编码 / Submit codes").click()
    seller.fill("input[name=insurance_code]", INS)
    seller.fill("input[name=registration_no]", "川械注准20232140001")
    seller.fill("input[name=udi_di_0]", f"(01){UNIT_DI}")
    seller.fill("input[name=units_0]", "1")
    seller.fill("input[name=level_0]", "最小销售单元")
    seller.fill("input[name=udi_di_1]", BOX_DI)
    seller.fill("input[name=units_1]", "50")
    seller.fill("input[name=level_1]", "中包装")
    seller.select_option("select[name=insurance_class]", "restricted")
    seller.fill("textarea[name=restriction]", CONDITION)
    seller.screenshot(path="/tmp/supplier-submit.png", full_page=True)
    seller.get_by_role("button", name="提交审核 / Submit for review").click()
    expect(seller.locator("[data-status]")).to_contain_text("待审核")
    submission = SupplierSubmission.objects.get()

    # Procurement, before approving: the scan parses but names no item yet.
    buyer = new_page(1280)
    log_in(buyer, "cg01", next_url="/master/submissions/")
    assert resolve(buyer, scan_text(BOX_DI))["consumable"] is None
    row = buyer.locator(f"[data-submission='{submission.pk}']").first
    expect(row).to_contain_text("WZ-LZZ")
    row.get_by_role("link", name=str(submission.pk)).click()
    expect(buyer.locator("[data-conflicts]")).to_have_count(0)
    expect(buyer.locator("tr[data-insurance-class]")).to_contain_text("限定支付")
    expect(buyer.locator("tr[data-restriction]")).to_contain_text(CONDITION)
    buyer.get_by_role("button", name="通过并关联 / Approve and link").click()
    expect(buyer.locator("[data-status]").first).to_contain_text("已通过")
    expect(buyer.locator("[data-history] tr")).to_have_count(3)  # header, submitted, approved
    buyer.screenshot(path="/tmp/submission-approved.png", full_page=True)

    # The scan of the box now resolves to the item, with its 50 units.
    answer = resolve(buyer, scan_text(BOX_DI))
    assert answer["consumable"]["material_code"] == "WZ-LZZ"
    assert answer["consumable"]["insurance_code"] == INS
    assert (answer["di"], answer["units_per_package"], answer["lot"]) == (BOX_DI, 50, "LZ2405")
    assert resolve(buyer, scan_text(UNIT_DI))["units_per_package"] == 1
    item = Consumable.objects.get(pk=market["item"].pk)
    assert item.registration_no == "川械注准20232140001"
    assert (item.insurance_class, item.insurance_restriction) == ("restricted", CONDITION)

    # The supplier sees the decision.
    seller.goto("/master/supplier/")
    expect(seller.locator("[data-products] tbody tr").first).to_contain_text("已通过")


def test_a_conflicting_di_is_refused_on_the_supplier_page_with_the_item_named(market, new_page):
    from playwright.sync_api import expect

    from tests.factories import DeviceIdentifierFactory

    holder = ConsumableFactory(material_code="WZ-FT", name="透明敷贴")
    DeviceIdentifierFactory(consumable=holder, udi_di=UNIT_DI)
    page = new_page(1280)
    log_in(page, "gys01", next_url=f"/master/supplier/products/{market['item'].pk}/")
    page.fill("input[name=registration_no]", "川械注准20232140001")
    page.fill("input[name=udi_di_0]", UNIT_DI)
    page.get_by_role("button", name="提交审核 / Submit for review").click()
    expect(page.locator(".messages")).to_contain_text("WZ-FT 透明敷贴")
    expect(page.locator(".messages")).to_contain_text("UDI_DI_CONFLICT")
    assert not SupplierSubmission.objects.exists()
