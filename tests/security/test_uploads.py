"""Uploads are bounded in size and checked by content, not by their name."""

import io
import json

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from config import roles
from consumables.staging.models import StagingImport


def logged_in(role: str) -> Client:
    user = User.objects.create_user(f"{role}-up", password="pw-123456!")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client = Client()
    client.force_login(user)
    return client


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), "white").save(out, "PNG")
    return out.getvalue()


def stage(client, name: str, body: bytes):
    return client.post(
        "/master/conflicts/",
        {"source": "hrp", "file": SimpleUploadedFile(name, body, "application/octet-stream")},
    )


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("物资.xlsx", png_bytes()),  # a picture renamed: not a zip workbook
        ("物资.csv", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64),  # a program renamed
        ("物资.exe", b"material_code,name\nWZ1,x\n"),  # text, but not a type we take
    ],
)
def test_import_upload_of_the_wrong_kind_is_refused_and_stages_nothing(db, name, body):
    response = stage(logged_in(roles.PROCUREMENT), name, body)
    assert "UNREADABLE_FILE" in response.content.decode()
    assert not StagingImport.objects.exists()


def test_import_upload_over_the_limit_is_refused(db, settings):
    settings.UPLOAD_MAX_IMPORT_BYTES = 1024
    body = b"material_code,name\n" + b"WZ1,x\n" * 400
    response = stage(logged_in(roles.PROCUREMENT), "物资.csv", body)
    assert "FILE_TOO_LARGE" in response.content.decode()
    assert not StagingImport.objects.exists()


def test_json_body_over_the_memory_limit_is_refused_with_the_error_body(db, settings):
    client = logged_in(roles.NURSE)
    body = json.dumps({"code": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})
    response = client.post("/api/v1/codes/resolve", body, content_type="application/json")
    assert response.status_code == 413
    error = response.json()["error"]
    assert (error["code"], error["detail"]["reason"]) == ("VALIDATION_ERROR", "TOO_LARGE")


def test_image_upload_over_the_limit_is_refused_before_decoding(db):
    client = logged_in(roles.NURSE)
    big = SimpleUploadedFile("p.jpg", b"\xff\xd8\xff" + b"\x00" * (8 * 1024 * 1024 + 1))
    response = client.post("/api/v1/codes/decode", {"image": big})
    assert response.status_code == 413
    assert response.json()["error"]["detail"]["reason"] == "TOO_LARGE"


def test_image_upload_checked_by_content_not_name(db):
    client = logged_in(roles.NURSE)
    fake = SimpleUploadedFile("photo.jpg", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/jpeg")
    response = client.post("/api/v1/codes/decode", {"image": fake})
    assert response.status_code == 400
    assert response.json()["error"]["detail"]["reason"] == "UNSUPPORTED_FORMAT"
