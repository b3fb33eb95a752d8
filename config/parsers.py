"""The one JSON parser of the API (REST_FRAMEWORK ``DEFAULT_PARSER_CLASSES``).

DRF's own parser hands ``json.load`` whatever arrives: ``[`` nested 100,000 deep ends in a
RecursionError (a 500), a ``\\u0000`` inside a string reaches PostgreSQL (which refuses NUL
in text and jsonb: a DataError, a 500), and a lone surrogate (``\\ud800``) cannot even be
encoded for the database. docs/contract.md wants each of these to be a 4xx ``VALIDATION_ERROR``
with nothing recorded, so they are refused here, before any view sees the body.

Other control characters stay: a scanned GS1 code carries the group separator (``\\x1d``).
"""

from __future__ import annotations

import codecs
import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding

# No request of the contract nests beyond four levels (a submission's list of DIs); 32
# leaves room for new fields and stays far below Python's recursion limit.
MAX_DEPTH = 32


class BadJson(ValueError):
    """A body that is JSON but not one the API accepts (why, in ``reason``)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def check_json(value, *, max_depth: int = MAX_DEPTH) -> None:
    """Raise ``BadJson`` if ``value`` (parsed JSON) nests deeper than ``max_depth`` or holds
    a string or key with NUL or a lone surrogate. Walks without recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > max_depth:
            raise BadJson("TOO_DEEP", f"JSON nested deeper than {max_depth} levels")
        if isinstance(item, dict):
            for key, inner in item.items():
                _check_text(key)
                stack.append((inner, depth + 1))
        else:
            stack.extend((inner, depth + 1) for inner in item)


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise BadJson("NUL", "NUL character in a JSON string")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadJson("SURROGATE", "lone surrogate in a JSON string") from None


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH):
    """``json.loads`` with the API's limits, for any code that parses a body by hand.
    Raises ``BadJson`` (a ValueError) for everything it refuses."""
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise BadJson("TOO_DEEP", f"JSON nested deeper than {max_depth} levels") from None
    check_json(value, max_depth=max_depth)
    return value


def _no_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


class SafeJSONParser(JSONParser):
    """``JSONParser`` with a depth limit, and no NUL or lone surrogate in any string."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            text = codecs.getreader(get_encoding(parser_context or {}))(stream).read()
            return loads(text)
        except BadJson as exc:
            raise ParseError(f"JSON refused - {exc}") from None
        except ValueError as exc:  # malformed JSON, bad encoding, a 5,000-digit number
            raise ParseError(f"JSON parse error - {exc}") from None
