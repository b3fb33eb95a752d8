"""China's own issuers for ``consumables.udi``: MA (IDcode, 中国物品编码中心) and AHM (阿里健康).

MA: ``MA.<country 3 digits>.<industry, e.g. M0>.<registrant 6 digits>.<product>`` then PI
units ``.L`` lot, ``.S`` serial, ``.M`` production date (``.P`` before 2020-08-20), ``.D``
sterilisation lot, ``.V`` validity date, ``.E`` expiry, ``.C`` PI check, ``.Y`` insurance
code (seen in one parser only). Dates are YYMMDD (20YY) or YYYYMMDD. The product segment is
package level (one digit 0-9, as the IDcode platform's own API validates "包装规格值为0-9")
+ item code (6-10 characters, may be lower case) + DI check character; other lengths are
accepted with ``MA_PRODUCT_CODE_NONSTANDARD``. No check-character algorithm could be
confirmed from public sources, so check characters are kept in ``extra`` and never verified
(``MA_CHECK_NOT_VERIFIED``). The ``MA`` prefix and unit letters are case-insensitive.

AHM: UNVERIFIED. No real AHM string is public; the two structure claims disagree. We read
``MF`` + DI digits (1-13) followed only by units ``BA``/``BN`` lot, ``SN`` serial (each up
to the next ``*`` or the end), ``MD`` production date, ``ED`` expiry, ``BD`` 保质日期
(``extra["ahm_bd"]``) - all YYMMDD - and ``PL`` package level (1 digit). The DI keeps its
``MF`` prefix. Anything else returns None (the caller decides). Successes carry
``AHM_STRUCTURE_UNVERIFIED``.
"""

from __future__ import annotations

import re

from ._udi_common import CodeParseError, Input, ParsedCode, yymmdd

_MA_DI_RE = re.compile(r"MA\.([0-9]{3})\.([A-Z][0-9])\.([0-9]{6})\.([0-9A-Za-z]+)", re.I)
_MA_VALUE_RE = re.compile(r"[0-9A-Za-z_\-]+")
_MA_UNITS = {
    "L": "lot",
    "S": "serial",
    "M": "production_date",
    "P": "production_date",
    "D": "sterilization_lot",
    "V": "validity_date",
    "E": "expiry",
    "C": "pi_check",
    "Y": "insurance_code",
}
_MA_DATES = {"production_date", "expiry", "validity_date"}
_MAIN_FIELDS = ("lot", "serial", "production_date", "expiry")


def is_ma(text: str) -> bool:
    """Whether ``text`` claims to be MA: ``MA.`` and anything. A read cut short (``MA.``,
    ``MA.15``) or broken after the prefix must be refused as unreadable so the nurse
    rescans; taken as an internal code it would find no consumable (UNKNOWN_CODE: "call
    procurement")."""
    return text[:3].upper() == "MA."


def parse_ma(source: Input) -> ParsedCode:
    parts = source.text.split(".")
    di, extra, warnings = _ma_di(".".join(parts[:5]))
    values: dict = {}
    for unit in parts[5:]:
        name, value = _ma_unit(unit)
        if name in values:
            raise CodeParseError("MA_DUPLICATE_UNIT", {"unit": unit, "field": name})
        values[name] = value
    for name, value in values.items():
        if name not in _MAIN_FIELDS:
            extra[name] = value.isoformat() if name in _MA_DATES else value
    return ParsedCode(
        issuer="ma",
        raw=source.raw,
        di=di,
        symbology=source.symbology,
        warnings=tuple([*source.warnings, *warnings]),
        extra=extra,
        **{k: values.get(k) for k in _MAIN_FIELDS},
    )


def _ma_di(text: str) -> tuple[str, dict, list[str]]:
    match = _MA_DI_RE.fullmatch(text)
    if not match:
        raise CodeParseError("MA_BAD_DI", {"di": text[:60]})
    country, industry, registrant, product = match.groups()
    if not product[0].isdigit() or len(product) < 3:
        raise CodeParseError(
            "MA_BAD_DI", {"di": text, "problem": "package level must be a digit 0-9"}
        )
    warnings = ["MA_CHECK_NOT_VERIFIED"]
    if not 8 <= len(product) <= 12:
        warnings.append("MA_PRODUCT_CODE_NONSTANDARD")
    extra = {
        "country_code": country,
        "industry_code": industry.upper(),
        "registrant": registrant,
        "package_level": product[0],
        "item_code": product[1:-1],
        "di_check": product[-1],
    }
    return f"MA.{country}.{industry.upper()}.{registrant}.{product}", extra, warnings


def _ma_unit(unit: str):
    tag, value = unit[:1].upper(), unit[1:]
    if not unit:
        raise CodeParseError("MA_BAD_UNIT", {"unit": ""})
    if tag not in _MA_UNITS:
        raise CodeParseError("MA_UNKNOWN_UNIT", {"unit": unit[:30]})
    if not _MA_VALUE_RE.fullmatch(value):
        raise CodeParseError("MA_BAD_UNIT", {"unit": unit[:30]})
    name = _MA_UNITS[tag]
    if name in _MA_DATES:
        return name, yymmdd(value, {"issuer": "MA", "unit": unit})
    return name, value


# ---------------------------------------------------------------------------------- AHM

_AHM_DI_RE = re.compile(r"MF[0-9]{1,13}")
_AHM_VARIABLE = {"BA": "lot", "BN": "lot", "SN": "serial"}
_AHM_DATES = {"MD": "production_date", "ED": "expiry", "BD": "ahm_bd"}
_AHM_FIXED_TAIL_RE = re.compile(r"(?:(?:MD|BD|ED)[0-9]{6}|PL[0-9])+")


def parse_ahm(source: Input) -> ParsedCode | None:
    text = source.text
    di = _AHM_DI_RE.match(text)
    if di is None:
        return None
    units = _ahm_units(text[di.end() :])
    if not units:
        return None
    values: dict = {}
    for tag, value in units:
        if tag in _AHM_DATES:
            name = _AHM_DATES[tag]
            value = yymmdd(value, {"issuer": "AHM", "unit": tag + value})
        else:
            name = _AHM_VARIABLE.get(tag, "package_level")
        if name in values:
            return None
        values[name] = value
    extra = {name: value for name, value in values.items() if name not in _MAIN_FIELDS}
    if "ahm_bd" in extra:
        extra["ahm_bd"] = extra["ahm_bd"].isoformat()
    return ParsedCode(
        issuer="ahm",
        raw=source.raw,
        di=di.group(),
        symbology=source.symbology,
        warnings=tuple([*source.warnings, "AHM_STRUCTURE_UNVERIFIED"]),
        extra=extra,
        **{k: values.get(k) for k in _MAIN_FIELDS},
    )


def _ahm_units(rest: str) -> list[tuple[str, str]] | None:
    units = []
    position = 0
    while position < len(rest):
        tag = rest[position : position + 2]
        start = position + 2
        if tag in _AHM_DATES or tag == "PL":
            end = start + (1 if tag == "PL" else 6)
            value = rest[start:end]
            if len(value) != end - start or not value.isdigit():
                return None
            position = end + (rest[end : end + 1] == "*")
        elif tag in _AHM_VARIABLE:
            end = _variable_end(rest, start)
            value = rest[start:end]
            if not re.fullmatch(r"[0-9A-Za-z]+", value):
                return None
            position = end + (rest[end : end + 1] == "*")
        else:
            return None
        units.append((tag, value))
    return units


def _variable_end(rest: str, start: int) -> int:
    """A lot or serial ends at ``*``, else where only fixed-length units follow, else at the end."""
    star = rest.find("*", start)
    if star != -1:
        return star
    for end in range(start + 1, len(rest)):
        if _AHM_FIXED_TAIL_RE.fullmatch(rest, end):
            return end
    return len(rest)
