"""Reading scanned or typed codes: UDI (GS1, HIBC, MA, AHM), in-hospital labels, plain codes.

Pure functions: no database, no Django. ``parse_code`` is the one entry point; it returns a
``ParsedCode`` or raises ``CodeParseError`` (code ``UNREADABLE_CODE``), never anything else.
The issuer-specific parsers live in ``_udi_gs1``, ``_udi_hibc`` and ``_udi_ma`` (MA and AHM);
the types they share are ``_udi_common``'s, re-exported here.
"""

from __future__ import annotations

import re

from . import _udi_gs1, _udi_hibc, _udi_ma
from ._udi_common import (
    GS,
    MESSAGES,
    CodeParseError,
    Input,
    ParsedCode,
    gtin_check_digit,
    hibc_check_char,
    is_valid_gtin,
)

__all__ = [
    "MESSAGES",
    "CodeParseError",
    "ParsedCode",
    "gtin_check_digit",
    "hibc_check_char",
    "is_hospital_label",
    "make_hospital_label",
    "parse_code",
]








# ---------------------------------------------------------------------------- check digits









# ------------------------------------------------------------------ in-hospital labels (院内码)

HOSPITAL_PREFIX = "YN"
HOSPITAL_SEQUENCE_DIGITS = 11
_HOSPITAL_RE = re.compile(r"YN[0-9]{12}")


def make_hospital_label(sequence: int) -> str:
    """``YN`` + 11-digit zero-padded sequence + GS1 mod-10 check digit (14 characters)."""
    if isinstance(sequence, bool) or not isinstance(sequence, int):
        raise TypeError("sequence must be an int")
    if not 0 < sequence < 10**HOSPITAL_SEQUENCE_DIGITS:
        raise ValueError(f"sequence must be 1..{10**HOSPITAL_SEQUENCE_DIGITS - 1}")
    body = f"{sequence:0{HOSPITAL_SEQUENCE_DIGITS}d}"
    return f"{HOSPITAL_PREFIX}{body}{gtin_check_digit(body)}"


def is_hospital_label(text: str) -> bool:
    """True for a well-formed label with a correct check digit (surrounding blanks and case
    are ignored, as in ``parse_code``)."""
    if not isinstance(text, str):
        return False
    label = text.strip().upper()
    return bool(_HOSPITAL_RE.fullmatch(label)) and gtin_check_digit(label[2:13]) == label[13]


# ------------------------------------------------------------------------- shared helpers








# ----------------------------------------------------------------------- input clean-up

MAX_LENGTH = 512
MAX_INTERNAL_LENGTH = 64
_TRIM = " \t\r\n\v\f\u3000\xa0"  # not GS: a leading/trailing GS is meaningful for GS1
_SYMBOLOGY_RE = re.compile(r"\][A-Za-z][0-9A-Za-z]")
GS1_SYMBOLOGIES = {"]C1", "]e0", "]e1", "]e2", "]d2", "]Q3", "]J1"}
GTIN_SYMBOLOGIES = {"]E0", "]E4"}
# Stand-ins for GS/FNC1 seen in practice. None of their characters is in GS1 CSET 82 except
# "<GS>", so replacing them cannot damage GS1 data:
#  <GS>   zxing-cpp text mode for non-GS1 symbols; printer entry syntax (Domino manual p.64);
#         IDAutomation's decoder shows separators this way.
#  {GS}   a template notation (asked for by our brief; no public specification found).
#  ^]     how a terminal shows Ctrl+], which keyboard-wedge (USB-HID) scanners type for GS
#         (Opticon MDI-4100 manual p.68: "GS characters are transmitted as <CTRL>]").
#  \x1d, \u001d   escaped GS copied from logs/JSON (e.g. FHIR/FSH examples).
#  ~1     IDAutomation "ApplyTilde": "~1 may be used to encode GS1 Application Identifiers ...
#         in Data Matrix" (idautomation.com/barcode-properties/definitions/apply-tilde.html);
#         label data typed from such software.
#  ↔ U+2194   HL7 FHIR Device example-udi1 carrierAIDC renders FNC1/GS this way.
#  ␝ U+241D   "SYMBOL FOR GROUP SEPARATOR", what some viewers paste.
_GS_SUBSTITUTE_RE = re.compile(r"<GS>|\{GS\}|\^\]|\\x1d|\\u001d|~1|\u2194|\u241d", re.IGNORECASE)
_URL_RE = re.compile(r"https?://", re.IGNORECASE)
_INTERNAL_RE = re.compile(r"[A-Za-z0-9\-_./]+")
_AHM_RE = re.compile(r"MF[0-9]{1,13}(?:BA|BN|SN|MD|BD|ED|PL)")


def _refuse_characters(text: str) -> None:
    bad = sorted({c for c in text if not (" " <= c <= "~" or c == GS)})
    if bad:
        shown = [f"U+{ord(c):04X}" for c in bad[:10]]
        raise CodeParseError("BAD_CHARACTERS", {"characters": shown})


def _refuse_out_of_scope(text: str) -> None:
    """ISBT 128 (blood, tissue: data identifiers start with = or &) and ISO/IEC 15434
    envelopes (``[)>`` RS ...) are recognised but not read."""
    if text.startswith(("=", "&")):
        raise CodeParseError("UNSUPPORTED_ISSUER", {"issuer": "ICCBBA", "standard": "ISBT 128"})
    if text.startswith("[)>"):
        raise CodeParseError("UNSUPPORTED_ISSUER", {"standard": "ISO/IEC 15434"})


def _fullwidth_to_ascii(text: str) -> str:
    """Full-width ASCII (a Chinese input method left on) -> ASCII."""
    return "".join(
        chr(ord(c) - 0xFEE0) if "\uff01" <= c <= "\uff5e" else (" " if c == "\u3000" else c)
        for c in text
    )


def _join_lines(text: str) -> str:
    """Two linear HIBC symbols scanned one after the other arrive as two lines."""
    lines = [line for line in re.split(r"[\r\n\t]+", text) if line]
    if len(lines) > 1 and all(line.startswith("+") for line in lines):
        return "".join(lines)
    raise CodeParseError("BAD_CHARACTERS", {"characters": ["line break or tab inside the code"]})




def _clean(raw: object) -> Input:
    if not isinstance(raw, str):
        raise CodeParseError("NOT_TEXT", {"type": type(raw).__name__})
    text = raw.strip(_TRIM)
    if not text:
        raise CodeParseError("EMPTY")
    if len(text) > MAX_LENGTH:
        raise CodeParseError("TOO_LONG", {"length": len(text), "max_length": MAX_LENGTH})
    warnings: list[str] = []
    ascii_text = _fullwidth_to_ascii(text)
    if ascii_text != text:
        warnings.append("FULLWIDTH_NORMALISED")
        text = ascii_text.strip(_TRIM)
    if re.search(r"[\r\n\t]", text):
        text = _join_lines(text)
    symbology = None
    match = _SYMBOLOGY_RE.match(text)
    if match:
        symbology, text = match.group(), text[match.end() :]
    if not _URL_RE.match(text):
        substituted = _GS_SUBSTITUTE_RE.sub(GS, text)
        if substituted != text:
            warnings.append("GS_SUBSTITUTE_NORMALISED")
            text = substituted
    _refuse_out_of_scope(text)
    _refuse_characters(text)
    if not text.strip(GS):
        raise CodeParseError("EMPTY", {"symbology": symbology} if symbology else None)
    trailing_space = raw.rstrip("\r\n\t").endswith(" ")
    return Input(raw, text, symbology, warnings, trailing_space)


# ------------------------------------------------------------------------------ dispatch


def parse_code(text: str) -> ParsedCode:
    """Read one scanned or typed code. Raises ``CodeParseError`` only.

    Accepted forms, tried in this order (surrounding blanks, Enter and Tab are trimmed):

    - an AIM symbology prefix (``]d2``, ``]C1``, ``]Q3``, ``]e0``, ``]d1``, ``]C0``, ...) is
      recorded in ``symbology``; GS1 ones force the GS1 reading, ``]E0``/``]E4`` a GTIN;
    - ISBT 128 (``=``/``&`` data identifiers) and ISO/IEC 15434 envelopes: refused,
      ``UNSUPPORTED_ISSUER``;
    - GS1: raw element strings (ASCII 29, leading/trailing GS, GS substitutes such as
      ``<GS>``, ``^]``, ``↔``, ``~1`` -> warning ``GS_SUBSTITUTE_NORMALISED``), HRI with
      ``(01)`` or ``{01}`` and blanks, Digital Link URLs on any host, a bare GTIN-8/12/13/14.
      A wrong GTIN check digit in an element string is refused; a bare 8/12/13/14-digit
      number with a wrong check digit is returned as ``internal`` with ``NOT_A_VALID_GTIN``
      (it may be a hospital code). AI 15 (best before) is not an expiry: ``extra["ai_15"]``.
      A variable field that may have swallowed a dropped separator keeps the strict reading
      and gets ``POSSIBLE_MISSING_SEPARATOR`` with ``extra["alternative"]``;
    - HIBC (``+...``, also ``*+...*`` and two linear lines), mod-43 check verified;
    - MA (IDcode) ``MA.156.M0.<registrant>.<product>[.L..][.S..]...``: the check
      characters are kept but cannot be verified (``MA_CHECK_NOT_VERIFIED``); the package
      digit must be a digit, so the published template ``N123456Y`` is refused; anything
      else starting ``MA.`` (a truncated read) is refused, never an internal code;
    - AHM ``MF<digits>`` followed by BA/BN/SN/MD/BD/ED/PL units: structure unverified
      (``AHM_STRUCTURE_UNVERIFIED``); anything else starting with MF is ordinary text;
    - in-hospital label ``YN`` + 11 digits + check digit (case-insensitive);
    - anything else made of ``A-Z a-z 0-9 - _ . /`` (up to 64) is ``internal``: the caller
      looks it up among the hospital's codes (material, charge, order, insurance ``C...``).
    """
    try:
        return _parse(text)
    except CodeParseError:
        raise
    except Exception as exc:  # last-resort guard: the contract is CodeParseError only
        raise CodeParseError("INTERNAL_ERROR", {"error": type(exc).__name__}) from exc


def _parse(raw: object) -> ParsedCode:

    source = _clean(raw)
    text, symbology = source.text, source.symbology

    if symbology in GTIN_SYMBOLOGIES:
        return _udi_gs1.parse_bare_gtin(source)
    if (
        symbology in GS1_SYMBOLOGIES
        or GS in text
        or text.startswith(("(", "{"))
        or _URL_RE.match(text)
    ):
        return _udi_gs1.parse_gs1(source)
    if text.startswith(("+", "*+")):
        return _udi_hibc.parse_hibc(source)
    if _udi_ma.is_ma(text):
        return _udi_ma.parse_ma(source)
    if _AHM_RE.match(text):
        found = _udi_ma.parse_ahm(source)
        if found is not None:
            return found
        if not _INTERNAL_RE.fullmatch(text):
            raise CodeParseError("UNSUPPORTED_ISSUER", {"issuer": "AHM", "problem": "structure"})
    if _HOSPITAL_RE.fullmatch(text.upper()):
        return _parse_hospital_label(source)
    if re.fullmatch(r"[0-9]+( +[0-9]+)*", text):
        return _parse_digits(source)
    if re.match(r"01[0-9]{14}.", text):
        return _udi_gs1.parse_gs1(source)
    found = _udi_gs1.parse_gs1_if_plausible(source)
    if found is not None:
        return found
    return _parse_internal(source)


def _parse_hospital_label(source: Input) -> ParsedCode:
    label = source.text.upper()
    expected = gtin_check_digit(label[2:13])
    if label[13] != expected:
        raise CodeParseError(
            "HOSPITAL_LABEL_CHECK", {"label": label, "expected": expected, "found": label[13]}
        )
    return ParsedCode(
        issuer="hospital",
        raw=source.raw,
        di=label,
        serial=label,
        symbology=source.symbology,
        warnings=tuple(source.warnings),
    )


def _parse_digits(source: Input) -> ParsedCode:
    """Digits only: a GTIN, a GS1 element string starting with (01), or a hospital code."""
    from . import _udi_gs1

    digits = source.text.replace(" ", "")
    if digits != source.text:
        source.warnings.append("WHITESPACE_REMOVED")
        source.text = digits
    if len(digits) in (8, 12, 13, 14):
        if is_valid_gtin(digits):
            return _udi_gs1.parse_bare_gtin(source)
        source.warnings.append("NOT_A_VALID_GTIN")
    elif len(digits) == 16 and digits.startswith("01"):
        if is_valid_gtin(digits[2:]):
            return _udi_gs1.parse_gs1(source)
        source.warnings.append("NOT_A_VALID_GTIN")
    elif len(digits) > 16 and digits.startswith("01"):
        return _udi_gs1.parse_gs1(source)
    return _udi_gs1.parse_gs1_if_plausible(source) or _parse_internal(source)


def _parse_internal(source: Input) -> ParsedCode:
    text = source.text
    if not _INTERNAL_RE.fullmatch(text):
        bad = sorted({c for c in text if not _INTERNAL_RE.fullmatch(c)})
        raise CodeParseError("BAD_CHARACTERS", {"characters": bad[:10]})
    if not re.search(r"[A-Za-z0-9]", text):
        raise CodeParseError("UNRECOGNISED_FORMAT", {"text": text})
    if len(text) > MAX_INTERNAL_LENGTH:
        raise CodeParseError("TOO_LONG", {"length": len(text), "max_length": MAX_INTERNAL_LENGTH})
    return ParsedCode(
        issuer="internal",
        raw=source.raw,
        symbology=source.symbology,
        text=text,
        warnings=tuple(source.warnings),
    )
