"""Numbers, money and refusal messages as the active language writes them.

``USE_THOUSAND_SEPARATOR`` stays off: it would also group numbers that pages hand to
machines (ids in links, the server clock in a data attribute, counts in number inputs),
which the browser and the scripts then cannot read. Amounts and quantities meant to be
read go through these filters instead.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.utils.formats import number_format

from ..i18n import is_english, pair, split_pair

register = template.Library()
CENT = Decimal("0.01")


def _decimal(value):
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


@register.filter
def money(value) -> str:
    """An amount in yuan to the fen, grouped as the language groups (1234.50 / 1,234.50)."""
    amount = _decimal(value)
    if amount is None:
        return "" if value is None else str(value)
    amount = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    return number_format(amount, decimal_pos=2, force_grouping=True)


@register.filter
def qty(value) -> str:
    """A count, grouped as the language groups."""
    number = _decimal(value)
    if number is None:
        return "" if value is None else str(value)
    return number_format(number, force_grouping=True)


@register.filter
def refusal_text(error) -> str:
    """A refusal (``DomainError`` or its ``error`` body as a dict) in the active language."""
    if error is None:
        return ""
    return pair(*_parts(error))


def _parts(error) -> tuple[str, str]:
    if isinstance(error, dict):
        message, message_en = error.get("message", ""), error.get("message_en", "")
    else:
        message = getattr(error, "message", str(error))
        message_en = getattr(error, "message_en", "")
    if not message_en:
        message, message_en = split_pair(str(message))
    return message, message_en


@register.filter
def refusal_message(error) -> str:
    """The headline of a refusal: the English message in English, else the Chinese."""
    if error is None:
        return ""
    message, message_en = _parts(error)
    return (message_en or message) if is_english() else message


@register.filter
def refusal_aside(error) -> str:
    """The English line under a Chinese headline; nothing when the page is in English."""
    if error is None or is_english():
        return ""
    return _parts(error)[1]


@register.filter
def in_language(text) -> str:
    """A "中文 / English" text from elsewhere (a library setting, a stored label) as the page's
    language shows it: its English half on an English page, unchanged otherwise."""
    if text is None or not is_english():
        return text
    return split_pair(str(text))[1] or text
