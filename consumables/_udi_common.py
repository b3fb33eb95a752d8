"""What the code parsers share: the parsed result, the refusal, the cleaned input and the
check characters and dates every issuer uses. ``consumables.udi`` is the entry point;
``_udi_gs1``, ``_udi_hibc`` and ``_udi_ma`` build on this module, not on ``udi``."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field

GS = "\x1d"


# Reason -> message (Chinese first, then English). Reasons are stable machine codes.
MESSAGES = {
    "NOT_TEXT": "条码内容不是文本 / The code is not text",
    "EMPTY": "条码内容为空 / The code is empty",
    "TOO_LONG": "条码内容过长 / The code is too long",
    "BAD_CHARACTERS": "条码含有无法识别的字符 / The code contains characters that cannot be read",
    "UNRECOGNISED_FORMAT": "无法识别的条码格式 / The code format is not recognised",
    "GTIN_CHECK_DIGIT": "GTIN 校验位错误 / GTIN check digit is wrong",
    "BAD_DATE": "条码中的日期无效 / A date in the code is invalid",
    "UNKNOWN_AI": "无法识别的 GS1 应用标识符 / Unknown GS1 application identifier",
    "BAD_GS1_DATA": "GS1 数据格式错误 / The GS1 data is malformed",
    "DUPLICATE_AI": "GS1 应用标识符重复且取值不同 / A GS1 AI repeats with different values",
    "MISSING_DI": (
        "条码中没有产品标识（DI），请扫描含 DI 的条码 / "
        "The code carries no device identifier (DI); scan the barcode that carries it"
    ),
    "BAD_DIGITAL_LINK": "无法解析 GS1 数字链接网址 / The GS1 Digital Link URL cannot be read",
    "HIBC_CHECK_CHAR": "HIBC 校验字符错误 / HIBC check character is wrong",
    "HIBC_LINK_CHAR": (
        "HIBC 次条码与主条码不匹配（链接字符） / "
        "The HIBC secondary line does not belong to the primary line (link character)"
    ),
    "BAD_HIBC_DATA": "HIBC 数据格式错误 / The HIBC data is malformed",
    "AMBIGUOUS_SEPARATOR": "条码分段有歧义，无法确定 / The code can be split in several ways",
    "MA_BAD_DI": "MA 码（IDcode）产品标识格式错误 / The MA (IDcode) device identifier is malformed",
    "MA_BAD_UNIT": "MA 码（IDcode）生产标识格式错误 / An MA (IDcode) production unit is malformed",
    "MA_UNKNOWN_UNIT": "MA 码（IDcode）含未知生产标识 / Unknown MA (IDcode) production unit",
    "MA_DUPLICATE_UNIT": "MA 码（IDcode）生产标识重复 / An MA (IDcode) production unit repeats",
    "UNSUPPORTED_ISSUER": "不支持的编码体系 / This coding system is not supported",
    "HOSPITAL_LABEL_CHECK": "院内码校验位错误 / In-hospital label check digit is wrong",
    "INTERNAL_ERROR": "条码解析出现意外错误 / Unexpected error while reading the code",
}


class CodeParseError(Exception):
    """The code cannot be read. ``code`` is always ``UNREADABLE_CODE``; ``reason`` says why."""

    code = "UNREADABLE_CODE"

    def __init__(self, reason: str, detail: dict | None = None, message: str | None = None):
        self.reason = reason
        self.message = message or MESSAGES.get(reason, MESSAGES["INTERNAL_ERROR"])
        self.detail = detail or {}
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"CodeParseError({self.reason!r}, {self.detail!r})"


@dataclass(frozen=True)
class ParsedCode:
    """What a code says. ``di``: GTIN-14 (gs1), ``MA.156.M0.<registrant>.<product>`` (ma),
    ``MF<digits>`` (ahm), LIC+PCN+UoM (hibc), the label (hospital), None (internal, whose
    cleaned text is in ``text``). ``expiry`` is GS1 AI 17 / MA ``.E`` / HIBC expiry only.
    ``warnings`` are stable codes; ``extra`` is JSON-serialisable (other AIs as ``ai_<n>``,
    MA/HIBC details, ``alternative`` for a possibly dropped GS1 separator)."""

    issuer: str  # "gs1" | "ma" | "ahm" | "hibc" | "hospital" | "internal"
    raw: str
    di: str | None = None
    lot: str | None = None
    serial: str | None = None
    expiry: dt.date | None = None
    production_date: dt.date | None = None
    symbology: str | None = None
    text: str | None = None
    warnings: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict, hash=False)


HIBC_CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%"


def gtin_check_digit(body: str) -> str:
    """GS1 mod-10 check digit of ``body`` (all digits before the check digit).

    From the right, weights 3, 1, 3, 1 ...; check = (10 - sum % 10) % 10.
    """
    if not isinstance(body, str) or not re.fullmatch(r"[0-9]+", body):
        raise ValueError(f"GTIN body must be ASCII digits, got {body!r}")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def is_valid_gtin(value: str) -> bool:
    """8, 12, 13 or 14 ASCII digits with a correct check digit."""
    if not re.fullmatch(r"[0-9]{8}|[0-9]{12,14}", value):
        return False
    return gtin_check_digit(value[:-1]) == value[-1]


def hibc_check_char(data: str) -> str:
    """HIBC mod-43 check character of ``data`` (from the leading ``+``, AIM prefix excluded)."""
    if not isinstance(data, str) or any(c not in HIBC_CHARSET for c in data):
        raise ValueError(f"HIBC data may only contain {HIBC_CHARSET!r}, got {data!r}")
    return HIBC_CHARSET[sum(HIBC_CHARSET.index(c) for c in data) % 43]


def make_date(year: int, month: int, day: int, detail: dict) -> dt.date:
    """A date, or CodeParseError BAD_DATE. Day 0 is refused here (GS1 handles it itself)."""
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise CodeParseError("BAD_DATE", detail) from None


def last_day_of_month(year: int, month: int, detail: dict) -> dt.date:
    if not 1 <= month <= 12 or not 1 <= year <= 9999:
        raise CodeParseError("BAD_DATE", detail)
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def yymmdd(value: str, detail: dict) -> dt.date:
    """YYMMDD (20YY) or YYYYMMDD, as used by MA and AHM."""
    if re.fullmatch(r"[0-9]{6}", value):
        return make_date(2000 + int(value[:2]), int(value[2:4]), int(value[4:6]), detail)
    if re.fullmatch(r"[0-9]{8}", value):
        return make_date(int(value[:4]), int(value[4:6]), int(value[6:8]), detail)
    raise CodeParseError("BAD_DATE", detail)


@dataclass
class Input:
    """The cleaned input handed to the issuer parsers."""

    raw: str
    text: str
    symbology: str | None
    warnings: list[str]
    trailing_space: bool = False  # a HIBC check character may be a space
