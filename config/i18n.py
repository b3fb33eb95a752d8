"""The interface language: zh-hans unless the user picked another with the language switch.

Django's ``LocaleMiddleware`` would follow the browser's ``Accept-Language``, so a ward PC
with an English browser would open in English and the switch would show a language the
hospital did not choose. Here the only inputs are the language cookie that the
``set_language`` view writes and ``LANGUAGE_CODE``.
"""

import re

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


def cookie_language(request) -> str:
    """The supported language named by the language cookie, else ``LANGUAGE_CODE``."""
    code = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if code:
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            pass
    return settings.LANGUAGE_CODE


class CookieLocaleMiddleware(LocaleMiddleware):
    """``LocaleMiddleware`` without the ``Accept-Language`` negotiation (no i18n URLs here)."""

    def process_request(self, request):
        translation.activate(cookie_language(request))
        request.LANGUAGE_CODE = translation.get_language()


def is_english() -> bool:
    return (translation.get_language() or "").startswith("en")


def pair(message: str, message_en: str) -> str:
    """A Chinese/English pair as the active language shows it: the English alone in English,
    else the Chinese with the English after a slash (the pages' bilingual style)."""
    if is_english():
        return message_en or message
    if message_en and message_en != message:
        return f"{message} / {message_en}"
    return message


_HAN = re.compile(r"[\u3400-\u9fff]")


def split_pair(text: str) -> tuple[str, str]:
    """``"中文 / English"`` as ``("中文", "English")``: the split is the first " / " with no
    Chinese after it. A text without such an English half is ``(text, "")``."""
    parts = text.split(" / ")
    for i in range(1, len(parts)):
        head, tail = " / ".join(parts[:i]), " / ".join(parts[i:])
        if _HAN.search(head) and not _HAN.search(tail):
            return head, tail
    return text, ""
