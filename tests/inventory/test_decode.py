"""Reading barcodes from photos: inventory.decode and POST /api/v1/codes/decode.

Labels are generated with inventory.labels, rasterised to PNG/JPEG bytes and read back: the
GS1 element string must come back exactly (symbology identifier, GS between lot and serial)
and the Code 128 must give the label text.
"""

import contextlib
import datetime as dt
import io
import random
import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from PIL import Image, ImageChops, ImageDraw, ImageFilter
from rest_framework.test import APIClient

from config import roles
from consumables.models import Consumable
from consumables.udi import make_hospital_label, parse_code
from inventory import decode, labels
from inventory.api import decode as decode_api
from organisation.models import Department, Supplier
from tests.factories import (
    ConsumableFactory,
    DepartmentFactory,
    DeviceIdentifierFactory,
    PriceVersionFactory,
)

URL = "/api/v1/codes/decode"
GS = "\x1d"
DI = "06901234567892"
EXPIRY = dt.date(2031, 12, 31)
LABEL = make_hospital_label(1234)
GS1_TEXT = f"]d201{DI}17311231" + "10LOT-A1" + GS + f"21{LABEL}"


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg(image: Image.Image, quality=85) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def label_image(label=LABEL, udi_di=DI, lot="LOT-A1", expiry=EXPIRY) -> Image.Image:
    """Both symbols of a label on white, roughly as a 50 x 30 mm label at 300 dpi."""
    symbols = labels.label_symbols(label, udi_di=udi_di, lot=lot, expiry=expiry)
    bars = labels.to_image(symbols.code128, scale=3, bar_height=40)
    matrix = labels.to_image(symbols.datamatrix, scale=6)
    canvas = Image.new("L", (max(bars.width, 600), bars.height + matrix.height + 40), 255)
    canvas.paste(bars, (0, 0))
    canvas.paste(matrix, (canvas.width - matrix.width - 10, bars.height + 30))
    return canvas


def photo_like(image: Image.Image, seed=7, scale=1.0) -> bytes:
    """A phone photo of the label, roughly: on a grey desk, rotated 10 degrees, rescaled,
    blurred, unevenly lit, with sensor noise and specks of dirt, as a JPEG of quality 55.
    Deterministic for a seed."""
    rng = random.Random(seed)
    desk = Image.new("L", (image.width + 400, image.height + 300), 150)
    desk.paste(image, (180, 120))
    photo = desk.rotate(10, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=140)
    size = (int(photo.width * scale), int(photo.height * scale))
    photo = photo.resize(size, Image.Resampling.BICUBIC)
    photo = photo.filter(ImageFilter.GaussianBlur(1.2 * scale))
    light = Image.linear_gradient("L").rotate(35).resize(photo.size)
    photo = ImageChops.multiply(photo, light.point(lambda v: 150 + v * 105 // 255))
    half = (photo.width // 2 + 1, photo.height // 2 + 1)
    noise = Image.frombytes("L", half, rng.randbytes(half[0] * half[1]))
    photo = Image.blend(photo, noise.resize(photo.size, Image.Resampling.NEAREST), 0.2)
    draw = ImageDraw.Draw(photo)
    for _ in range(40):
        x, y = rng.randrange(photo.width), rng.randrange(photo.height)
        draw.ellipse((x, y, x + 3, y + 3), fill=rng.choice((40, 230)))
    return jpeg(photo.convert("RGB"), quality=55)


def texts(codes) -> dict:
    return {code.format: code.text for code in codes}


# ------------------------------------------------------------------------- decode.py


def test_generated_label_reads_back_exactly():
    codes = decode.decode_image(png(label_image()))
    assert texts(codes) == {"Code128": LABEL, "DataMatrix": GS1_TEXT}
    by_format = {c.format: c for c in codes}
    assert by_format["DataMatrix"].symbology == "]d2"
    assert by_format["Code128"].symbology == "]C0"

    parsed = parse_code(GS1_TEXT)
    assert (parsed.issuer, parsed.di, parsed.lot, parsed.serial, parsed.expiry) == (
        "gs1",
        DI,
        "LOT-A1",
        LABEL,
        EXPIRY,
    )
    assert by_format["DataMatrix"].parsed == {
        "issuer": "gs1",
        "di": DI,
        "lot": "LOT-A1",
        "serial": LABEL,
        "expiry": "2031-12-31",
        "warnings": [],
    }
    label = parse_code(by_format["Code128"].text)
    assert (label.issuer, label.serial) == ("hospital", LABEL)


@pytest.mark.parametrize(("seed", "scale"), [(0, 0.8), (2, 1.0), (3, 1.7), (4, 2.5)])
def test_rotated_scaled_noisy_jpeg_photo_still_reads(seed, scale):
    data = photo_like(label_image(), seed=seed, scale=scale)
    assert Image.open(io.BytesIO(data)).format == "JPEG"
    assert texts(decode.decode_image(data)) == {"Code128": LABEL, "DataMatrix": GS1_TEXT}


@pytest.mark.parametrize("seed", range(4))
def test_datamatrix_survives_a_photo_too_poor_for_thin_bars(seed):
    found = texts(decode.decode_image(photo_like(label_image(), seed=seed, scale=0.6)))
    assert found["DataMatrix"] == GS1_TEXT


def test_big_phone_photo_is_read_through_the_downscaled_pass():
    photo = Image.new("L", (4032, 3024), 170)
    photo.paste(labels.to_image(labels.label_symbols(LABEL).datamatrix, scale=24), (2500, 1400))
    photo.paste(labels.to_image(labels.code128(LABEL), scale=8, bar_height=30), (300, 300))
    found = texts(decode.decode_image(jpeg(photo.rotate(8, fillcolor=170), quality=70)))
    assert found == {"Code128": LABEL, "DataMatrix": LABEL}


def test_plain_datamatrix_when_the_unit_has_no_gs1_di():
    codes = decode.decode_image(png(label_image(udi_di="MA.156.M0.100086.0001")))
    assert texts(codes) == {"Code128": LABEL, "DataMatrix": LABEL}
    matrix = next(c for c in codes if c.format == "DataMatrix")
    assert matrix.symbology == "]d1"
    assert matrix.parsed["issuer"] == "hospital"


def test_gs1_128_keeps_its_separator_and_identifier():
    import zxingcpp

    barcode = zxingcpp.create_barcode(
        "(01)06901234567892(10)L7(21)SN9", zxingcpp.BarcodeFormat.Code128, gs1=True
    )
    pixels = barcode.to_image(scale=3)
    image = Image.frombytes("L", (pixels.shape[1], pixels.shape[0]), bytes(memoryview(pixels)))
    image = image.resize((image.width, 150))
    (code,) = decode.decode_image(png(image))
    assert (code.text, code.symbology) == (f"]C101{DI}10L7{GS}21SN9", "]C1")
    assert (code.parsed["lot"], code.parsed["serial"]) == ("L7", "SN9")


def test_pyzbar_is_the_fallback_for_linear_codes(monkeypatch):
    if decode._pyzbar_module() is None:
        pytest.skip("libzbar0 not installed")
    monkeypatch.setattr(decode, "_zxing", lambda image: [])
    bars = labels.to_image(labels.code128(LABEL), scale=3, bar_height=40)
    (code,) = decode.decode_image(png(bars))
    assert (code.text, code.format, code.symbology, code.decoder) == (
        LABEL,
        "Code128",
        None,
        "pyzbar",
    )
    assert code.parsed["serial"] == LABEL


def test_transparent_png_is_flattened_onto_white():
    bars = labels.to_image(labels.code128(LABEL), scale=3, bar_height=40)
    clear = Image.new("RGBA", bars.size, (0, 0, 0, 0))
    clear.paste((0, 0, 0, 255), (0, 0), bars.point(lambda v: 255 if v < 128 else 0))
    assert texts(decode.decode_image(png(clear))) == {"Code128": LABEL}


def test_webp_is_accepted():
    buffer = io.BytesIO()
    label_image().convert("RGB").save(buffer, format="WEBP", quality=90)
    assert texts(decode.decode_image(buffer.getvalue()))["Code128"] == LABEL


def test_no_barcode_is_an_empty_list():
    assert decode.decode_image(png(Image.new("RGB", (640, 480), (200, 210, 220)))) == []


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "EMPTY"),
        (b"this is not an image", "NOT_AN_IMAGE"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "NOT_AN_IMAGE"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "UNSUPPORTED_FORMAT"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "UNSUPPORTED_FORMAT"),
    ],
)
def test_bad_bytes_raise_image_error(data, reason):
    with pytest.raises(decode.ImageError) as raised:
        decode.decode_image(data)
    assert raised.value.reason == reason
    assert raised.value.message  # Chinese message for the user


def test_truncated_jpeg_is_an_image_error_not_a_crash():
    data = jpeg(label_image())
    with pytest.raises(decode.ImageError) as raised:
        decode.decode_image(data[: len(data) // 2])
    assert raised.value.reason == "NOT_AN_IMAGE"


def test_decompression_bomb_is_refused_before_decoding():
    bomb = png(Image.new("1", (9000, 9000), 1))
    assert len(bomb) < 1024 * 1024
    with pytest.raises(decode.ImageError) as raised:
        decode.decode_image(bomb)
    assert raised.value.reason == "TOO_MANY_PIXELS"


def test_random_garbage_never_escapes_as_another_exception():
    rng = random.Random(3)
    good = png(label_image())
    for _ in range(30):
        data = bytearray(good)
        for _ in range(20):
            data[rng.randrange(8, len(data))] = rng.randrange(256)
        with contextlib.suppress(decode.ImageError):
            decode.decode_image(bytes(data))


# ------------------------------------------------------------------------------ the API


def make_user(role=None, *departments):
    user = User.objects.create_user(f"u-{uuid.uuid4().hex[:8]}", password="pw-123456!")
    if role:
        user.groups.add(Group.objects.get(name=role))
    for department in departments:
        department.members.add(user)
    return user


def user_with(role=None, *departments):
    client = APIClient()
    client.force_authenticate(make_user(role, *departments))
    return client


def upload(client, data: bytes, name="photo.jpg", content_type="image/jpeg"):
    file = io.BytesIO(data)
    file.name = name
    return client.post(URL, {"image": file}, format="multipart")


@pytest.fixture
def nurse(db):
    return user_with(roles.NURSE)


def error(response):
    return response.json()["error"]


def test_api_returns_the_codes_with_parsed_fields(nurse):
    response = upload(nurse, png(label_image()), "label.png", "image/png")
    assert response.status_code == 200, response.json()
    codes = {c["format"]: c for c in response.json()["codes"]}
    assert codes["DataMatrix"] == {
        "text": GS1_TEXT,
        "format": "DataMatrix",
        "symbology": "]d2",
        "parsed": {
            "issuer": "gs1",
            "di": DI,
            "lot": "LOT-A1",
            "serial": LABEL,
            "expiry": "2031-12-31",
            "warnings": [],
        },
    }
    assert codes["Code128"]["text"] == LABEL
    assert codes["Code128"]["parsed"]["issuer"] == "hospital"


def test_api_reads_a_photo_and_the_text_feeds_codes_resolve(db):
    consumable = ConsumableFactory(tracking=Consumable.Tracking.UNIT)
    DeviceIdentifierFactory(consumable=consumable, udi_di=DI)
    storekeeper = user_with(roles.STOREKEEPER)
    response = upload(storekeeper, photo_like(label_image(), seed=11))
    assert response.status_code == 200, response.json()
    codes = {c["format"]: c["text"] for c in response.json()["codes"]}
    assert codes == {"Code128": LABEL, "DataMatrix": GS1_TEXT}

    resolved = storekeeper.post("/api/v1/codes/resolve", {"code": codes["DataMatrix"]}, "json")
    assert resolved.status_code == 200, resolved.json()
    body = resolved.json()
    assert (body["issuer"], body["di"], body["lot"], body["serial"], body["expiry"]) == (
        "gs1",
        DI,
        "LOT-A1",
        LABEL,
        "2031-12-31",
    )
    assert body["consumable"]["material_code"] == consumable.material_code


def test_api_no_barcode_is_200_with_an_empty_list(nurse):
    response = upload(nurse, jpeg(Image.new("RGB", (800, 600), (90, 120, 160))))
    assert (response.status_code, response.json()) == (200, {"codes": []})


def test_api_corrupt_file_is_validation_error(nurse):
    response = upload(nurse, b"\xff\xd8\xff\xe0 not really a jpeg" * 10)
    assert response.status_code == 400
    assert error(response)["code"] == "VALIDATION_ERROR"
    assert error(response)["detail"]["reason"] == "NOT_AN_IMAGE"
    assert error(response)["message"].startswith("文件不是图片")


def test_api_non_image_upload_is_validation_error(nurse):
    response = upload(nurse, b"%PDF-1.7\n...", "scan.pdf", "application/pdf")
    assert (response.status_code, error(response)["code"]) == (400, "VALIDATION_ERROR")


def test_api_missing_image_field_is_validation_error(nurse):
    response = nurse.post(URL, {"photo": "x"}, format="multipart")
    assert response.status_code == 400
    assert error(response)["detail"] == {"field": "image", "reason": "REQUIRED"}


def test_api_refuses_more_than_8_mb(nurse):
    too_big = b"\xff\xd8\xff" + b"\x00" * decode.MAX_BYTES
    response = upload(nurse, too_big)
    assert response.status_code == 413
    assert error(response)["code"] == "VALIDATION_ERROR"
    assert error(response)["detail"]["reason"] == "TOO_LARGE"


def test_api_checks_the_file_size_too(nurse, monkeypatch):
    # A body under the Content-Length guard but a file over the limit.
    monkeypatch.setattr(decode_api, "MAX_BYTES", 1000)
    response = upload(nurse, png(label_image()), "label.png", "image/png")
    assert (response.status_code, error(response)["detail"]["reason"]) == (413, "TOO_LARGE")


def test_api_json_body_is_unsupported_media_type(nurse):
    response = nurse.post(URL, {"image": "aGVsbG8="}, format="json")
    assert response.status_code == 415


@pytest.mark.parametrize("role", [None, roles.SUPPLIER, roles.FINANCE])
def test_api_needs_nurse_or_storekeeper(db, role):
    response = upload(user_with(role), png(label_image()))
    assert (response.status_code, error(response)["code"]) == (403, "PERMISSION_DENIED")


def test_api_administrator_may_decode(db):
    response = upload(user_with(roles.ADMINISTRATOR), png(label_image()))
    assert response.status_code == 200


def test_api_anonymous_is_refused(db):
    response = upload(APIClient(), png(label_image()))
    assert response.status_code in (401, 403)


def test_api_is_in_the_openapi_schema(nurse):
    schema = nurse.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/codes/decode"]["post"]
    body = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["properties"]["image"]["format"] == "binary"
    assert {"200", "400", "403", "413"} <= set(operation["responses"])


def test_label_printed_by_a_receive_scan_decodes_to_its_unit(db):
    """End to end: receive a unit-tracked item without serial, draw its label, photograph it,
    and scan the decoded DataMatrix text: it names the same unit as the label."""
    store = DepartmentFactory(code="CK01", name="中心库房", kind=Department.Kind.STORE)
    ward = DepartmentFactory(code="XNK", name="心内科病区")
    Supplier.objects.create(code="GYS01", name="四川某医疗器械有限公司")
    consumable = ConsumableFactory(tracking=Consumable.Tracking.UNIT)
    DeviceIdentifierFactory(consumable=consumable, udi_di=DI)
    PriceVersionFactory(consumable=consumable, purchase_price=Decimal("10"))
    storekeeper = user_with(roles.STOREKEEPER, store, ward)

    def scan(action, code, department, **extra):
        body = {"event_id": str(uuid.uuid4()), "action": action, "code": code}
        return storekeeper.post(
            "/api/v1/scans", {**body, "department": department, **extra}, format="json"
        )

    received = scan(
        "receive",
        f"01{DI}17311231" + "10LOT-A1",
        "CK01",
        quantity=2,
        supplier="GYS01",
        invoice_no="INV-9",
        unit_cost="10.00",
    )
    assert received.status_code == 201, received.json()
    first, second = received.json()["labels"]

    response = upload(storekeeper, photo_like(label_image(label=second), seed=5))
    codes = {c["format"]: c["text"] for c in response.json()["codes"]}
    assert codes == {
        "Code128": second,
        "DataMatrix": f"]d201{DI}17311231" + "10LOT-A1" + GS + f"21{second}",
    }
    issued = scan("issue", codes["DataMatrix"], "XNK", from_department="CK01")
    assert issued.status_code == 201, issued.json()
    assert (issued.json()["serial"], issued.json()["hospital_barcode"]) == (second, second)
    again = scan("issue", codes["Code128"], "XNK", from_department="CK01")
    assert again.status_code == 409, again.json()  # the same unit: it has left the store
    assert first != second
