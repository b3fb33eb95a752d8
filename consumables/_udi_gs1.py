"""GS1 reading for ``consumables.udi``: element strings, HRI, Digital Link, bare GTINs.

biip does the AI table, patterns and dates; this module adds what biip leaves to us: our own
walk over raw element strings (to know where an explicit separator was), refusal of a wrong
GTIN check digit, refusal of a missing GTIN, and the dropped-separator check.

Dropped separators: a variable-length field (lot, serial ...) that was not closed by GS may
have swallowed the fields after it. The strict reading is kept as the result; when the
field's tail is itself a complete, valid element string of UDI production AIs (10, 11, 15,
17, 21) that the message does not already contain - decided by biip parsing the tail, so a
lot that merely ends in AI-like digits (``NEW001``, ``AB1721``: too short; ``L17251399``: no
such date) is left alone - the warning
``POSSIBLE_MISSING_SEPARATOR`` is added and the most plausible split is put in
``extra["alternative"]`` (preferring more valid dates, then more fields, then the shortest
tail). HRI and Digital Link carry explicit boundaries, so they are never flagged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from biip import ParseError
from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_element_strings import GS1ElementString
from biip.gs1_messages import GS1Message

from ._udi_common import GS, CodeParseError, Input, ParsedCode, gtin_check_digit, is_valid_gtin

DATE_AIS = {
    "11", "12", "13", "15", "16", "17", "4324", "4325", "4326",
    "7003", "7006", "7007", "7011", "8008",
}  # fmt: skip
MAPPED_AIS = {"01", "10", "11", "17", "21"}
ALTERNATIVE_AIS = ("10", "11", "15", "17", "21")
_AI_IN_ERROR_RE = re.compile(r"GS1 AI \((\d+)\)")


@dataclass(frozen=True)
class Element:
    es: GS1ElementString
    closed: bool  # an explicit boundary (GS, HRI parenthesis, URL) follows the field

    @property
    def ai(self) -> str:
        return self.es.ai.ai

    @property
    def variable(self) -> bool:
        return ".." in self.es.ai.format


# --------------------------------------------------------------------------- entry points


def parse_bare_gtin(source: Input) -> ParsedCode:
    """A GTIN-8/12/13/14 on its own (EAN/UPC/ITF-14 or typed); the check digit must be right."""
    digits = source.text
    if not re.fullmatch(r"[0-9]{8}|[0-9]{12,14}", digits):
        raise CodeParseError(
            "BAD_GS1_DATA", {"problem": "not a GTIN", "symbology": source.symbology}
        )
    if not is_valid_gtin(digits):
        raise CodeParseError("GTIN_CHECK_DIGIT", _gtin_detail(digits))
    return ParsedCode(
        issuer="gs1",
        raw=source.raw,
        di=digits.zfill(14),
        symbology=source.symbology,
        warnings=tuple(source.warnings),
    )


def parse_gs1(source: Input) -> ParsedCode:
    """Element string, HRI or Digital Link: refusals are final."""
    text = source.text
    if re.match(r"https?://", text, re.IGNORECASE):
        return build(_digital_link(text), source)
    if text.startswith(("(", "{")):
        return build(_hri(text), source)
    return build(_raw(text), source)


def parse_gs1_if_plausible(source: Input) -> ParsedCode | None:
    """An element string that does not start with (01) but reads fully and has a valid GTIN."""
    if len(source.text) <= 16:
        return None
    try:
        return build(_raw(source.text), source)
    except CodeParseError:
        return None


# ------------------------------------------------------------------------------ the forms


def _raw(text: str) -> list[Element]:
    """Raw element string; a leading GS is FNC1-in-first, a trailing GS closes the last field."""
    body = text.lstrip(GS)
    closed_at_end = body.endswith(GS)
    elements: list[Element] = []
    rest = body.rstrip(GS)
    while rest:
        es = _extract(rest)
        rest = rest[len(es) :]
        closed = rest.startswith(GS) or (not rest and closed_at_end)
        elements.append(Element(es, closed))
        rest = rest.lstrip(GS)
    return elements


def _extract(rest: str) -> GS1ElementString:
    ai = _ai_of(rest)
    try:
        return GS1ElementString.extract(rest)
    except (ParseError, ValueError):
        raise CodeParseError(_reason_for(ai.ai), {"ai": ai.ai, "data": rest[:30]}) from None


def _ai_of(data: str) -> GS1ApplicationIdentifier:
    try:
        return GS1ApplicationIdentifier.extract(data)
    except ParseError:
        raise CodeParseError("UNKNOWN_AI", {"at": data[:10]}) from None


def _reason_for(ai: str) -> str:
    return "BAD_DATE" if ai in DATE_AIS else "BAD_GS1_DATA"


def _hri(text: str) -> list[Element]:
    """``(01)...(17)...``; also ``{01}``, blanks between elements, stray GS."""
    hri = re.sub(r"\{([0-9]{2,4})\}", r"(\1)", text)
    hri = re.sub(r"\s+", "", hri).replace(GS, "")
    elements: list[Element] = []
    position = 0
    for match in re.finditer(r"\(([0-9]{2,4})\)([^()]*)", hri):
        if match.start() != position:
            break
        position = match.end()
        elements.append(Element(_hri_element(*match.groups()), True))
    if position != len(hri) or not elements:
        raise CodeParseError("BAD_GS1_DATA", {"problem": "HRI syntax", "at": hri[position:][:20]})
    return elements


def _hri_element(ai_code: str, data: str) -> GS1ElementString:
    if _ai_of(ai_code + data).ai != ai_code:
        raise CodeParseError("UNKNOWN_AI", {"ai": ai_code})
    try:
        return GS1ElementString.parse(ai_code + data)
    except (ParseError, ValueError):
        raise CodeParseError(_reason_for(ai_code), {"ai": ai_code, "data": data[:30]}) from None


def _digital_link(text: str) -> list[Element]:
    try:
        uri = GS1DigitalLinkURI.parse(text)
    except (ParseError, ValueError) as exc:
        found = _AI_IN_ERROR_RE.search(str(exc))
        if found and found.group(1) in DATE_AIS:
            raise CodeParseError("BAD_DATE", {"ai": found.group(1)}) from None
        raise CodeParseError("BAD_DIGITAL_LINK", {"error": str(exc)[:200]}) from None
    return [Element(es, True) for es in uri.element_strings]


# ------------------------------------------------------------------------- the result


def build(elements: list[Element], source: Input) -> ParsedCode:
    by_ai = _by_ai(elements)
    gtin = by_ai.get("01")
    if gtin is None:
        raise CodeParseError("MISSING_DI", {"ais": sorted(by_ai)})
    if not is_valid_gtin(gtin.value):
        raise CodeParseError("GTIN_CHECK_DIGIT", _gtin_detail(gtin.value))
    fields = _fields(by_ai)
    warnings = list(source.warnings)
    if "15" in by_ai:
        warnings.append("BEST_BEFORE_NOT_EXPIRY")
    if any(not el.closed and el.variable for el in elements[:-1]):
        warnings.append("GS_SEPARATOR_INFERRED")  # a field ended at its maximum length
    alternative = _alternative(elements, set(by_ai))
    if alternative is not None:
        warnings.append("POSSIBLE_MISSING_SEPARATOR")
        fields["extra"]["alternative"] = alternative
    return ParsedCode(
        issuer="gs1",
        raw=source.raw,
        symbology=source.symbology,
        warnings=tuple(dict.fromkeys(warnings)),
        **fields,
    )


def _by_ai(elements: list[Element]) -> dict[str, GS1ElementString]:
    by_ai: dict[str, GS1ElementString] = {}
    for el in elements:
        if not el.es.value:  # biip lets AI 30 and 7004 be empty
            raise CodeParseError("BAD_GS1_DATA", {"ai": el.ai, "problem": "empty value"})
        seen = by_ai.setdefault(el.ai, el.es)
        if seen.value != el.es.value:
            raise CodeParseError("DUPLICATE_AI", {"ai": el.ai, "values": [seen.value, el.es.value]})
    return by_ai


def _fields(by_ai: dict[str, GS1ElementString]) -> dict:
    def value(ai: str) -> str | None:
        es = by_ai.get(ai)
        return es.value if es else None

    def date(ai: str):
        es = by_ai.get(ai)
        return es.date if es else None

    extra = {f"ai_{ai}": _plain(es) for ai, es in by_ai.items() if ai not in MAPPED_AIS}
    return {
        "di": value("01"),
        "lot": value("10"),
        "serial": value("21"),
        "expiry": date("17"),
        "production_date": date("11"),
        "extra": extra,
    }


def _plain(es: GS1ElementString) -> str:
    if es.datetime is not None:
        return es.datetime.isoformat()
    if es.date is not None:
        return es.date.isoformat()
    return es.value


def _gtin_detail(value: str) -> dict:
    return {"gtin": value, "expected": gtin_check_digit(value[:-1]), "found": value[-1]}


# -------------------------------------------------------------- dropped separator check


def _alternative(elements: list[Element], present: set[str]) -> dict | None:
    best: tuple[tuple[int, int, int], list[Element]] | None = None
    for index, el in enumerate(elements):
        if el.closed or not el.variable:
            continue
        value = el.es.value
        for cut in range(1, len(value)):
            for tail in _readings(value[cut:], present):
                score = (sum(ai in DATE_AIS for ai, _ in tail), len(tail), cut)
                if best is None or score > best[0]:
                    head = GS1ElementString.parse(el.ai + value[:cut])
                    parts = [Element(head, True)]
                    parts += [Element(GS1ElementString.parse(a + v), True) for a, v in tail]
                    best = (score, [*elements[:index], *parts, *elements[index + 1 :]])
    if best is None:
        return None
    fields = _fields(_by_ai(best[1]))
    extra = fields.pop("extra")
    for key in ("expiry", "production_date"):
        fields[key] = fields[key].isoformat() if fields[key] else None
    return {**fields, **extra}


def _readings(data: str, used: set[str]):
    """Every way ``data`` reads entirely as UDI production AIs not in ``used``, each reading
    one that biip itself parses back as a complete message (see ``_parses_whole``)."""
    for elements in _splits(data, used):
        if _parses_whole(elements):
            yield elements


def _splits(data: str, used: set[str]):
    for ai in ALTERNATIVE_AIS:
        if ai in used or not data.startswith(ai):
            continue
        body = data[len(ai) :]
        for value in _values(ai, body):
            rest = body[len(value) :]
            if not rest:
                yield [(ai, value)]
            else:
                for more in _splits(rest, used | {ai}):
                    yield [(ai, value), *more]


def _values(ai: str, body: str) -> list[str]:
    """The values biip accepts for ``ai`` at the start of ``body``: a fixed-length field's one
    value (a real date for a date AI), or each prefix of the longest variable value."""
    try:
        longest = GS1ElementString.extract(ai + body).value
    except (ParseError, ValueError):
        return []  # too short, wrong length, an impossible date, a character GS1 refuses
    if ".." not in GS1ElementString.parse(ai + longest).ai.format:
        return [longest]
    return [longest[:length] for length in range(1, len(longest) + 1)]


def _parses_whole(elements: list[tuple[str, str]]) -> bool:
    """A real GS1 parse decides: the tail, written with its separators, is a valid element
    string that biip reads back as exactly these elements (no leftover, no bad date)."""
    text = GS.join(ai + value for ai, value in elements)
    try:
        message = GS1Message.parse(text)
    except (ParseError, ValueError):
        return False
    return [(es.ai.ai, es.value) for es in message.element_strings] == elements
