"""Issue 13, finding 6d: no password reset by e-mail (no mail is configured); the login page
says how a password is reset instead (by the administrator)."""

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/password_reset/",
        "/accounts/password_reset/done/",
        "/accounts/reset/MQ/set-password/",
        "/accounts/reset/done/",
    ],
)
def test_password_reset_by_mail_is_not_served(client, path):
    assert client.get(path).status_code == 404
    assert client.post(path, {"email": "nurse@example.org"}).status_code == 404


def test_login_page_says_the_administrator_resets_a_password(client):
    page = client.get("/accounts/login/").content.decode()
    assert "请联系系统管理员" in page
    assert "manage.py changepassword" in page


def test_english_login_page_says_it_in_english(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get("/accounts/login/").content.decode()
    assert "Ask the administrator" in page
    assert "请联系" not in page
