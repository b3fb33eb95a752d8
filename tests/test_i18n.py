"""The language switch, the catalogues and localised formats (issue 7, item 5).

zh-hans is the default whatever the browser asks for; English is chosen with the switch
(the ``set_language`` view and its cookie). The English catalogues translate every
message, and the scripts keep no Chinese outside ``gettext()``.
"""

import datetime as dt
import gettext as gettext_module
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import trans_real

from config.errors import DomainError

ROOT = Path(settings.BASE_DIR)
LOCALE = ROOT / "locale"
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


@pytest.fixture(scope="session")
def compiled_messages():
    """The .mo files next to the .po files, compiled when missing or older (``make test``
    compiles first; this keeps a bare ``pytest`` run honest too)."""
    stale = [
        po
        for po in LOCALE.rglob("*.po")
        if not po.with_suffix(".mo").exists()
        or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    if stale:
        call_command(
            "compilemessages", locale=["en"], ignore_patterns=[".venv/*"], verbosity=0
        )
        gettext_module._translations.clear()
        trans_real._translations = {}
        trans_real._default = None
    return LOCALE


def catalogue(domain: str) -> dict[str, str]:
    """msgid -> msgstr of locale/en/LC_MESSAGES/<domain>.po (fuzzy entries count as empty)."""
    text = (LOCALE / "en" / "LC_MESSAGES" / f"{domain}.po").read_text(encoding="utf-8")
    entries = {}
    for block in text.split("\n\n"):
        fuzzy = bool(re.search(r"^#,.*\bfuzzy\b", block, re.M))
        fields, current = {}, None
        for line in block.splitlines():
            match = re.match(r'(msgctxt|msgid_plural|msgid|msgstr(?:\[\d\])?) "(.*)"$', line)
            if match:
                current = match.group(1)
                fields[current] = match.group(2)
            elif line.startswith('"') and current:
                fields[current] += line[1:-1]
        if fields.get("msgid"):
            key = fields["msgid"]
            if "msgctxt" in fields:
                key = f"{fields['msgctxt']}|{key}"
            value = fields.get("msgstr", fields.get("msgstr[0]", ""))
            entries[key] = "" if fuzzy else value
    return entries


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_every_message_has_an_english_translation_without_chinese(domain):
    entries = catalogue(domain)
    assert len(entries) > (400 if domain == "django" else 50)
    missing = [msgid for msgid, msgstr in entries.items() if not msgstr]
    assert not missing, f"{len(missing)} untranslated in {domain}.po: {missing[:10]}"
    chinese = [msgid for msgid, msgstr in entries.items() if CJK.search(msgstr)]
    assert not chinese, f"Chinese left in English {domain}.po: {chinese[:10]}"


def _js_without_comments(source: str) -> str:
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.S)
    return re.sub(r"(?m)^\s*//.*$|(?<=[;{}),])\s*//.*$", "", source)


STRING = re.compile(r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`]*`""")


@pytest.mark.parametrize("script", sorted((ROOT / "static" / "js").rglob("*.js")), ids=str)
def test_scripts_show_chinese_only_through_gettext(script):
    source = _js_without_comments(script.read_text(encoding="utf-8"))
    bare = []
    for match in STRING.finditer(source):
        if not CJK.search(match.group(0)):
            continue
        before = source[max(0, match.start() - 20) : match.start()]
        # gettext("..."), or a comparison with data (insurance_type === "自费").
        if not re.search(r"(gettext\(|[!=]==?)\s*$", before):
            bare.append(match.group(0))
    assert not bare, f"{script.name}: Chinese strings outside gettext(): {bare[:10]}"


def test_default_language_is_chinese_whatever_the_browser_asks(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response["Content-Language"] == "zh-hans"
    assert "登录 / Log in" in response.content.decode()
    assert '<option value="zh-hans" selected>' in response.content.decode()


def test_the_switch_sets_a_lasting_cookie_and_the_next_page_is_english(client, compiled_messages):
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    assert response.status_code == 302
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "en"
    assert int(cookie["max-age"]) >= 30 * 24 * 3600
    page = client.get(reverse("login")).content.decode()
    assert "Log in" in page and "登录" not in page
    assert '<option value="en" selected>' in page


def test_an_unknown_language_in_the_cookie_falls_back_to_chinese(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    response = client.get(reverse("login"))
    assert response["Content-Language"] == "zh-hans"


def render(source: str, language: str, **context) -> str:
    with translation.override(language):
        return Template("{% load l10n_extras %}" + source).render(Context(context))


@pytest.mark.parametrize(
    ("language", "expected"), [("zh-hans", "1234567.50"), ("en", "1,234,567.50")]
)
def test_money_is_written_as_the_language_writes_it(language, expected):
    # Django's zh_Hans leaves amounts ungrouped (as the wards' lists always showed them);
    # English groups thousands with commas.
    assert render("{{ v|money }}", language, v=Decimal("1234567.5")) == expected


def test_money_rounds_half_up_to_the_fen():
    assert render("{{ v|money }}", "en", v=Decimal("0.125")) == "0.13"
    assert render("{{ v|money }}", "en", v=Decimal("-12")) == "-12.00"
    assert render("{{ v|money|default:'—' }}", "en", v=None) == "—"


@pytest.mark.parametrize(("language", "expected"), [("zh-hans", "12000"), ("en", "12,000")])
def test_counts_are_written_as_the_language_writes_them(language, expected):
    assert render("{{ v|qty }}", language, v=12000) == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [("zh-hans", "2024-05-01 / 2024-05-01 14:30"), ("en", "1 May 2024 / 1 May 2024 14:30")],
)
def test_short_dates_follow_the_language(language, expected):
    moment = timezone.make_aware(dt.datetime(2024, 5, 1, 14, 30))
    source = '{{ d|date:"SHORT_DATE_FORMAT" }} / {{ t|date:"SHORT_DATETIME_FORMAT" }}'
    assert render(source, language, d=moment.date(), t=moment) == expected


def test_a_refusal_reads_in_the_language_of_the_page():
    error = DomainError("EXPIRED", "已过期", "Expired")
    source = "{{ e|refusal_message }}|{{ e|refusal_aside }}|{{ e|refusal_text }}"
    assert render(source, "zh-hans", e=error) == "已过期|Expired|已过期 / Expired"
    assert render(source, "en", e=error) == "Expired||Expired"
    # A refusal known only in Chinese still says something in English.
    assert render("{{ e|refusal_message }}", "en", e={"message": "未知"}) == "未知"


def test_api_refusals_keep_the_chinese_message_in_an_english_session(auth_client, settings):
    # docs/contract.md: ``message`` is Chinese and ``message_en`` English whatever the page
    # language; only the pages follow the switch.
    auth_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = auth_client.post("/api/v1/codes/resolve", {}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["message"] == "请求数据有误"
    assert error["message_en"] == "The request is invalid"
