"""The home page offers each role its own work only (issue 12, item 9).

Which tiles a user sees is asked of the page each tile opens (its own gate), so a tile never
ends on a 403: every tile shown answers 200 to the role that sees it.
"""

import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from config import roles
from tests.billing.conftest import hospital  # noqa: F401  (a fixture, used by name)
from tests.security.world import build_world, client_as

N, S, P, PO = roles.NURSE, roles.STOREKEEPER, roles.PROCUREMENT, roles.PRICING_OFFICE
F, INS, SUP, A = roles.FINANCE, roles.INSURANCE_OFFICE, roles.SUPPLIER, roles.ADMINISTRATOR

WARD = {"billing-daily-list-ward", "billing-audit"}
FINANCE = {
    "billing-finance",
    "billing-finance-month",
    "billing-finance-theatre",
    "billing-finance-people",
    "billing-finance-four-price",
}
STOCK_READING = {"inventory:stock", "inventory:history", "inventory:stocktake-list"}
PROCUREMENT = {
    "master:staging",
    "master:mapping-list",
    "master:submission-list",
    "master:supplier-products",
    "inventory:master-check",
}
PRICING = {"master:price-list", "master:price-lists"}
ADMIN_MASTER = {
    "admin:consumables_consumable_changelist",
    "admin:consumables_priceversion_changelist",
}

# Role -> the URL names of the tiles it sees.
EXPECTED = {
    N: {"billing-bedside", *WARD, *STOCK_READING},
    S: {"inventory:receive", "inventory:issue", *STOCK_READING, "inventory:recall-list"},
    P: {*PROCUREMENT, "inventory:recall-list"},
    PO: {*PRICING, "billing-finance-four-price"},
    F: {*WARD, *FINANCE, *STOCK_READING, "inventory:recall-list"},
    INS: {*WARD, *FINANCE, *STOCK_READING, "inventory:recall-list"},
    SUP: {"master:supplier-home"},
}

TILE = re.compile(r'<ul class="tiles">(.*?)</ul>', re.S)
HREF = re.compile(r'<a href="([^"]+)"')


def tiles_on(response) -> set[str]:
    return {
        href for block in TILE.findall(response.content.decode()) for href in HREF.findall(block)
    }


@pytest.fixture
def world(hospital):  # noqa: F811
    return build_world(hospital)


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_home_page_shows_the_role_exactly_its_tiles(world, role):
    response = client_as(world["users"][role]).get(reverse("home"))
    assert response.status_code == 200
    assert tiles_on(response) == {reverse(name) for name in EXPECTED[role]}


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_every_tile_a_role_sees_opens_for_it(world, role):
    client = client_as(world["users"][role])
    refused = {}
    for url in tiles_on(client.get(reverse("home"))):
        status = client.get(url).status_code
        if status != 200:
            refused[url] = status
    assert not refused


def test_the_administrator_sees_every_tile(world):
    # load_demo gives the administrator group every model permission; the admin site's
    # tiles need them (the role alone opens only the pages).
    Group.objects.get(name=A).permissions.add(
        *Permission.objects.filter(codename__in=["view_consumable", "view_priceversion"])
    )
    response = client_as(world["users"][A]).get(reverse("home"))
    seen = tiles_on(response)
    assert len(seen) == 25
    assert reverse("api-docs") in seen
    assert {reverse(name) for name in ADMIN_MASTER} <= seen


def test_an_admin_tile_follows_the_roles_model_permission(world):
    # The admin site decides (is_staff and the model's view permission), as the admin page
    # itself does: a storekeeper whose group may view consumables gets that tile, and it opens.
    Group.objects.get(name=S).permissions.add(Permission.objects.get(codename="view_consumable"))
    client = client_as(world["users"][S])
    seen = tiles_on(client.get(reverse("home")))
    url = reverse("admin:consumables_consumable_changelist")
    assert url in seen
    assert reverse("admin:consumables_priceversion_changelist") not in seen
    assert client.get(url).status_code == 200


def test_an_account_without_a_role_is_told_to_ask_for_one(django_user_model, client):
    client.force_login(django_user_model.objects.create_user("norole", password="pw-123456!"))
    response = client.get(reverse("home"))
    assert tiles_on(response) == set()
    assert "尚未分配角色" in response.content.decode()


def test_an_integration_account_gets_the_403_page_saying_it_may_not_open_pages(world):
    # HIS/HRP accounts work through the API only (config.middleware): no tiles, and the home
    # address answers the Chinese-first 403 page with that reason and no role list.
    response = client_as(world["users"][roles.INTEGRATION]).get(reverse("home"))
    body = response.content.decode()
    assert response.status_code == 403
    assert "接口账号不能打开页面" in body
    assert "needed-roles" not in body
    assert tiles_on(response) == set()
