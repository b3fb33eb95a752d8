"""统一社会信用代码 (GB 32100-2015), the check every entrance of a supplier makes: 18
characters of a 31-character alphabet (digits and capitals without I, O, S, V, Z), the 18th a
check character over the first 17 (weights 3^i mod 31, check = 31 - sum mod 31)."""

from __future__ import annotations

import re

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
CREDIT_CODE_RE = re.compile(rf"^[{CREDIT_CODE_ALPHABET}]{{18}}$")


def credit_code_check_char(first17: str) -> str:
    """The GB 32100 check character of the first 17 characters of a credit code."""
    total = sum(
        CREDIT_CODE_ALPHABET.index(c) * w
        for c, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def credit_code_problem(value: str) -> tuple[str, str] | None:
    """(Chinese, English) of what is wrong with the credit code ``value``, or None."""
    if not CREDIT_CODE_RE.fullmatch(value):
        return (
            f"统一社会信用代码「{value}」应为 18 位数字或大写字母（不含 I、O、S、V、Z）",
            f"credit code '{value}' must be 18 digits or capital letters (no I, O, S, V, Z)",
        )
    expected = credit_code_check_char(value[:17])
    if value[17] != expected:
        return (
            f"统一社会信用代码「{value}」校验位错误（应为 {expected}），请核对是否抄错",
            f"credit code '{value}' fails its check character (expected {expected}): "
            "check it for a typing error",
        )
    return None
