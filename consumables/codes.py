"""Validation of the hospital-side codes (pure functions, no database).

National insurance consumable code (国家医保医用耗材分类与代码):
- 20 characters: ``C`` + 6-digit category + 3-digit generic name + 5-digit feature
  + 5-digit manufacturer (NHSA coding rules, 2020);
- 27 characters: the same 20 followed by a 7-digit specification/model serial, the form the
  national database shows per product (医保耗材编码 27 位 = 20 位 + 7 位流水号).
Both are accepted; anything else is refused.
"""

import re

INSURANCE_CODE_RE = re.compile(r"^C\d{19}(\d{7})?$")
HOSPITAL_CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._\-/]{0,63}$")


def normalise_code(value: str | None) -> str | None:
    """Strip whitespace; empty means no code (NULL, so uniqueness ignores it)."""
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def is_valid_insurance_code(value: str) -> bool:
    return bool(INSURANCE_CODE_RE.fullmatch(value))


def is_valid_hospital_code(value: str) -> bool:
    return bool(HOSPITAL_CODE_RE.fullmatch(value))


def insurance_code_parts(value: str) -> dict:
    """Split a valid insurance code into its documented parts."""
    parts = {
        "category": value[1:7],
        "generic_name": value[7:10],
        "feature": value[10:15],
        "manufacturer": value[15:20],
    }
    if len(value) == 27:
        parts["specification"] = value[20:27]
    return parts
