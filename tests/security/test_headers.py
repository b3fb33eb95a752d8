"""Content-Security-Policy and the other security headers, and templates that obey the CSP."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client

from config import roles
from organisation.models import Department

ROOT = Path(settings.BASE_DIR)


@pytest.fixture
def keeper_client(db):
    user = User.objects.create_user("store01", password="pw-123456!")
    user.groups.add(Group.objects.get_or_create(name=roles.STOREKEEPER)[0])
    store = Department.objects.create(code="CK01", name="中心库房", kind=Department.Kind.STORE)
    store.members.add(user)
    client = Client()
    client.force_login(user)
    return client


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_pages_carry_a_strict_content_security_policy(keeper_client):
    response = keeper_client.get("/inventory/recalls/new/")
    assert response.status_code == 200
    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'unsafe-eval'" not in csp["script-src"]
    # The page's one inline script carries this response's nonce, and only this one.
    nonce = next(v for v in csp["script-src"] if v.startswith("'nonce-"))[7:-1]
    html = response.content.decode()
    assert re.findall(r'<script nonce="([^"]+)">', html) == [nonce]


def test_each_response_gets_a_fresh_nonce(keeper_client):
    first = policy(keeper_client.get("/inventory/recalls/new/"))["script-src"]
    second = policy(keeper_client.get("/inventory/recalls/new/"))["script-src"]
    assert first != second


def test_other_security_headers(keeper_client):
    response = keeper_client.get("/inventory/stock/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_api_answers_carry_the_policy_too(keeper_client):
    response = keeper_client.post("/api/v1/codes/resolve", {}, content_type="application/json")
    assert response.status_code == 400
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"


INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
INLINE_BLOCK = re.compile(r"<(script|style)(?![^>]*\b(?:src|nonce)=)[^>]*>", re.IGNORECASE)


def template_files():
    dirs = [ROOT / "templates", *ROOT.glob("*/templates")]
    return sorted(p for d in dirs for p in d.rglob("*.html") if ".venv" not in p.parts)


def test_no_template_has_inline_code_the_policy_would_block():
    """An inline ``onclick=`` or a ``<script>``/``<style>`` without the nonce is silently
    dead in the browser under the CSP: use static files, ``data-*`` hooks of
    static/js/page-actions.js, or ``nonce="{{ request.csp_nonce }}"``."""
    offenders = []
    for path in template_files():
        text = path.read_text(encoding="utf-8")
        for pattern in (INLINE_HANDLER, INLINE_BLOCK):
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {match.group(0)[:60]}")
    assert not offenders, "inline code blocked by the CSP:\n" + "\n".join(offenders)
