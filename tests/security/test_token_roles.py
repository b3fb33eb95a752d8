"""API tokens: the token, its user and his roles are read in one query, and the roles so
read decide exactly as the per-request role check does."""

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config import roles

pytestmark = pytest.mark.django_db


def token_for(username, *group_names, active=True) -> str:
    user = User.objects.create_user(username, password="pw-123456!", is_active=active)
    for name in group_names:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    return Token.objects.create(user=user).key


def post_empty_scan(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.post("/api/v1/scans", {}, format="json")


def test_a_nurse_token_passes_the_role_check_and_reaches_validation():
    response = post_empty_scan(token_for("nurse01", roles.NURSE))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_roles_come_from_every_group_of_the_user():
    key = token_for("both01", roles.FINANCE, roles.STOREKEEPER)
    assert post_empty_scan(key).status_code == 400


def test_the_administrator_group_may_do_everything():
    assert post_empty_scan(token_for("admin01", roles.ADMINISTRATOR)).status_code == 400


def test_a_token_without_a_scanning_role_is_refused():
    assert post_empty_scan(token_for("finance01", roles.FINANCE)).status_code == 403
    assert post_empty_scan(token_for("nobody01")).status_code == 403


def test_unknown_tokens_and_inactive_users_are_not_authenticated():
    assert post_empty_scan("0" * 40).status_code == 401
    assert post_empty_scan(token_for("gone01", roles.NURSE, active=False)).status_code == 401


def test_token_user_and_roles_cost_one_query():
    key = token_for("nurse02", roles.NURSE, roles.STOREKEEPER)
    with CaptureQueriesContext(connection) as captured:
        assert post_empty_scan(key).status_code == 400
    reads_roles = [q["sql"] for q in captured if "auth_group" in q["sql"]]
    assert len(reads_roles) == 1 and "authtoken_token" in reads_roles[0]
