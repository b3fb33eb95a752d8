"""Login lockout (django-axes) and session expiry on shared ward PCs."""

import datetime as dt
import time

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from config import roles
from config.middleware import LAST_SEEN_KEY

LOGIN = "/accounts/login/"
PASSWORD = "Right-pw-2024!"
PAGE = "/inventory/stock/"  # any page behind a role check


@pytest.fixture
def nurse(db):
    user = User.objects.create_user("nurse01", password=PASSWORD)
    user.groups.add(Group.objects.get_or_create(name=roles.NURSE)[0])
    return user


def log_in(client, username="nurse01", password=PASSWORD, ip="10.1.2.3"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_right_password_is_refused_after_five_failures(nurse):
    client = Client()
    for _ in range(4):
        assert log_in(client, password="wrong").status_code == 200  # the form again
    fifth = log_in(client, password="wrong")
    assert fifth.status_code == 429

    sixth = log_in(client)
    assert sixth.status_code == 429
    assert not logged_in(client)
    text = sixth.content.decode()
    assert "账户已锁定" in text and "15 分钟后再试" in text and "Account locked" in text


def test_four_failures_then_the_right_password_logs_in(nurse):
    client = Client()
    for _ in range(4):
        log_in(client, password="wrong")
    response = log_in(client)
    assert response.status_code == 302
    assert logged_in(client)


def test_lockout_is_per_username_and_address(nurse):
    User.objects.create_user("nurse02", password=PASSWORD)
    for _ in range(5):
        log_in(Client(), password="wrong")
    # The same account from another PC, and another account from the same PC, still log in.
    assert log_in(Client(), ip="10.9.9.9").status_code == 302
    assert log_in(Client(), username="nurse02").status_code == 302
    assert log_in(Client()).status_code == 429


def test_lock_is_lifted_after_fifteen_minutes(nurse):
    for _ in range(5):
        log_in(Client(), password="wrong")
    assert log_in(Client()).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=16))
    client = Client()
    assert log_in(client).status_code == 302
    assert logged_in(client)


def idle_for(client, seconds: int) -> None:
    session = client.session
    session[LAST_SEEN_KEY] = int(time.time()) - seconds
    session.save()


def test_session_idle_beyond_the_limit_is_sent_to_login(nurse, settings):
    client = Client()
    assert log_in(client).status_code == 302
    assert client.get(PAGE).status_code == 200
    idle_for(client, settings.SESSION_IDLE_TIMEOUT + 60)

    response = client.get(PAGE)
    assert response.status_code == 302
    assert response.url.startswith(LOGIN)
    assert not logged_in(client)
    # ... and stays logged out: the next page is refused too.
    assert client.get(PAGE).status_code == 302


def test_session_in_use_stays_logged_in(nurse, settings):
    client = Client()
    log_in(client)
    idle_for(client, settings.SESSION_IDLE_TIMEOUT - 120)
    assert client.get(PAGE).status_code == 200
    # The request moved the idle clock on: the limit counts from the last use, not login.
    assert int(time.time()) - client.session[LAST_SEEN_KEY] < 5
    assert logged_in(client)


def test_shared_pc_session_settings(settings):
    assert settings.SESSION_IDLE_TIMEOUT <= 30 * 60
    assert settings.SESSION_COOKIE_AGE <= 8 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    assert settings.SESSION_COOKIE_HTTPONLY


def test_session_older_than_its_age_is_sent_to_login(nurse, settings):
    client = Client()
    log_in(client)
    from django.contrib.sessions.models import Session

    Session.objects.update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    response = client.get(PAGE)
    assert response.status_code == 302 and response.url.startswith(LOGIN)
