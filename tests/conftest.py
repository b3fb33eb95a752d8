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


@pytest.fixture(scope="session", autouse=True)
def _flush_past_the_history_triggers():
    """Let the flush between transactional tests empty the protected tables.

    PostgreSQL refuses TRUNCATE of the history and money rows (inventory 0006, billing
    0009), and Django's flush is one TRUNCATE of every table. The suite connects as a
    superuser, so its flush may ``SET LOCAL session_replication_role = replica``, under
    which ordinary triggers do not fire, for the flush's own transaction only. The app's
    role may not set that parameter (tests/security/test_database_refusals.py).
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        yield
        return
    operations = type(connection.ops)
    original = operations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        # execute_sql_flush runs its statements in one atomic block: SET LOCAL ends with it.
        original(self, ["SET LOCAL session_replication_role = replica", *sql_list])

    operations.execute_sql_flush = execute_sql_flush
    yield
    operations.execute_sql_flush = original


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
    """An API client logged in as a nurse (the API denies users without a role)."""
    from django.contrib.auth.models import Group

    from config import roles

    user.groups.add(Group.objects.get_or_create(name=roles.NURSE)[0])
    api_client.force_authenticate(user)
    return api_client


@pytest.fixture
def celery_broker(settings, monkeypatch):
    """Point the Celery app at a broker for one test: ``celery_broker(url)``.

    Celery reads Django settings through a chained view, so the override goes into its
    own ``changes`` layer with ``setitem`` (undone by deleting the key, never by writing
    back a value read while the test's settings were in force), and the connection pool
    made for the previous broker is dropped on the way in and out.
    """
    from config.celery import app

    def drop_pools():
        app._pool = None
        app.__dict__.get("amqp") and setattr(app.amqp, "_producer_pool", None)

    def point_at(url: str):
        drop_pools()
        settings.CELERY_BROKER_URL = url
        settings.CELERY_TASK_ALWAYS_EAGER = False
        monkeypatch.setitem(app.conf.changes, "broker_url", url)
        monkeypatch.setitem(app.conf.changes, "task_always_eager", False)
        return app

    yield point_at
    drop_pools()
