"""The bedside page under a real keyboard-wedge scanner (issue 12, the page's side).

A wedge scanner is a keyboard: it types the code key by key, a few milliseconds apart, then
Enter, into whatever has focus. ``wedge`` does exactly that through ``page.keyboard`` (never
``locator.fill``, which would focus the scan box first and hide a focus bug). Each behaviour
is checked at a ward PC's width and at a PDA's 360 px, and where money is involved the
database is asked what was charged.
"""

import datetime as dt
import json
import re
import time

import pytest
from django.utils import timezone

from billing.models import ChargeLine, Use
from consumables.udi import gtin_check_digit
from tests.billing.conftest import expiry_text, post_scan, stocked_item
from tests.factories import DeviceIdentifierFactory

from .bedside_world import bedside_ward, stock_stents_and_lens
from .conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = [pytest.param(1280, id="pc"), pytest.param(360, id="pda")]
OK = re.compile(r"\bok\b")
ERR = re.compile(r"\berr\b")
SCANS = "**/api/v1/scans"
BOX_OF = 50


@pytest.fixture
def ward():
    """A ward with a lot-tracked syringe, cannulas by the unit and in a box of 50, stents
    tracked by serial and a self-pay lens; two patients on the ward, one elsewhere."""
    hospital = bedside_ward()
    _, _, (hospital["syringe"],) = stocked_item(
        hospital, "690999000001", name="一次性注射器", spec="5ml", price="0.8", quantity=20
    )
    cannula, _, (hospital["cannula"],) = stocked_item(
        hospital, "690999000002", name="静脉留置针", spec="22G", price="17.27", quantity=20
    )
    hospital["box"] = _box_issued_to_the_ward(hospital, cannula, "690999000002")
    stock_stents_and_lens(hospital)
    return hospital


def _box_issued_to_the_ward(hospital, consumable, body12: str) -> str:
    """The box DI (50 per box) of ``consumable``: a box received and issued to the ward,
    as the store does; returns the box's code (lot NEW001)."""
    body = "1" + body12
    box_di = body + gtin_check_digit(body)
    DeviceIdentifierFactory(
        consumable=consumable, udi_di=box_di, units_per_package=BOX_OF, package_level="箱（50支）"
    )
    code = f"01{box_di}17{expiry_text()}10NEW001"
    keeper = hospital["keeper"]
    receive = post_scan(
        keeper, "receive", code, "CK01", supplier="GYS01", unit_cost="17.27", quantity=BOX_OF
    )
    assert receive.status_code == 201, receive.json()
    issue = post_scan(keeper, "issue", code, "XNK", from_department="CK01", quantity=BOX_OF)
    assert issue.status_code == 201, issue.json()
    return code


def wedge(page, code: str, delay: int = 5):
    """A keyboard-wedge scanner: the code typed fast, key by key, then Enter, wherever the
    focus is."""
    page.keyboard.type(code, delay=delay)
    page.keyboard.press("Enter")


def bedside(new_page, width, visit_no=None, name=None):
    from playwright.sync_api import expect

    page = new_page(width, 740 if width < 480 else 900)
    log_in(page, "nurse01", next_url="/billing/bedside/?ward=XNK")
    expect(page.locator("#scanbox")).to_be_focused()
    if visit_no:
        wedge(page, visit_no)
        expect(page.locator(".bs-name")).to_have_text(name)
    return page


def uses_of(code_name: str) -> list[int]:
    return list(
        Use.objects.filter(consumable__name=code_name)
        .order_by("pk")
        .values_list("quantity", flat=True)
    )


def server_rows(page):
    return page.locator("[data-server-rows] tr[data-use]")


def posted_scans(page) -> list[dict]:
    """Every body the page posts to the scan API, in order."""
    bodies: list[dict] = []
    page.on(
        "request",
        lambda request: (
            bodies.append(json.loads(request.post_data))
            if request.method == "POST" and request.url.endswith("/api/v1/scans")
            else None
        ),
    )
    return bodies


def fits(page, width):
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"the page scrolls sideways ({scroll}px at {width}px)"


# ---------------------------------------------------------------------------- 1. box code


@pytest.mark.parametrize("width", WIDTHS)
def test_a_box_code_asks_for_the_unit_or_a_quantity_and_charges_only_what_was_used(
    ward, new_page, screenshot, width
):
    from playwright.sync_api import expect

    page = bedside(new_page, width, "ZY001", "张三")
    posts = posted_scans(page)
    result = page.locator("[data-result]")

    wedge(page, ward["box"])
    expect(result).to_have_attribute("data-question", "package")
    expect(result).to_contain_text("这是包装码（每盒 50 支）：请扫描单件条码，或输入实际使用数量")
    expect(page.locator("#scanbox")).to_be_focused()  # the next read is ready
    assert Use.objects.count() == 0 and ChargeLine.objects.count() == 0
    fits(page, width)
    screenshot(page, f"bedside-{width}-box-question", full_page=False)

    # She used 3 from the box: the same code again, with the quantity, as a new event.
    quantity = page.locator("[data-package-form] [data-qty-field]")
    quantity.click()
    page.keyboard.type("3", delay=5)
    page.keyboard.press("Enter")
    expect(result).to_have_class(OK)
    expect(result).to_contain_text("数量 3")
    expect(page.locator("#scanbox")).to_be_focused()
    assert uses_of("静脉留置针") == [3]
    assert ChargeLine.objects.get().quantity == 3
    assert [p.get("quantity") for p in posts] == [None, 3]
    assert posts[0]["event_id"] != posts[1]["event_id"]
    assert posts[0]["code"] == posts[1]["code"] == ward["box"]

    # Box again, then straight on with the unit's own code: the question simply goes away.
    wedge(page, ward["box"])
    expect(result).to_have_attribute("data-question", "package")
    wedge(page, ward["cannula"])
    expect(result).to_have_class(OK)
    expect(result).not_to_have_attribute("data-question", "package")
    expect(result).to_contain_text("数量 1")
    assert uses_of("静脉留置针") == [3, 1]
    assert ChargeLine.objects.count() == 2


# ---------------------------------------------------------------------------- 2. consent


@pytest.mark.parametrize("width", WIDTHS)
def test_recording_consent_sends_the_held_scan_and_the_next_read_goes_to_the_scan_box(
    ward, new_page, screenshot, width
):
    from playwright.sync_api import expect

    page = bedside(new_page, width, "ZY001", "张三")
    result = page.locator("[data-result]")

    wedge(page, ward["lens"])
    expect(result).to_have_class(ERR)
    expect(result).to_contain_text("CONSENT_REQUIRED")
    page.click("[data-consent]")
    form = page.locator("[data-consent-form]")
    expect(form.locator("[name=signed_by]")).to_be_focused()
    form.locator("[name=signed_by]").fill("张小三")
    form.locator("[name=relationship]").select_option("子女")
    fits(page, width)
    screenshot(page, f"bedside-{width}-consent", full_page=False)
    form.locator("button[type=submit]").click()

    # The held scan is sent by itself; no button is left to catch the scanner's Enter.
    expect(result).to_have_class(OK)
    expect(result).to_contain_text("人工晶体")
    expect(page.locator("[data-resend]")).to_have_count(0)
    expect(page.locator("#scanbox")).to_be_focused()
    assert ChargeLine.objects.get().self_pay is True

    wedge(page, ward["syringe"])
    expect(result).to_contain_text("一次性注射器")
    expect(server_rows(page)).to_have_count(2)
    assert sorted(Use.objects.values_list("consumable__name", flat=True)) == [
        "一次性注射器",
        "人工晶体",
    ]
    assert ChargeLine.objects.count() == 2


# ---------------------------------------------------------------------------- 3. double read


@pytest.mark.parametrize("width", WIDTHS)
def test_a_double_read_of_a_lot_tracked_item_asks_before_charging_again(
    ward, new_page, settings, width
):
    from playwright.sync_api import expect

    settings.BEDSIDE_REPEAT_SCAN_SECONDS = 30  # a slow test machine's "at once" is still at once
    page = bedside(new_page, width, "ZY001", "张三")
    question = page.locator("[data-ask]")

    wedge(page, ward["syringe"])
    wedge(page, ward["syringe"])  # the scanner fired twice
    expect(question).to_be_visible()
    expect(question).to_contain_text("重复扫码：再加一件？")
    expect(server_rows(page)).to_have_count(1)
    assert uses_of("一次性注射器") == [1]

    wedge(page, ward["syringe"])  # scanned again after the question: she means it
    expect(question).to_be_hidden()
    expect(server_rows(page)).to_have_count(2)
    assert uses_of("一次性注射器") == [1, 1]

    wedge(page, ward["syringe"])  # at once again: asked again
    expect(question).to_be_visible()
    page.click("[data-add-another]")
    expect(question).to_be_hidden()
    expect(page.locator("#scanbox")).to_be_focused()
    expect(server_rows(page)).to_have_count(3)
    assert uses_of("一次性注射器") == [1, 1, 1]
    assert ChargeLine.objects.count() == 3


@pytest.mark.parametrize("width", WIDTHS)
def test_a_double_read_of_a_serial_item_is_not_asked_and_charged_once(ward, new_page, width):
    from playwright.sync_api import expect

    page = bedside(new_page, width, "ZY001", "张三")
    wedge(page, ward["stents"][0])
    wedge(page, ward["stents"][0])
    result = page.locator("[data-result]")
    expect(result).to_contain_text("ALREADY_USED")  # the server protects a unit itself
    expect(page.locator("[data-ask]")).to_be_hidden()
    assert uses_of("药物洗脱冠脉支架") == [1]
    assert ChargeLine.objects.count() == 1


def test_the_repeat_window_is_the_servers_setting(ward, new_page, settings):
    from playwright.sync_api import expect

    page = bedside(new_page, 1280, "ZY001", "张三")
    root = page.locator("[data-bedside]")
    expect(root).to_have_attribute("data-repeat-seconds", "2.0")  # the default
    settings.BEDSIDE_REPEAT_SCAN_SECONDS = 0.0
    page.reload()
    expect(root).to_have_attribute("data-repeat-seconds", "0.0")
    wedge(page, ward["syringe"])
    wedge(page, ward["syringe"])
    expect(server_rows(page)).to_have_count(2)
    expect(page.locator("[data-ask]")).to_be_hidden()
    assert uses_of("一次性注射器") == [1, 1]


# ---------------------------------------------------------------------------- 6. time


def test_a_scan_queued_offline_keeps_the_time_it_was_scanned(ward, new_page):
    from playwright.sync_api import expect

    page = bedside(new_page, 360, "ZY001", "张三")
    page.context.set_offline(True)
    scanned = timezone.now()
    wedge(page, ward["syringe"])
    expect(page.locator("[data-session-rows] tr[data-state=pending]")).to_have_count(1)
    time.sleep(2.5)
    sent = timezone.now()
    page.context.set_offline(False)
    expect(server_rows(page)).to_have_count(1)
    occurred_at = Use.objects.get().occurred_at
    assert scanned - dt.timedelta(seconds=2) <= occurred_at < sent - dt.timedelta(seconds=1)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_queued_scan_refused_for_its_time_is_shown_to_the_nurse(ward, new_page, width):
    """A scan that waited in the queue past the back-dating window: refused by the server
    (TIME_OUT_OF_RANGE) when the queue is sent, and shown, not dropped."""
    from playwright.sync_api import expect

    page = bedside(new_page, width, "ZY001", "张三")
    page.route(SCANS, lambda route: route.abort("internetdisconnected"))
    wedge(page, ward["syringe"])
    expect(page.locator("[data-session-rows] tr[data-state=pending]")).to_have_count(1)
    long_ago = (timezone.now() - dt.timedelta(hours=80)).isoformat()
    page.evaluate(
        """(when) => {
          const key = "bedside:v1:nurse01";
          const data = JSON.parse(localStorage.getItem(key));
          data.entries.forEach((e) => { e.request.occurred_at = when; e.rev += 100; });
          localStorage.setItem(key, JSON.stringify(data));
        }""",
        long_ago,
    )
    page.reload()
    expect(page.locator(".bs-name")).to_have_text("张三")
    page.unroute(SCANS)
    page.click("[data-send-now]")

    refused = page.locator("[data-refusals] [data-refused]")
    expect(refused).to_have_count(1)
    expect(refused).to_have_attribute("data-code", "TIME_OUT_OF_RANGE")
    expect(refused).to_contain_text("张三")
    expect(page.locator("[data-result]")).to_contain_text("TIME_OUT_OF_RANGE")
    expect(page.locator("[data-session-rows] tr")).to_have_count(0)
    assert Use.objects.count() == 0 and ChargeLine.objects.count() == 0


# ---------------------------------------------------------------------------- 7. no patient


@pytest.mark.parametrize("width", WIDTHS)
def test_an_item_scanned_before_the_wristband_asks_for_the_wristband(ward, new_page, width):
    from playwright.sync_api import expect

    page = bedside(new_page, width)
    result = page.locator("[data-result]")

    wedge(page, ward["cannula"])
    expect(result).to_have_attribute("data-notice", "WRISTBAND_FIRST")
    expect(result).to_contain_text("请先扫描患者腕带")
    expect(page.locator("[data-refusal]")).to_have_count(0)  # not read as a visit number
    expect(page.locator("#scanbox")).to_be_focused()

    page.context.set_offline(True)  # known by its shape, without the server
    wedge(page, "MA.156.M0.100001.0001.L123.E270101")
    expect(result).to_have_attribute("data-notice", "WRISTBAND_FIRST")
    page.context.set_offline(False)

    wedge(page, "ZY001")
    expect(page.locator(".bs-name")).to_have_text("张三")
    wedge(page, ward["cannula"])
    expect(result).to_have_class(OK)
    assert uses_of("静脉留置针") == [1]


# ---------------------------------------------------------------------------- 8. refusals


@pytest.mark.parametrize("width", WIDTHS)
def test_refused_scans_have_their_own_short_list_apart_from_the_uses(ward, new_page, width):
    from playwright.sync_api import expect

    page = bedside(new_page, width, "ZY001", "张三")
    wedge(page, ward["syringe"])
    expect(server_rows(page)).to_have_count(1)
    for n in range(6):
        wedge(page, f"NOSUCH{n}")
        expect(page.locator("[data-result]")).to_contain_text(f"NOSUCH{n}")
    refused = page.locator("[data-refusals] [data-refused]")
    expect(refused).to_have_count(5)  # the latest few
    expect(refused.first).to_contain_text("NOSUCH5")
    expect(refused.first).to_contain_text("UNKNOWN_CODE")
    expect(refused.first.locator(".time")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    # The day's uses are uses only, and come before the refusals.
    expect(page.locator("[data-session-rows] tr")).to_have_count(0)
    expect(server_rows(page)).to_have_count(1)
    uses_top = server_rows(page).first.bounding_box()["y"]
    refusals_top = page.locator("[data-refusals]").bounding_box()["y"]
    assert uses_top < refusals_top
    fits(page, width)
    assert Use.objects.count() == 1


# ---------------------------------------------------------------------------- focus rule


@pytest.mark.parametrize("width", WIDTHS)
def test_no_scanner_key_lands_outside_the_scan_box(ward, new_page, width):
    """After an error, undo, a patient change, the network going, the camera closing, or
    focus lost altogether, the scanner's next read is a scan."""
    from playwright.sync_api import expect

    page = bedside(new_page, width, "ZY001", "张三")
    result = page.locator("[data-result]")

    wedge(page, "NOSUCH")  # an error
    expect(result).to_have_class(ERR)
    wedge(page, ward["syringe"])
    expect(server_rows(page)).to_have_count(1)

    undo = server_rows(page).first.locator("[data-undo]")  # undo, two taps
    undo.click()
    undo.click()
    expect(result).to_contain_text("已撤销")
    wedge(page, ward["cannula"])
    expect(result).to_contain_text("静脉留置针")
    expect(server_rows(page)).to_have_count(2)

    page.click("[data-change-patient]")  # a patient change
    wedge(page, "ZY002")
    expect(page.locator(".bs-name")).to_have_text("李四")

    page.context.set_offline(True)  # the network goes; she presses "send now"
    wedge(page, ward["syringe"])
    page.click("[data-send-now]")
    wedge(page, ward["cannula"])
    expect(page.locator("[data-session-rows] tr[data-state=pending]")).to_have_count(2)
    page.context.set_offline(False)
    expect(server_rows(page)).to_have_count(2)

    page.click("[data-camera]")  # the camera, closed again
    page.click("[data-camera-close]")
    wedge(page, ward["syringe"])
    expect(server_rows(page)).to_have_count(3)

    # Focus on a button, a link, or nothing at all.
    for focus in ("[data-camera]", "a.bs-ward", None):
        if focus:
            page.focus(focus)
        else:
            page.evaluate("document.activeElement.blur()")
        wedge(page, "ZY001")
        expect(page.locator(".bs-name")).to_have_text("张三")
        wedge(page, "ZY002")
        expect(page.locator(".bs-name")).to_have_text("李四")

    expect(page.locator("[data-ask]")).to_be_hidden()
    assert Use.objects.filter(encounter__visit_no="ZY001").count() == 2
    assert Use.objects.filter(encounter__visit_no="ZY002").count() == 3
    assert ChargeLine.objects.count() == 5
