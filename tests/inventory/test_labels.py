"""In-hospital label images (inventory.labels) and the label sheet page /inventory/labels/."""

import base64
import datetime as dt
import io
import re
import uuid
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import pytest
import zxingcpp
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client
from PIL import Image
from rest_framework.test import APIClient

from config import roles
from consumables.models import Consumable, HospitalLabel
from consumables.udi import make_hospital_label, parse_code
from inventory import labels
from inventory.models import Receipt, TrackedUnit
from organisation.models import Department, Supplier
from tests.factories import (
    ConsumableFactory,
    DepartmentFactory,
    DeviceIdentifierFactory,
    PriceVersionFactory,
)

GS = "\x1d"
DI = "06901234567892"
EXPIRY = dt.date(2031, 12, 31)
LABEL = make_hospital_label(42)
PAGE = "/inventory/labels/"


def read(image: Image.Image):
    """(text in plain mode, symbology identifier) of every symbol zxing-cpp finds."""
    found = zxingcpp.read_barcodes(image, text_mode=zxingcpp.TextMode.Plain)
    return [(barcode.text, barcode.symbology_identifier) for barcode in found]


def read_png(data: bytes):
    return read(Image.open(io.BytesIO(data)))


# ------------------------------------------------------------------------ label images


def test_code128_of_the_label_reads_back_as_the_label():
    symbol = labels.code128(LABEL)
    assert (symbol.kind, symbol.height, symbol.content) == ("code128", 1, LABEL)
    assert read_png(labels.to_png(symbol, scale=2)) == [(LABEL, "]C0")]
    assert parse_code(LABEL).serial == LABEL


def test_gs1_element_string_puts_gs_after_variable_fields_only():
    assert labels.gs1_element_string(DI, expiry=EXPIRY, lot="A1", serial="S1") == (
        f"01{DI}17311231" + "10A1" + GS + "21S1"
    )
    assert labels.gs1_element_string(DI, expiry=EXPIRY, serial="S1") == f"01{DI}1731123121S1"
    assert labels.gs1_element_string(DI, lot="A1") == f"01{DI}10A1"
    assert labels.gs1_hri(DI, expiry=EXPIRY, lot="A1", serial="S1") == (
        f"(01){DI}(17)311231(10)A1(21)S1"
    )
    # A GTIN-13 is carried as GTIN-14.
    assert labels.gs1_element_string("6901234567892").startswith("0106901234567892")


@pytest.mark.parametrize(
    ("di", "lot"),
    [
        ("06901234567891", "A1"),  # wrong check digit
        ("MA.156.M0.100086.0001", "A1"),  # not GS1
        (DI, "批号1"),  # not GS1 characters
        (DI, "A" * 21),  # longer than AI 10 allows
        (DI, "A B"),  # space is not in CSET 82
    ],
)
def test_gs1_refuses_what_it_cannot_carry(di, lot):
    with pytest.raises(labels.LabelError):
        labels.gs1_element_string(di, lot=lot, serial=LABEL)


def test_gs1_datamatrix_reads_back_exactly_with_gs_and_d2():
    symbol = labels.gs1_datamatrix(DI, expiry=EXPIRY, lot="LOT(7)/B", serial=LABEL)
    expected = f"01{DI}17311231" + "10LOT(7)/B" + GS + f"21{LABEL}"
    assert (symbol.gs1, symbol.content) == (True, expected)
    assert symbol.hri == f"(01){DI}(17)311231(10)LOT(7)/B(21){LABEL}"
    assert read_png(labels.to_png(symbol, scale=4)) == [(expected, "]d2")]

    parsed = parse_code("]d2" + expected)
    assert (parsed.di, parsed.lot, parsed.serial, parsed.expiry) == (
        DI,
        "LOT(7)/B",
        LABEL,
        EXPIRY,
    )


@pytest.mark.parametrize("lot", ["1", "K2025-0001/B", "ABCDEFGHIJ0123456789"])
def test_datamatrix_is_always_square(lot):
    symbol = labels.label_datamatrix(LABEL, udi_di=DI, lot=lot, expiry=EXPIRY)
    assert symbol.gs1 and symbol.width == symbol.height
    assert read_png(labels.to_png(symbol))[0][0] == symbol.content


def test_label_datamatrix_is_gs1_with_the_label_as_serial():
    symbol = labels.label_datamatrix(LABEL, udi_di=DI, lot="L1", expiry=EXPIRY)
    assert symbol.gs1
    assert parse_code("]d2" + symbol.content).serial == LABEL


@pytest.mark.parametrize(
    ("udi_di", "lot"), [("", "L1"), (None, None), ("MA.156.M0.1.2", "L1"), (DI, "批号")]
)
def test_label_datamatrix_falls_back_to_the_plain_label_text(udi_di, lot):
    symbol = labels.label_datamatrix(LABEL, udi_di=udi_di, lot=lot, expiry=EXPIRY)
    assert (symbol.gs1, symbol.content) == (False, LABEL)
    assert read_png(labels.to_png(symbol, scale=4)) == [(LABEL, "]d1")]


def test_svg_is_inline_scalable_and_draws_every_bar():
    symbol = labels.code128(LABEL)
    svg = labels.to_svg(symbol)
    assert svg.startswith("<svg ") and "<?xml" not in svg
    root = ET.fromstring(svg)
    width = symbol.width + 2 * labels.CODE128_QUIET_ZONE
    assert root.get("viewBox") == f"0 0 {width} 1"
    assert root.get("preserveAspectRatio") == "none"
    bars = re.findall(r"M(\d+) 0h(\d+)", root.find("{http://www.w3.org/2000/svg}path").get("d"))
    drawn = ["0"] * width
    for x, n in bars:
        drawn[int(x) : int(x) + int(n)] = ["1"] * int(n)
    quiet = "0" * labels.CODE128_QUIET_ZONE
    assert "".join(drawn) == quiet + symbol.rows[0] + quiet


def test_datamatrix_svg_has_square_modules():
    symbol = labels.gs1_datamatrix(DI, expiry=EXPIRY, lot="L1", serial=LABEL)
    root = ET.fromstring(labels.to_svg(symbol))
    side = symbol.width + 2
    assert root.get("viewBox") == f"0 0 {side} {side}"
    assert root.get("aria-label") == symbol.hri


def test_png_data_uri_round_trip():
    data = labels.to_png(labels.code128(LABEL))
    uri = labels.png_data_uri(data)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == data


def test_code128_refuses_non_ascii():
    with pytest.raises(labels.LabelError):
        labels.code128("院内码")


# ---------------------------------------------------------------------------- the page


@pytest.fixture
def hospital(db):
    store = DepartmentFactory(code="CK01", name="中心库房", kind=Department.Kind.STORE)
    ward = DepartmentFactory(code="XNK", name="心内科病区")
    other = DepartmentFactory(code="GKB", name="骨科病区")
    Supplier.objects.create(code="GYS01", name="四川某医疗器械有限公司")
    consumable = ConsumableFactory(
        tracking=Consumable.Tracking.UNIT, name="非灭菌骨科接骨板", spec="6孔 3.5mm"
    )
    DeviceIdentifierFactory(consumable=consumable, udi_di=DI)
    PriceVersionFactory(consumable=consumable, purchase_price=Decimal("800"))
    return {"store": store, "ward": ward, "other": other, "consumable": consumable}


def make_user(role, *departments):
    user = User.objects.create_user(f"u-{uuid.uuid4().hex[:8]}", password="pw-123456!")
    if role:
        user.groups.add(Group.objects.get(name=role))
    for department in departments:
        department.members.add(user)
    return user


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def scan(user, action, code, department, **extra):
    api = APIClient()
    api.force_authenticate(user)
    body = {"event_id": str(extra.pop("event_id", uuid.uuid4())), "action": action}
    body.update(code=code, department=department, **extra)
    return api.post("/api/v1/scans", body, format="json")


@pytest.fixture
def received(hospital):
    """Three units received without serial: three in-hospital labels at the store."""
    storekeeper = make_user(roles.STOREKEEPER, hospital["store"], hospital["ward"])
    event_id = uuid.uuid4()
    response = scan(
        storekeeper,
        "receive",
        f"01{DI}17311231" + "10LOT-88",
        "CK01",
        event_id=event_id,
        quantity=3,
        supplier="GYS01",
        invoice_no="INV-1",
        unit_cost="800.00",
    )
    assert response.status_code == 201, response.json()
    return {
        "storekeeper": storekeeper,
        "labels": response.json()["labels"],
        "event_id": event_id,
        "receipt": Receipt.objects.get(),
    }


def printed(response) -> list[str]:
    return re.findall(r'<article class="label" data-label="([^"]+)"', response.content.decode())


def test_storekeeper_sees_labels_with_symbols_name_lot_expiry(received):
    first, second, _ = received["labels"]
    response = page_client(received["storekeeper"]).get(PAGE, {"labels": f"{first},{second}"})
    assert response.status_code == 200
    html = response.content.decode()
    assert printed(response) == [first, second]
    for text in (first, "非灭菌骨科接骨板", "6孔 3.5mm", "LOT-88", "2031-12-31", "批号", "效期"):
        assert text in html
    assert html.count('class="symbol symbol-code128"') == 2
    assert html.count('class="symbol symbol-datamatrix"') == 2
    assert "css/labels.css" in html and "打印" in html
    # The print button is wired by the page-actions script (no inline code under the CSP).
    assert "data-print" in html and "js/page-actions.js" in html

    # The DataMatrix on the page is the GS1 one of the unit, with the label as serial.
    symbols = labels.label_symbols(first, udi_di=DI, lot="LOT-88", expiry=EXPIRY)
    assert labels.to_svg(symbols.datamatrix) in html
    assert labels.to_svg(symbols.code128) in html
    assert read_png(labels.to_png(symbols.datamatrix)) == [
        (f"01{DI}17311231" + "10LOT-88" + GS + f"21{first}", "]d2")
    ]


def test_labels_may_be_separated_by_blanks_new_lines_and_chinese_commas(received):
    a, b, c = received["labels"]
    query = f" {a.lower()}，{b}\n{c} {a}"
    response = page_client(received["storekeeper"]).get(PAGE, {"labels": query})
    assert printed(response) == [a, b, c]


def test_one_receive_event_prints_all_its_labels(received):
    client = page_client(received["storekeeper"])
    by_event = client.get(PAGE, {"event": str(received["event_id"])})
    assert by_event.status_code == 200
    assert printed(by_event) == sorted(received["labels"])
    by_receipt = client.get(PAGE, {"receipt": received["receipt"].pk})
    assert printed(by_receipt) == sorted(received["labels"])


def test_a_second_receive_on_the_same_receipt_adds_its_labels(received, hospital):
    again = scan(
        received["storekeeper"],
        "receive",
        f"01{DI}17311231" + "10LOT-89",
        "CK01",
        quantity=1,
        supplier="GYS01",
        invoice_no="INV-1",
        unit_cost="800.00",
    )
    assert again.status_code == 201, again.json()
    client = page_client(received["storekeeper"])
    assert len(printed(client.get(PAGE, {"receipt": received["receipt"].pk}))) == 4
    event_labels = printed(client.get(PAGE, {"event": str(received["event_id"])}))
    assert event_labels == sorted(received["labels"])


def test_unknown_labels_get_a_chinese_message_not_a_500(received):
    client = page_client(received["storekeeper"])
    missing = make_hospital_label(999999)
    response = client.get(PAGE, {"labels": missing})
    assert response.status_code == 404
    html = response.content.decode()
    assert "以下院内码不存在" in html and missing in html
    assert printed(response) == []

    mixed = client.get(PAGE, {"labels": f"{received['labels'][0]},{missing}"})
    assert mixed.status_code == 200
    assert printed(mixed) == [received["labels"][0]]
    assert "以下院内码不存在" in mixed.content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"receipt": "987654"}, "入库单 987654 不存在"),
        ({"receipt": "abc"}, "入库单 abc 不存在"),
        ({"event": "not-a-uuid"}, "格式错误"),
        ({"event": str(uuid.UUID(int=5))}, "没有生成院内码"),
        ({"labels": "<script>alert(1)</script>"}, "以下院内码不存在"),
    ],
)
def test_bad_receipt_or_event_is_a_message(received, query, message):
    response = page_client(received["storekeeper"]).get(PAGE, query)
    assert response.status_code == 404
    html = response.content.decode()
    assert message in html
    assert "<script>alert(1)</script>" not in html


def test_the_empty_page_offers_the_form(hospital):
    response = page_client(make_user(roles.NURSE, hospital["ward"])).get(PAGE)
    assert response.status_code == 200
    assert '<textarea id="labels-input" name="labels"' in response.content.decode()


def test_nurse_prints_only_units_of_her_departments(received, hospital):
    first, second, _ = received["labels"]
    nurse = page_client(make_user(roles.NURSE, hospital["ward"]))
    refused = nurse.get(PAGE, {"labels": first})
    assert refused.status_code == 403
    assert "不在您所属的科室" in refused.content.decode()
    assert printed(refused) == []

    issued = scan(received["storekeeper"], "issue", second, "XNK", from_department="CK01")
    assert issued.status_code == 201, issued.json()
    both = nurse.get(PAGE, {"labels": f"{first},{second}"})
    assert both.status_code == 200
    assert printed(both) == [second]
    assert "不在您所属的科室" in both.content.decode()

    other_nurse = page_client(make_user(roles.NURSE, hospital["other"]))
    assert other_nurse.get(PAGE, {"labels": second}).status_code == 403
    assert printed(other_nurse.get(PAGE, {"event": str(received["event_id"])})) == []


def test_a_unit_that_has_left_stock_may_be_reprinted(received, hospital):
    first = received["labels"][0]
    TrackedUnit.objects.filter(serial=first).update(location=None)  # used / scrapped
    nurse = page_client(make_user(roles.NURSE, hospital["other"]))
    assert printed(nurse.get(PAGE, {"labels": first})) == [first]


def test_a_label_without_unit_is_for_administrators_only(hospital):
    orphan = HospitalLabel.objects.create(
        label=make_hospital_label(777), consumable=hospital["consumable"], lot="X1"
    )
    storekeeper = page_client(make_user(roles.STOREKEEPER, hospital["store"]))
    assert storekeeper.get(PAGE, {"labels": orphan.label}).status_code == 403
    admin = page_client(make_user(roles.ADMINISTRATOR))
    response = admin.get(PAGE, {"labels": orphan.label})
    assert printed(response) == [orphan.label]
    # No DI on the label: the DataMatrix carries the label text alone.
    symbol = labels.datamatrix(orphan.label)
    assert labels.to_svg(symbol) in response.content.decode()


def test_administrator_prints_any_department(received):
    admin = page_client(make_user(roles.ADMINISTRATOR))
    response = admin.get(PAGE, {"event": str(received["event_id"])})
    assert printed(response) == sorted(received["labels"])


@pytest.mark.parametrize("role", [roles.SUPPLIER, roles.FINANCE, roles.PRICING_OFFICE, None])
def test_other_roles_are_refused(received, role, hospital):
    client = page_client(make_user(role, hospital["store"]))
    response = client.get(PAGE, {"labels": received["labels"][0]})
    assert response.status_code == 403


def test_anonymous_is_sent_to_login(received):
    response = Client().get(PAGE, {"labels": received["labels"][0]})
    assert response.status_code == 302
    assert response["Location"].startswith(settings.LOGIN_URL)


def test_too_many_labels_are_cut_with_a_message(received, monkeypatch):
    from inventory.views import labels as page

    monkeypatch.setattr(page, "MAX_LABELS", 2)
    response = page_client(received["storekeeper"]).get(
        PAGE, {"labels": ",".join(received["labels"])}
    )
    assert len(printed(response)) == 2
    assert "一次最多打印 2 张" in response.content.decode()


def test_print_css_makes_one_50_by_30_mm_label_per_page():
    css = (Path(settings.BASE_DIR) / "static" / "css" / "labels.css").read_text()
    assert re.search(r"@page\s*{\s*size:\s*50mm 30mm;\s*margin:\s*0;?\s*}", css)
    assert "page-break-after: always" in css and "break-after: page" in css
    assert re.search(r"\.label\s*{[^}]*width:\s*50mm;[^}]*height:\s*30mm", css)
