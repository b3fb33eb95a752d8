"""In a real browser, the Content-Security-Policy blocks nothing the pages need, and the
behaviours moved out of inline handlers (page-actions.js) still work."""

import pytest
from django.contrib.auth.models import Group, User

from config import roles
from organisation.models import Department

from .conftest import PASSWORD, log_in


@pytest.fixture
def keeper(transactional_db):
    user = User.objects.create_user("store01", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get_or_create(name=roles.STOREKEEPER)[0])
    for code, name in (("CK01", "中心库房"), ("CK02", "二级库房")):
        Department.objects.create(code=code, name=name, kind=Department.Kind.STORE).members.add(
            user
        )
    return user


def watch_violations(page) -> list[str]:
    seen: list[str] = []
    page.on(
        "console",
        lambda message: seen.append(message.text)
        if "Content Security Policy" in message.text or "Refused to" in message.text
        else None,
    )
    return seen


@pytest.mark.parametrize(
    "url", ["/inventory/stock/", "/inventory/recalls/new/", "/inventory/stocktake/", "/api/docs/"]
)
def test_pages_run_without_csp_violations(new_page, keeper, url):
    page = new_page()
    violations = watch_violations(page)
    log_in(page, "store01")
    page.goto(url)
    page.wait_for_load_state("networkidle")
    if url == "/api/docs/":
        # Swagger UI started (its start-up script runs under the nonce) and read the schema.
        page.wait_for_selector(".opblock-tag", timeout=15_000)
    assert violations == []


def test_department_picker_still_submits_on_change(new_page, keeper):
    page = new_page()
    log_in(page, "store01")
    page.goto("/inventory/stock/")
    page.select_option("select[name=department]", "CK02")
    page.wait_for_url("**department=CK02**")


def test_language_switch_still_submits_on_change(new_page, keeper):
    page = new_page()
    log_in(page, "store01")
    page.goto("/inventory/stock/")
    page.select_option("select[name=language]", "en")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.lang") == "en"
