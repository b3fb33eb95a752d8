"""Every page an administrator can open, in English, shows no Chinese interface text.

The walk is the access matrix's (tests/security/test_access_matrix.py): every URL of the
resolver with the objects of ``tests/security/world.py``, plus each admin changelist,
add and change form. What a page shows from the database (department, consumable and
patient names, reasons typed by people) is data, not interface: every text value stored
in the database is taken out of the page before looking for Chinese characters. The
language switch itself names each language in its own script and is left out too.
"""

import re
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import models
from django.urls import reverse

from config import roles
from tests.billing.conftest import hospital  # noqa: F401  (a fixture, used by name)
from tests.security.test_access_matrix import (
    WALKED,
    methods,
    request,
    url_kwargs,
    url_patterns,
)
from tests.security.world import build_world, client_as
from tests.test_i18n import compiled_messages  # noqa: F401  (a fixture, used by name)

CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
SHOWN_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "data-confirm"}
SKIPPED_ELEMENTS = {"script", "style"}


class VisibleText(HTMLParser):
    """Text nodes and the attributes a person reads, minus scripts and the language switch."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in SKIPPED_ELEMENTS or (tag == "select" and attrs.get("name") == "language"):
            self._skip.append(tag)
            return
        if self._skip:
            return
        for name, value in attrs.items():
            button = tag == "button" or (tag == "input" and attrs.get("type") == "submit")
            if value and (name in SHOWN_ATTRIBUTES or (name == "value" and button)):
                self.parts.append(value)

    def handle_endtag(self, tag):
        if self._skip and self._skip[-1] == tag:
            self._skip.pop()

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    return parser.parts


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def database_strings() -> list[str]:
    """Every Chinese text stored in the database, longest first (so a name goes before a
    shorter value it contains)."""
    found = set()
    for model in apps.get_models():
        fields = [
            f.attname
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField | models.JSONField)
        ]
        if not fields:
            continue
        for row in model._default_manager.values_list(*fields):
            for value in row:
                found.update(s.strip() for s in _strings(value) if CJK.search(s))
    return sorted(found - {""}, key=len, reverse=True)


def untranslated(html: str, data: list[str]) -> list[str]:
    left = []
    for part in visible_text(html):
        for value in data:
            if value in part:
                part = part.replace(value, "")
        if CJK.search(part):
            left.append(part)
    return left


def admin_urls(world) -> list[str]:
    """The admin index, and the changelist, add form and a change form of every model the
    administrator role may see."""
    urls = [reverse("admin:index")]
    as_admin = _AdminRequest(world)
    for model, model_admin in admin.site._registry.items():
        if not model_admin.has_view_permission(as_admin):
            continue
        meta = model._meta
        base = f"admin:{meta.app_label}_{meta.model_name}"
        urls.append(reverse(f"{base}_changelist"))
        if model_admin.has_add_permission(as_admin):
            urls.append(reverse(f"{base}_add"))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            urls.append(reverse(f"{base}_change", args=[first.pk]))
    return urls


class _AdminRequest:
    def __init__(self, world):
        self.user = world["users"][roles.ADMINISTRATOR]


@pytest.fixture
def english_admin(hospital, compiled_messages, settings):  # noqa: F811
    world = build_world(hospital)
    administrator = world["users"][roles.ADMINISTRATOR]
    # Every admin model, whatever the role's model permissions in this test database.
    administrator.is_staff = administrator.is_superuser = True
    administrator.save(update_fields=["is_staff", "is_superuser"])
    client = client_as(administrator)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return world, client


def page_urls(world) -> list[tuple[str, str]]:
    """(URL name, URL) of every page (GET answers HTML) the matrix walks."""
    pages = []
    for name in WALKED:
        pattern = next(p for n, p in url_patterns() if n == name)
        if "get" not in methods(pattern):
            continue
        pages.append((name, reverse(name, kwargs=url_kwargs(world, name, pattern))))
    return pages


def test_every_page_in_english_shows_no_chinese_interface_text(english_admin):
    world, client = english_admin
    data = database_strings()
    problems, html_pages = {}, 0
    for name, url in page_urls(world) + [("admin", u) for u in admin_urls(world)]:
        response = request(client, "get", url, name)
        if "text/html" not in response.get("Content-Type", ""):
            continue
        assert response.status_code < 500, (url, response.status_code)
        if name == "admin":
            assert response.status_code == 200, (url, response.status_code)
        html_pages += 1
        left = untranslated(response.content.decode(), data)
        if left:
            problems[url] = sorted(set(left))
    admin_pages = len(admin_urls(world))
    assert html_pages > 60 and admin_pages > 20, (
        f"{html_pages} pages, {admin_pages} of them admin: the walk lost its pages"
    )
    assert not problems, "Chinese left on English pages:\n" + "\n".join(
        f"{url}: {texts}" for url, texts in problems.items()
    )


def test_the_check_sees_chinese_interface_text(english_admin, settings):
    # Without the English catalogue the pages keep their Chinese: the walk must notice.
    world, client = english_admin
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    response = client.get(reverse("home"))
    assert "入库扫码" in " ".join(untranslated(response.content.decode(), database_strings()))
