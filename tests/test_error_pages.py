"""The 403 and 404 pages (issue 12, item 9): Chinese first with English, say why, link home;
English alone in an English session; the API keeps its JSON error body."""

import re

import pytest
from django.urls import reverse

from config import roles
from tests.billing.conftest import hospital  # noqa: F401  (a fixture, used by name)
from tests.security.world import NURSE_OTHER_WARD, build_world, client_as
from tests.test_i18n import CJK, compiled_messages  # noqa: F401  (a fixture, used by name)

HOME_LINK = re.compile(r'<a href="/">')


@pytest.fixture(autouse=True)
def debug_off(settings):
    settings.DEBUG = False


@pytest.fixture
def world(hospital):  # noqa: F811
    return build_world(hospital)


@pytest.fixture
def nurse(world):
    return client_as(world["users"][roles.NURSE])


def heading(response) -> str:
    return re.search(r"<h1>(.*?)</h1>", response.content.decode(), re.S).group(1)


def english(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_a_page_of_another_role_answers_the_chinese_403_page_with_the_role_it_needs(nurse):
    response = nurse.get(reverse("billing-finance"))
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    assert heading(response) == "无权访问 / Access denied"
    text = response.content.decode()
    assert "您的账号没有此页面所需的角色" in text
    needed = re.search(r'<ul class="needed-roles">(.*?)</ul>', text, re.S).group(1)
    assert "财务 / finance" in needed and "医保办 / insurance office" in needed
    assert "护士" not in needed
    assert HOME_LINK.search(text)


def test_a_refusal_for_another_ward_gives_its_reason_and_no_role_list(world):
    client = client_as(world["users"][NURSE_OTHER_WARD])
    response = client.get(reverse("billing-daily-list-ward"), {"department": "XNK"})
    assert response.status_code == 403
    text = response.content.decode()
    assert "无权查看该病区 / You may not see this ward" in text
    assert "您的账号无权打开此页面" in text
    assert "needed-roles" not in text  # he has the role: the ward is the reason
    assert HOME_LINK.search(text)


def test_the_403_page_is_english_alone_in_an_english_session(
    nurse,
    settings,
    compiled_messages,  # noqa: F811
):
    response = english(nurse, settings).get(reverse("billing-finance"))
    assert response.status_code == 403
    text = response.content.decode()
    assert heading(response) == "Access denied"
    assert "Your account has none of the roles this page needs" in text
    assert "finance" in text
    assert not CJK.findall(text)
    assert HOME_LINK.search(text)


def test_an_unknown_page_answers_the_chinese_404_page_with_a_home_link(nurse):
    response = nurse.get("/no-such-page/")
    assert response.status_code == 404
    assert heading(response) == "页面不存在 / Page not found"
    text = response.content.decode()
    assert "找不到您要打开的页面或记录" in text
    assert "/no-such-page/" in text
    assert HOME_LINK.search(text)


def test_an_unknown_record_answers_the_same_404_page(nurse):
    response = nurse.get(reverse("inventory:stocktake-detail", kwargs={"pk": 999999}))
    assert response.status_code == 404
    assert heading(response) == "页面不存在 / Page not found"


def test_the_404_page_is_english_alone_in_an_english_session(
    client,
    settings,
    compiled_messages,  # noqa: F811
):
    response = english(client, settings).get("/no-such-page/")
    assert response.status_code == 404
    assert heading(response) == "Page not found"
    assert not CJK.findall(response.content.decode())


def test_the_api_keeps_its_json_403_body(nurse):
    response = nurse.get(reverse("recon-run", kwargs={"date": "2026-01-01"}))
    assert response.status_code == 403
    assert response.json()["error"]["code"]


def test_the_api_keeps_its_json_404_body(nurse):
    response = nurse.get("/api/v1/no-such-endpoint")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
