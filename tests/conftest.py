"""Test set-up shared by the whole suite.

PostgreSQL is the real database of the tests: CI (CI=true) refuses to run on anything else,
and tests marked ``postgres`` (row locks, concurrency, triggers) are skipped only on a
developer machine without PostgreSQL.
"""

import os

import pytest
from django.conf import settings

IN_CI = os.environ.get("CI", "").lower() == "true"


def on_postgres() -> bool:
    return "postgresql" in settings.DATABASES["default"]["ENGINE"]


def pytest_sessionstart(session):
    if IN_CI and not on_postgres():
        pytest.exit("CI=true but DATABASE_URL is not PostgreSQL: refusing to run", returncode=3)


def pytest_collection_modifyitems(config, items):
    if on_postgres():
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="u1", password="pw-123456!")


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user(username="u2", password="pw-123456!")


@pytest.fixture
def auth_client(api_client, user):
    api_client.force_authenticate(user)
    return api_client
