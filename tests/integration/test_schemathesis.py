"""Schemathesis against the live app: every API operation of the served OpenAPI schema is
fuzzed with generated requests (valid and invalid) as an administrator, who passes every
role check, so every operation is reached. No answer may be a 5xx, and every answer must
match the schema: a documented status code, content type and body.

Bounded: ``SCHEMATHESIS_MAX_EXAMPLES`` examples per operation (default 25), derandomized so
that CI runs are reproducible; raise it locally to fuzz harder.
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from rest_framework.authtoken.models import Token
from rest_framework.settings import api_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config import roles
from tests.security.world import build_world

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def admin_token(hospital, monkeypatch):
    build_world(hospital)
    # The fuzzer sends far more scans a minute than a ward; the limit has its own test.
    monkeypatch.setitem(api_settings.DEFAULT_THROTTLE_RATES, "scans", "100000/min")
    monkeypatch.setitem(api_settings.DEFAULT_THROTTLE_RATES, "decode", "100000/min")
    admin = hospital["nurse"].user.__class__.objects.get(username=f"{roles.ADMINISTRATOR}01")
    return Token.objects.create(user=admin).key


@pytest.fixture
def api_schema(live_server, admin_token):
    schema = schemathesis.openapi.from_url(
        f"{live_server.url}/api/schema/?format=json",
        headers={"Authorization": f"Token {admin_token}"},
    )
    schema.config.update(base_url=live_server.url)
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.postgres
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_its_schema_says_and_never_fails(case, admin_token):
    case.call_and_validate(headers={"Authorization": f"Token {admin_token}"}, checks=CHECKS)
