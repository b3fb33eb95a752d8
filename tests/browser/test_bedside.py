"""In a real browser: the nurse's bedside page 床旁扫码, online, offline and after a reload."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from billing.models import ChargeLine, ChargeRefund, Consent, Use
from inventory import labels
from tests.billing.conftest import stocked_item

from .bedside_world import bedside_ward, stock_stents_and_lens
from .conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)

# The README shows these (section "Screenshots / 界面截图"): taken by the tests, so they show
# the page as it is, in the states the tests just checked.
SCANS = "**/api/v1/scans"
OK = re.compile(r"\bok\b")
ERR = re.compile(r"\berr\b")
PENDING = re.compile(r"\bpending\b")


@pytest.fixture
def ward():
    hospital = bedside_ward()
    _, _, (hospital["cannula"],) = stocked_item(
        hospital, "690999000001", name="静脉留置针", spec="22G", price="25.5", quantity=20
    )
    _, _, (hospital["dressing"],) = stocked_item(
        hospital, "690999000002", name="透明敷贴", spec="6×7cm", price="3.2", quantity=20
    )
    stock_stents_and_lens(hospital)
    return hospital


def scan(page, code: str, key: str = "Enter"):
    box = page.locator("#scanbox")
    if re.search(r"[\x00-\x1f]", code):
        box.fill(code)  # GS separators as a wedge scanner leaves them in the input
    else:
        box.press_sequentially(code)
    box.press(key)


def open_patient(page, visit_no="ZY001", name="张三"):
    from playwright.sync_api import expect

    scan(page, visit_no)
    expect(page.locator(".bs-name")).to_have_text(name)


def session_rows(page, state=None):
    selector = "[data-session-rows] tr"
    return page.locator(selector + (f"[data-state={state}]" if state else ""))


def test_nurse_picks_ward_scans_wristband_and_items(ward, new_page, screenshot):
    from playwright.sync_api import expect

    page = new_page(1280)
    log_in(page, "nurse01", next_url="/billing/bedside/")
    expect(page.locator("h1")).to_contain_text("床旁扫码")
    expect(page.locator("a.bs-ward")).to_have_count(2)  # her ward and her theatre only
    page.click("a.bs-ward:has-text('心内科病区')")
    page.wait_for_url("**/bedside/?ward=XNK")
    expect(page.locator("#scanbox")).to_be_focused()

    open_patient(page)
    expect(page.locator(".bs-patient")).to_contain_text("心内科病区")
    expect(page.locator(".bs-patient")).to_contain_text("职工医保")

    result = page.locator("[data-result]")
    scan(page, ward["cannula"])
    expect(result).to_have_class(OK)
    expect(result).to_contain_text("静脉留置针 22G")
    expect(result).to_contain_text("数量 1")
    expect(result).to_contain_text("¥25.50")
    expect(result).to_contain_text("无对应医嘱，已记录，请补开医嘱")

    scan(page, ward["stents"][0], key="Tab")
    expect(result).to_have_class(OK)
    expect(result).to_contain_text("¥5800.00")
    expect(page.locator("[data-server-rows] tr[data-use]")).to_have_count(2)

    scan(page, ward["stents"][0])
    expect(result).to_have_class(ERR)
    expect(result).to_contain_text("ALREADY_USED")
    expect(result).to_contain_text("不能重复使用")
    assert Use.objects.count() == 2 and ChargeLine.objects.count() == 2
    screenshot(page, "bedside-1280")

    # A wristband of another patient of the ward while on this one: the page moves on.
    scan(page, "ZY002")
    expect(page.locator(".bs-name")).to_have_text("李四")
    expect(page.locator("[data-server-rows] tr.empty")).to_be_visible()

    # A patient of another ward: a big red line, no name.
    page.click("[data-change-patient]")
    scan(page, "ZY009")
    refusal = page.locator("[data-refusal]")
    expect(refusal).to_contain_text("ENCOUNTER_NOT_ON_WARD")
    expect(refusal).not_to_contain_text("王五")
    screenshot(page, "bedside-1280-refused")


def test_pda_layout_at_360px(ward, new_page, screenshot):
    from playwright.sync_api import expect

    page = new_page(360, 740)
    log_in(page, "nurse01", next_url="/billing/bedside/?ward=XNK")
    open_patient(page)
    scan(page, ward["cannula"])
    expect(page.locator("[data-result]")).to_have_class(OK)
    scan(page, ward["lens"])
    expect(page.locator("[data-result]")).to_have_class(ERR)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways on a PDA ({width}px)"
    screenshot(page, "bedside-360")


def test_offline_scans_wait_and_are_sent_once_when_the_network_returns(ward, new_page, screenshot):
    from playwright.sync_api import expect

    page = new_page(360, 740)
    log_in(page, "nurse01", next_url="/billing/bedside/?ward=XNK")
    open_patient(page)

    page.context.set_offline(True)
    scan(page, ward["cannula"])
    scan(page, ward["stents"][1])
    expect(session_rows(page, "pending")).to_have_count(2)
    expect(page.locator("[data-result]")).to_have_class(PENDING)
    expect(page.locator("[data-result]")).to_contain_text("待发送")
    expect(page.locator("[data-queue]")).to_contain_text("待发送 2 条")
    expect(page.locator("[data-net]")).to_be_visible()
    assert Use.objects.count() == 0 and ChargeLine.objects.count() == 0
    screenshot(page, "bedside-360-offline")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.context.set_offline(False)
    expect(page.locator("[data-session-rows] tr.pending")).to_have_count(0)  # sending too
    expect(page.locator("[data-queue]")).to_contain_text("已全部发送")
    expect(page.locator("[data-server-rows] tr[data-use]")).to_have_count(2)
    assert Use.objects.count() == 2
    assert sorted(str(c.amount) for c in ChargeLine.objects.all()) == ["25.50", "5800.00"]


def test_pending_scans_survive_a_reload_and_are_sent_afterwards(ward, new_page):
    from playwright.sync_api import expect

    page = new_page(1280)
    log_in(page, "nurse01", next_url="/billing/bedside/?ward=XNK")
    open_patient(page)
    # The API unreachable while the pages still load: a ward Wi-Fi that drops requests.
    page.route(SCANS, lambda route: route.abort("internetdisconnected"))
    scan(page, ward["cannula"])
    scan(page, ward["dressing"])
    expect(session_rows(page, "pending")).to_have_count(2)

    page.reload()
    expect(page.locator(".bs-name")).to_have_text("张三")
    expect(session_rows(page, "pending")).to_have_count(2)
    expect(page.locator("[data-queue]")).to_contain_text("待发送 2 条")
    assert Use.objects.count() == 0

    page.unroute(SCANS)
    page.click("[data-send-now]")
    expect(page.locator("[data-session-rows] tr.pending")).to_have_count(0)  # sending too
    expect(page.locator("[data-server-rows] tr[data-use]")).to_have_count(2)
    assert Use.objects.count() == 2 and ChargeLine.objects.count() == 2


def test_a_lost_answer_is_resent_with_the_same_event_id_and_charged_once(ward, new_page):
    from playwright.sync_api import expect

    page = new_page(1280)
    log_in(page, "nurse01", next_url="/billing/bedside/?ward=XNK")
    open_patient(page)
    lost = []

    def lose_the_answer(route):
        lost.append(route.fetch().status)  # the server records the scan...
        route.abort("connectionreset")  # ...and the answer never reaches the PDA

    page.route(SCANS, lose_the_answer)
    scan(page, ward["stents"][0])
    expect(session_rows(page, "pending")).to_have_count(1)
    assert lost[:1] == [201]
    assert Use.objects.count() == 1

    page.unroute(SCANS)
    page.click("[data-send-now]")
    result = page.locator("[data-result]")
    expect(result).to_have_class(OK)
    expect(result).to_contain_text("未重复计费")  # 200: the first answer again
    assert Use.objects.count() == 1 and ChargeLine.objects.count() == 1


def test_undo_sends_a_return_and_the_charge_is_refunded(ward, new_page):
    from playwright.sync_api import expect

    page = new_page(1280)
    log_in(page, "nurse01", next_url="/billing/bedside/?ward=XNK")
    open_patient(page)
    result = page.locator("[data-result]")

    page.fill("[data-qty]", "2")
    scan(page, ward["cannula"])
    expect(result).to_contain_text("¥51.00")
    row = page.locator("[data-server-rows] tr[data-use]")
    expect(row).to_have_count(1)
    undo = row.locator("[data-undo]")
    undo.click()
    expect(undo).to_contain_text("确认撤销")  # two taps: a stray touch returns nothing
    assert ChargeRefund.objects.count() == 0
    undo.click()
    expect(result).to_contain_text("已撤销")
    expect(result).to_contain_text("退费 ¥51.00")
    expect(row.locator(".bs-done")).to_have_text("已撤销")
    charge = ChargeLine.objects.get()
    assert (charge.quantity, charge.refunded_quantity) == (2, 2)
    assert Use.objects.get().returned_quantity == 2

    # A use listed by the server with no local trace: the page builds the code (DI + serial).
    scan(page, ward["stents"][1])
    expect(result).to_contain_text("¥5800.00")
    page.evaluate("localStorage.clear()")
    page.reload()
    stent_row = page.locator("[data-server-rows] tr[data-use]", has_text="冠脉支架")
    stent_row.locator("[data-undo]").click()
    stent_row.locator("[data-undo]").click()
    expect(result).to_contain_text("退费 ¥5800.00")
    stent = ChargeLine.objects.get(consumable__name="药物洗脱冠脉支架")
    assert stent.refunded_quantity == 1 and stent.active_unit is None


def test_consent_recorded_on_the_spot_then_the_scan_is_sent_again(ward, new_page, screenshot):
    from playwright.sync_api import expect

    page = new_page(360, 740)
    log_in(page, "nurse01", next_url="/billing/bedside/?ward=XNK")
    open_patient(page)
    result = page.locator("[data-result]")

    scan(page, ward["lens"])
    expect(result).to_have_class(ERR)
    expect(result).to_contain_text("自费知情同意")
    page.click("[data-consent]")
    form = page.locator("[data-consent-form]")
    expect(form.locator("[name=signed_by]")).to_have_value("张三")
    form.locator("[name=signed_by]").fill("张小三")
    form.locator("[name=relationship]").select_option("子女")
    screenshot(page, "bedside-360-consent")
    form.locator("button[type=submit]").click()
    expect(result).to_contain_text("已登记知情同意")
    assert Consent.objects.get().signed_by == "张小三"

    # The held scan is sent again by itself (issue 12: no button left to catch a read).
    expect(result).to_have_class(OK)
    expect(result).to_contain_text("人工晶体")
    expect(result.locator(".badge")).to_have_text("自费")
    assert ChargeLine.objects.get().self_pay is True


def test_offline_wristband_is_checked_against_the_ward_list(ward, new_page):
    from playwright.sync_api import expect

    page = new_page(360, 740)
    log_in(page, "nurse01", next_url="/billing/bedside/?ward=XNK")
    page.context.set_offline(True)
    scan(page, "ZY009")  # not on this ward's list
    expect(page.locator("[data-refusal]")).to_contain_text("离线")
    expect(page.locator("[data-refusal]")).not_to_contain_text("王五")
    scan(page, "ZY002")
    expect(page.locator(".bs-name")).to_have_text("李四")
    scan(page, ward["dressing"])
    expect(session_rows(page, "pending")).to_have_count(1)
    assert Use.objects.count() == 0

    page.context.set_offline(False)
    expect(page.locator("[data-server-rows] tr[data-use]")).to_have_count(1)
    assert Use.objects.get().encounter.visit_no == "ZY002"


def test_camera_photo_of_a_wristband_and_of_an_item(ward, new_page, tmp_path):
    """No live camera here (as on a plain-http intranet page): the photo is decoded by
    POST /api/v1/codes/decode and fed into the same scan path."""
    from playwright.sync_api import expect

    wristband = tmp_path / "wristband.png"
    wristband.write_bytes(labels.to_png(labels.code128("ZY001"), scale=3))
    item = tmp_path / "stent.png"
    expiry = timezone.localdate() + dt.timedelta(days=365)
    symbol = labels.gs1_datamatrix(ward["stent_di"], expiry=expiry, lot="L1", serial="SN0002")
    item.write_bytes(labels.to_png(symbol, scale=8))

    page = new_page(360, 740)
    log_in(page, "nurse01", next_url="/billing/bedside/?ward=XNK")
    page.click("[data-camera]")
    expect(page.locator("[data-camera-panel]")).to_be_visible()
    page.set_input_files("[data-photo]", str(wristband))
    expect(page.locator(".bs-name")).to_have_text("张三")
    expect(page.locator("[data-camera-panel]")).to_be_hidden()

    page.click("[data-camera]")
    page.set_input_files("[data-photo]", str(item))
    result = page.locator("[data-result]")
    expect(result).to_have_class(OK)
    expect(result).to_contain_text("SN0002")
    expect(result).to_contain_text("¥5800.00")


def test_two_tabs_offline_lose_nothing_and_double_nothing(ward, new_page):
    from playwright.sync_api import expect

    first = new_page(1280)
    log_in(first, "nurse01", next_url="/billing/bedside/?ward=XNK")
    open_patient(first)
    second = first.context.new_page()  # same nurse, same browser storage
    second.goto("/billing/bedside/?ward=XNK&visit=ZY001")
    expect(second.locator(".bs-name")).to_have_text("张三")

    first.context.set_offline(True)
    scan(first, ward["cannula"])
    scan(second, ward["dressing"])
    scan(first, ward["stents"][0])
    expect(first.locator("[data-queue]")).to_contain_text("待发送 3 条")
    expect(second.locator("[data-queue]")).to_contain_text("待发送 3 条")

    first.context.set_offline(False)
    for page in (first, second):
        expect(page.locator("[data-session-rows] tr.pending")).to_have_count(0)
    expect(first.locator("[data-server-rows] tr[data-use]")).to_have_count(3)
    assert Use.objects.count() == 3 and ChargeLine.objects.count() == 3
