"""HIBC LIC reading for ``consumables.udi`` (ANSI/HIBC 2.6 as implemented by public parsers).

Forms: ``+`` primary (LIC 4, first a letter; PCN 1-18; unit of measure 1 digit) + mod-43
check; primary and secondary in one symbol, joined by ``/``, one check character at the end;
two linear symbols scanned back to back (or on two lines): each with its own check, the
secondary's second-last character being the primary's check (link character). The Code 39
``*`` start/stop of the human-readable line is dropped. HIBC data is upper-case only, so
lower case (a keyboard-wedge scanner with Caps Lock on) is upper-cased with ``CASE_NORMALISED``.

Secondary data: ``$`` lot; ``$$`` [8QQ | 9QQQQQ] date-flag lot, with date flags 0/1 (MMYY,
no flag digit), 2 MMDDYY, 3 YYMMDD, 4 YYMMDDHH, 5 YYJJJ, 6 YYJJJHH, 7 no date; ``$+`` and
``$$+`` the same with a serial; a leading digit is the old YYJJJ + lot form. Supplementary
segments: ``/S`` serial, ``/16D`` production date, ``/14D`` expiry (YYYYMMDD), ``/Q``
quantity; others are kept in ``extra["unknown_segments"]`` with ``HIBC_UNKNOWN_SEGMENT``.
An MMYY expiry becomes the month's last day (``extra["expiry_precision"] = "month"``); an
expiry hour goes to ``extra["expiry_hour"]``.
"""

from __future__ import annotations

import datetime as dt
import re

from ._udi_common import (
    HIBC_CHARSET,
    CodeParseError,
    Input,
    ParsedCode,
    hibc_check_char,
    last_day_of_month,
    make_date,
)

_PRIMARY_RE = re.compile(r"([A-Z][A-Z0-9]{3})([A-Z0-9]{1,18})([0-9])")
# date flag -> (length of the date after the flag, layout)
_DATE_FLAGS = {"2": (6, "MMDDYY"), "3": (6, "YYMMDD"), "4": (8, "YYMMDDHH"),
               "5": (5, "YYJJJ"), "6": (7, "YYJJJHH")}  # fmt: skip


def parse_hibc(source: Input) -> ParsedCode:
    warnings = list(source.warnings)
    text = source.text.removeprefix("*").removesuffix("*")
    if text != text.upper():
        warnings.append("CASE_NORMALISED")
        text = text.upper()
    bad = sorted({c for c in text if c not in HIBC_CHARSET})
    if bad:
        raise CodeParseError("BAD_CHARACTERS", {"characters": bad[:10], "issuer": "HIBC"})
    fields = _read(text, source.trailing_space and not source.text.endswith("*"))
    extra = fields.pop("extra")
    if extra.get("unknown_segments"):
        warnings.append("HIBC_UNKNOWN_SEGMENT")
    return ParsedCode(
        issuer="hibc",
        raw=source.raw,
        symbology=source.symbology,
        warnings=tuple(warnings),
        extra=extra,
        **fields,
    )


def _check_ok(line: str) -> bool:
    return len(line) >= 3 and hibc_check_char(line[:-1]) == line[-1]


def _read(text: str, trailing_space: bool) -> dict:
    """One symbol (with or without secondary data) or two linear lines."""
    error: CodeParseError | None = None
    if not _check_ok(text) and trailing_space and hibc_check_char(text) == " ":
        text += " "  # the check character was a space, trimmed with the blanks
    if _check_ok(text):
        try:
            return _one_symbol(text)
        except CodeParseError as exc:
            error = exc
    pairs = [(text[:i], text[i:]) for i in range(3, len(text) - 3) if text[i] == "+"]
    pairs = [(a, b) for a, b in pairs if a[1].isalpha() and _check_ok(a) and _check_ok(b)]
    linked = [(a, b) for a, b in pairs if b[-2] == a[-1]]
    if len(linked) == 1:
        return _two_lines(*linked[0])
    if len(linked) > 1:
        raise CodeParseError("AMBIGUOUS_SEPARATOR", {"issuer": "HIBC"})
    if pairs:
        raise CodeParseError("HIBC_LINK_CHAR", {"primary_check": pairs[0][0][-1]})
    if error is not None:
        raise error
    expected = hibc_check_char(text[:-1]) if len(text) > 1 else None
    raise CodeParseError("HIBC_CHECK_CHAR", {"expected": expected, "found": text[-1]})


def _one_symbol(text: str) -> dict:
    primary, *segments = text[1:-1].split("/")
    fields = _primary(primary)
    fields["extra"]["check_char"] = text[-1]
    _secondary(segments, fields)
    return fields


def _two_lines(first: str, second: str) -> dict:
    fields = _primary(first[1:-1])
    fields["extra"].update(
        primary_check_char=first[-1], link_char=second[-2], check_char=second[-1]
    )
    _secondary(second[1:-2].split("/"), fields)
    return fields


def _primary(data: str) -> dict:
    if not data[:1].isalpha():
        raise CodeParseError("MISSING_DI", {"issuer": "HIBC", "problem": "secondary data only"})
    match = _PRIMARY_RE.fullmatch(data)
    if not match:
        raise CodeParseError("BAD_HIBC_DATA", {"problem": "primary data", "data": data})
    lic, pcn, uom = match.groups()
    return {
        "di": data,
        "lot": None,
        "serial": None,
        "expiry": None,
        "production_date": None,
        "extra": {"lic": lic, "pcn": pcn, "uom": uom},
    }


def _set(fields: dict, name: str, value) -> None:
    target = fields if name in fields else fields["extra"]
    if target.get(name) is not None:
        raise CodeParseError("BAD_HIBC_DATA", {"problem": "repeated field", "field": name})
    target[name] = value


def _secondary(segments: list[str], fields: dict) -> None:
    for index, segment in enumerate(segments):
        if not segment:
            raise CodeParseError("BAD_HIBC_DATA", {"problem": "empty segment"})
        if segment.startswith("$"):
            _dollar(segment, fields)
        elif segment.startswith(("16D", "14D")):
            name = "production_date" if segment.startswith("16D") else "expiry"
            _set(fields, name, _date(segment[3:], "YYYYMMDD", fields)[0])
        elif segment.startswith("S"):
            _set(fields, "serial", segment[1:])
        elif segment.startswith("Q") and segment[1:].isdigit():
            _set(fields, "quantity", int(segment[1:]))
        elif index == 0 and segment[0].isdigit():  # old form: YYJJJ + lot
            _set(fields, "expiry", _date(segment[:5], "YYJJJ", fields)[0])
            _set(fields, "lot", segment[5:] or None)
        else:
            fields["extra"].setdefault("unknown_segments", []).append(segment)


def _dollar(segment: str, fields: dict) -> None:
    double = segment.startswith("$$")
    rest = segment[2:] if double else segment[1:]
    name = "lot"
    if rest.startswith("+"):
        name, rest = "serial", rest[1:]
    if double:
        rest = _quantity(rest, fields)
        rest = _flagged_expiry(rest, fields)
    _set(fields, name, rest or None)


def _quantity(rest: str, fields: dict) -> str:
    size = {"8": 2, "9": 5}.get(rest[:1])
    if size is None:
        return rest
    digits = rest[1 : 1 + size]
    if len(digits) != size or not digits.isdigit():
        raise CodeParseError("BAD_HIBC_DATA", {"problem": "quantity", "data": rest})
    _set(fields, "quantity", int(digits))
    return rest[1 + size :]


def _flagged_expiry(rest: str, fields: dict) -> str:
    flag = rest[:1]
    if flag in ("0", "1"):
        date, _ = _date(rest[:4], "MMYY", fields)
        _set(fields, "expiry", date)
        return rest[4:]
    if flag == "7":
        return rest[1:]
    if flag not in _DATE_FLAGS:
        raise CodeParseError("BAD_HIBC_DATA", {"problem": "date format flag", "data": rest[:10]})
    length, layout = _DATE_FLAGS[flag]
    date, hour = _date(rest[1 : 1 + length], layout, fields)
    _set(fields, "expiry", date)
    if hour is not None:
        fields["extra"]["expiry_hour"] = hour
    return rest[1 + length :]


def _date(value: str, layout: str, fields: dict) -> tuple[dt.date, int | None]:
    """HIBC dates: two-digit years are 20YY; JJJ is the day of the year."""
    detail = {"issuer": "HIBC", "layout": layout, "value": value}
    if len(value) != len(layout) or not value.isdigit():
        raise CodeParseError("BAD_DATE", detail)

    def take(key: str) -> int:
        at = layout.index(key)
        return int(value[at : at + len(key)])

    year = take("YYYY") if "YYYY" in layout else 2000 + take("YY")
    hour = take("HH") if "HH" in layout else None
    if hour is not None and hour > 23:
        raise CodeParseError("BAD_DATE", detail)
    if layout == "MMYY":
        fields["extra"]["expiry_precision"] = "month"
        return last_day_of_month(year, take("MM"), detail), None
    if "JJJ" in layout:
        day_of_year = take("JJJ")
        date = make_date(year, 1, 1, detail) + dt.timedelta(days=day_of_year - 1)
        if day_of_year < 1 or date.year != year:
            raise CodeParseError("BAD_DATE", detail)
        return date, hour
    return make_date(year, take("MM"), take("DD"), detail), hour
