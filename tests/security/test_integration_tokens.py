"""Per-integration API accounts: their own token and role, the HIS feed only, no pages."""

import datetime as dt
import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from billing.models import Encounter
from config import roles
from tests.factories import DepartmentFactory


def issue(name, *args) -> str:
    out = io.StringIO()
    call_command("integration_token", name, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


def token_client(key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def encounter_body(visit_no="ZY900"):
    return {
        "visit_no": visit_no,
        "patient_id": "P900",
        "patient_name": "王五",
        "insurance_type": "职工医保",
        "department": "XNK",
        "admitted_at": dt.datetime(2026, 3, 1, 8, tzinfo=dt.UTC).isoformat(),
    }


@pytest.fixture
def ward(db):
    return DepartmentFactory(code="XNK", name="心内科病区")


def test_each_integration_gets_its_own_account_in_the_integration_role(db):
    his, hrp = issue("HIS"), issue("HRP")
    assert his != hrp
    user = Token.objects.get(key=his).user
    assert user.username == "integration-his"
    assert list(user.groups.values_list("name", flat=True)) == [roles.INTEGRATION]
    assert not user.has_usable_password()
    assert not user.is_staff and not user.is_superuser


def test_his_token_feeds_encounters(ward):
    response = token_client(issue("HIS")).post(
        "/api/v1/encounters", encounter_body(), format="json"
    )
    assert response.status_code == 201, response.json()
    assert Encounter.objects.filter(visit_no="ZY900").exists()


def test_rotating_revokes_the_old_token(ward):
    old = issue("HIS")
    assert issue("HIS") == old  # asking again gives the same token
    new = issue("HIS", "--rotate")
    assert new != old
    refused = token_client(old).post("/api/v1/encounters", encounter_body(), format="json")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "NOT_AUTHENTICATED"
    accepted = token_client(new).post("/api/v1/encounters", encounter_body(), format="json")
    assert accepted.status_code == 201


def test_integration_token_may_not_scan_or_read_audits(ward):
    client = token_client(issue("HIS"))
    scan = client.post(
        "/api/v1/scans",
        {
            "event_id": "8a0f0f0e-1d1c-4c3b-9a8b-7c6d5e4f3a2b",
            "action": "use",
            "code": "X",
            "department": "XNK",
            "encounter": "ZY900",
        },
        format="json",
    )
    assert scan.status_code == 403
    assert scan.json()["error"]["code"] == "PERMISSION_DENIED"
    assert client.get("/api/v1/encounters/ZY900/audit").status_code == 403


def test_integration_account_cannot_open_pages_even_with_a_password(db):
    issue("HIS")
    user = User.objects.get(username="integration-his")
    user.set_password("given-by-mistake-1")
    user.save()
    client = Client()
    client.force_login(user)
    for url in ("/", "/inventory/stock/", "/billing/bedside/", "/admin/"):
        assert client.get(url).status_code == 403, url


def test_token_does_not_open_pages(db):
    key = issue("HIS")
    response = Client().get("/inventory/stock/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 302  # pages know sessions only: sent to the login page


def test_bad_integration_name_is_refused(db):
    with pytest.raises(CommandError):
        issue("HIS; DROP")
