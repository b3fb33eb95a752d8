"""The OpenAPI description: valid, complete (bodies and error answers), served to accounts."""

import io

import pytest
import yaml
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from config import roles


@pytest.fixture(scope="module")
def spec():
    out = io.StringIO()
    # --fail-on-warn: an endpoint whose body cannot be described fails here.
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    return yaml.safe_load(out.getvalue())


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


def test_schema_validates_without_warnings(spec):
    assert spec["openapi"].startswith("3.")
    assert any(path.startswith("/api/v1/") for path in spec["paths"])


def test_every_operation_describes_its_success_body(spec):
    missing = [
        name
        for name, op in operations(spec)
        if not any(code < "300" and "content" in r for code, r in op["responses"].items())
    ]
    assert not missing, f"operations without a documented success body: {missing}"


def test_every_write_describes_its_request_body(spec):
    missing = [
        name
        for name, op in operations(spec)
        if name.startswith(("POST", "PUT", "PATCH")) and "requestBody" not in op
    ]
    assert not missing


def test_every_error_answer_has_the_shared_error_body(spec):
    wrong = []
    for name, op in operations(spec):
        for code in ("401", "403"):
            if code not in op["responses"]:
                wrong.append(f"{name}: no {code}")
        for code, response in op["responses"].items():
            if code >= "400":
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if schema != {"$ref": "#/components/schemas/ErrorResponse"}:
                    wrong.append(f"{name} {code}: {schema}")
    assert not wrong
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "message", "message_en", "detail"}


def test_scan_documents_its_rate_limit(spec):
    assert "429" in spec["paths"]["/api/v1/scans"]["post"]["responses"]


def test_schema_and_docs_are_served_to_accounts_only(db):
    assert APIClient().get("/api/schema/").status_code == 401
    user = User.objects.create_user("nurse01", password="pw-123456!")
    user.groups.add(Group.objects.get_or_create(name=roles.NURSE)[0])
    client = Client()
    client.force_login(user)
    schema = client.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    assert "/api/v1/scans" in schema.json()["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    # Swagger UI from the vendored sidecar (no CDN), its inline start-up under the CSP nonce.
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    nonce = docs["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in html
