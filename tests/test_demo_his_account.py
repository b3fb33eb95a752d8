"""Issue 13, finding 6c: the demo HIS account is an integration account like any other
(``manage.py integration_token``): no password, no staff status, a token only."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from config import roles
from consumables.demo_data import DEMO_PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def load_demo() -> str:
    out = io.StringIO()
    call_command("load_demo", "--no-history", stdout=out)
    return out.getvalue()


def test_demo_his_account_has_no_password_and_no_staff_status(client):
    load_demo()
    his = get_user_model().objects.get(username="his01")
    assert his.groups.filter(name=roles.INTEGRATION).exists()
    assert not his.has_usable_password()
    assert not his.is_staff and not his.is_superuser
    client.post("/accounts/login/", {"username": "his01", "password": DEMO_PASSWORD})
    assert "_auth_user_id" not in client.session


def test_demo_summary_gives_the_his_account_a_token_command_not_a_password():
    line = next(row for row in load_demo().splitlines() if row.startswith("his01"))
    assert "drf_create_token his01" in line
    assert DEMO_PASSWORD not in line
