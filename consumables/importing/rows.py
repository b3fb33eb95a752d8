"""One row of consumables.csv, checked on its own (no database): normalised values or errors.

Empty cells mean "not given": on a new consumable the field takes its default, on an existing
one it keeps its stored value (an import never erases a code or a description). The one
exception is ``vbp_price``: a present but empty VBP column means "not in a volume-procurement
programme" (docs/contract.md), see ``master.py``; and an item leaving the ``restricted``
insurance class loses its restriction (the condition of a class it no longer has).

``insurance_class`` is ``covered`` (the default), ``self_pay`` or ``restricted``; a restricted
item needs ``restriction``, the 限定支付 condition in words (checked in ``master.py`` against
the stored values).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from consumables.codes import is_valid_hospital_code, is_valid_insurance_code
from consumables.models import Consumable, DeviceIdentifier
from consumables.udi import CodeParseError, parse_code

from .report import RowError, row_error

CODE_FIELDS = ("charge_code", "order_code", "insurance_code")
TEXT_FIELDS = ("name", "spec", "unit", "manufacturer", "registration_no", "category")
CHOICE_FIELDS = {
    "value_class": Consumable.ValueClass,
    "tracking": Consumable.Tracking,
    "billed_by": Consumable.BilledBy,
    "insurance_class": Consumable.InsuranceClass,
}
CHOICE_VALUES = {name: frozenset(choices.values) for name, choices in CHOICE_FIELDS.items()}
# Fields of the consumable itself, in the order they are checked and reported.
CONSUMABLE_FIELDS = (
    *TEXT_FIELDS, *CHOICE_FIELDS, "chargeable", *CODE_FIELDS, "insurance_restriction",
)  # fmt: skip
# The 限定支付 condition: column ``restriction`` (or the field's own name).
RESTRICTION_COLUMNS = ("restriction", "insurance_restriction")
RESTRICTED = str(Consumable.InsuranceClass.RESTRICTED)
EXTERNAL_PRICE_FIELDS = ("platform_price", "vbp_price")
HOSPITAL_PRICE_FIELDS = ("purchase_price", "charge_price")
PRICE_FIELDS = (*EXTERNAL_PRICE_FIELDS, *HOSPITAL_PRICE_FIELDS)
REQUIRED_COLUMNS = ("material_code", "name")
DI_ISSUERS = {choice.value for choice in DeviceIdentifier.Issuer}

TRUE_WORDS = {"1", "true", "yes", "y", "是"}
FALSE_WORDS = {"0", "false", "no", "n", "否"}
PRICE_RE = re.compile(r"^\d+(\.\d+)?$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PRICE_PLACES = Decimal("0.0001")
PRICE_LIMIT = Decimal(10) ** 10  # max_digits=14, decimal_places=4
MAX_UNITS = 2_147_483_647


TEXT_LIMITS = {name: Consumable._meta.get_field(name).max_length for name in TEXT_FIELDS}
RESTRICTION_LIMIT = Consumable._meta.get_field("insurance_restriction").max_length
PACKAGE_LEVEL_LIMIT = DeviceIdentifier._meta.get_field("package_level").max_length


@dataclass
class ParsedRow:
    line: int
    material_code: str
    values: dict[str, object] = field(default_factory=dict)  # given consumable fields
    udi_di: str | None = None
    issuer: str | None = None
    units_per_package: int | None = None
    package_level: str | None = None
    prices: dict[str, Decimal] = field(default_factory=dict)  # given prices
    vbp_present_empty: bool = False
    effective_date: dt.date | None = None
    errors: list[RowError] = field(default_factory=list)

    def error(self, code: str, zh: str, en: str) -> None:
        self.errors.append(row_error(self.line, code, zh, en))


def parse_row(line: int, raw: dict[str, str]) -> ParsedRow:
    """Check one row on its own; every problem found is reported, not only the first."""
    raw = {k: ("" if v is None else str(v).strip()) for k, v in raw.items()}
    row = ParsedRow(line=line, material_code=raw.get("material_code", ""))
    if not row.material_code:
        row.error("VALIDATION_ERROR", "物资编码必填", "material_code is required")
    else:
        _check_material_code(row)
    _parse_texts(row, raw)
    _parse_choices(row, raw)
    _parse_codes(row, raw)
    _parse_di(row, raw)
    _parse_prices(row, raw)
    return row


def parse_code_columns(line: int, raw: dict[str, str]) -> ParsedRow:
    """Check only the code columns of a row (material, charge, order and insurance codes,
    UDI-DI and its package), with the rules of ``parse_row``: the check a row of an HIS
    catalogue gets, which names no material of its own."""
    raw = {k: ("" if v is None else str(v).strip()) for k, v in raw.items()}
    row = ParsedRow(line=line, material_code=raw.get("material_code", ""))
    if row.material_code:
        _check_material_code(row)
    _parse_codes(row, raw)
    _parse_di(row, raw)
    return row


def _check_material_code(row: ParsedRow) -> None:
    if not is_valid_hospital_code(row.material_code):
        row.error(
            "VALIDATION_ERROR",
            f"物资编码「{row.material_code}」只能包含字母、数字和 . _ - /（最长 64 位）",
            f"material_code '{row.material_code}' may hold only letters, digits and . _ - / "
            "(at most 64)",
        )


def _parse_texts(row: ParsedRow, raw: dict[str, str]) -> None:
    for name in TEXT_FIELDS:
        value = raw.get(name, "")
        if not value:
            continue
        limit = TEXT_LIMITS[name]
        if len(value) > limit:
            row.error(
                "VALIDATION_ERROR",
                f"{name} 超过 {limit} 个字符",
                f"{name} is longer than {limit} characters",
            )
        else:
            row.values[name] = value


def _parse_choices(row: ParsedRow, raw: dict[str, str]) -> None:
    for name, choices in CHOICE_FIELDS.items():
        value = raw.get(name, "").lower()
        if not value:
            continue
        if value in CHOICE_VALUES[name]:
            row.values[name] = value
        else:
            allowed = "|".join(choices.values)  # only on error
            row.error(
                "VALIDATION_ERROR",
                f"{name}「{value}」无效，应为 {allowed}",
                f"{name} '{value}' is not one of {allowed}",
            )
    restriction = next((raw[c] for c in RESTRICTION_COLUMNS if raw.get(c)), "")
    if len(restriction) > RESTRICTION_LIMIT:
        row.error(
            "VALIDATION_ERROR",
            f"restriction 超过 {RESTRICTION_LIMIT} 个字符",
            f"restriction is longer than {RESTRICTION_LIMIT} characters",
        )
    elif restriction:
        row.values["insurance_restriction"] = restriction
    chargeable = raw.get("chargeable", "").lower()
    if chargeable in TRUE_WORDS:
        row.values["chargeable"] = True
    elif chargeable in FALSE_WORDS:
        row.values["chargeable"] = False
    elif chargeable:
        row.error(
            "VALIDATION_ERROR",
            f"chargeable「{chargeable}」无效，应为 1 或 0",
            f"chargeable '{chargeable}' must be 1 or 0",
        )


def _parse_codes(row: ParsedRow, raw: dict[str, str]) -> None:
    for name in ("charge_code", "order_code"):
        value = raw.get(name, "")
        if not value:
            continue
        if is_valid_hospital_code(value):
            row.values[name] = value
        else:
            row.error(
                "VALIDATION_ERROR",
                f"{name}「{value}」只能包含字母、数字和 . _ - /（最长 64 位）",
                f"{name} '{value}' may hold only letters, digits and . _ - / (at most 64)",
            )
    insurance = raw.get("insurance_code", "").upper()
    if not insurance:
        return
    if is_valid_insurance_code(insurance):
        row.values["insurance_code"] = insurance
    else:
        row.error(
            "INSURANCE_CODE_INVALID",
            f"医保耗材编码「{insurance}」无效，应为 C 加 19 位数字（或 27 位）",
            f"insurance code '{insurance}' must be C + 19 digits (or the 27-character form)",
        )


def _parse_di(row: ParsedRow, raw: dict[str, str]) -> None:
    text = raw.get("udi_di", "")
    units = raw.get("units_per_package", "")
    level = raw.get("package_level", "")
    if text:
        try:
            parsed = parse_code(text)
        except CodeParseError as exc:
            row.error(
                "UNREADABLE_CODE",
                f"udi_di「{text}」无法识别：{getattr(exc, 'message', exc)}",
                f"udi_di '{text}' cannot be read: {getattr(exc, 'reason', exc)}",
            )
        else:
            if parsed.issuer in DI_ISSUERS and parsed.di:
                row.udi_di, row.issuer = parsed.di, parsed.issuer
            else:
                row.error(
                    "UNREADABLE_CODE",
                    f"udi_di「{text}」不是 UDI-DI（GS1、MA、AHM 或 HIBC）",
                    f"udi_di '{text}' is not a UDI-DI (GS1, MA, AHM or HIBC)",
                )
    if units:
        if units.isdigit() and 0 < int(units) <= MAX_UNITS:
            row.units_per_package = int(units)
        else:
            row.error(
                "VALIDATION_ERROR",
                f"units_per_package「{units}」应为正整数",
                f"units_per_package '{units}' must be a positive whole number",
            )
        if not text and units != "1":
            row.error(
                "VALIDATION_ERROR",
                "填写了 units_per_package 但没有 udi_di",
                "units_per_package is given without a udi_di",
            )
    if level:
        limit = PACKAGE_LEVEL_LIMIT
        if len(level) > limit:
            row.error(
                "VALIDATION_ERROR",
                f"package_level 超过 {limit} 个字符",
                f"package_level is longer than {limit} characters",
            )
        else:
            row.package_level = level


def parse_price(text: str) -> Decimal | None:
    """A price of at most 4 decimal places and 10 integer digits, >= 0; None if invalid."""
    if not PRICE_RE.fullmatch(text):
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex admits only numbers
        return None
    if value != value.quantize(PRICE_PLACES) or value >= PRICE_LIMIT:
        return None
    return value.quantize(PRICE_PLACES)


def hospital_price_errors(
    line: int, *, chargeable: bool, purchase: bool, charge: bool
) -> list[RowError]:
    """The hospital prices a row may give: both or neither for a chargeable item; for an
    item that is not separately chargeable (its cost is in a procedure fee) a purchase price
    and never a charge price."""
    if chargeable and purchase != charge:
        return [
            row_error(
                line,
                "VALIDATION_ERROR",
                "可收费耗材的采购价和收费价须同时填写",
                "a chargeable item's purchase_price and charge_price go together: give both "
                "or neither",
            )
        ]
    if not chargeable and charge:
        return [
            row_error(
                line,
                "VALIDATION_ERROR",
                "该耗材不单独收费（chargeable=0，含在手术/治疗费中），不能填写收费价",
                "the item is not separately chargeable (chargeable=0, included in a procedure "
                "fee): it has no charge_price",
            )
        ]
    return []


def _parse_prices(row: ParsedRow, raw: dict[str, str]) -> None:
    for name in PRICE_FIELDS:
        text = raw.get(name, "")
        if not text:
            continue
        value = parse_price(text)
        if value is not None:
            row.prices[name] = value
        elif text.startswith("-") and parse_price(text[1:]) is not None:
            row.error("VALIDATION_ERROR", f"{name} 不能为负数", f"{name} must not be negative")
        else:
            row.error(
                "VALIDATION_ERROR",
                f"{name}「{text}」不是有效金额（最多 4 位小数）",
                f"{name} '{text}' is not a valid amount (at most 4 decimal places)",
            )
    row.vbp_present_empty = "vbp_price" in raw and not raw["vbp_price"]
    # Which hospital prices a row needs depends on whether the item is chargeable; when the
    # row does not say, planning checks them against the stored value.
    chargeable = row.values.get("chargeable")
    purchase, charge = bool(raw.get("purchase_price")), bool(raw.get("charge_price"))
    if chargeable is not None:
        row.errors += hospital_price_errors(
            row.line, chargeable=chargeable, purchase=purchase, charge=charge
        )
    elif charge and not purchase:
        row.errors += hospital_price_errors(row.line, chargeable=True, purchase=False, charge=True)
    text = raw.get("price_effective_from", "")
    if text:
        try:
            if not DATE_RE.fullmatch(text):
                raise ValueError(text)
            row.effective_date = dt.date.fromisoformat(text)
        except ValueError:
            row.error(
                "VALIDATION_ERROR",
                f"price_effective_from「{text}」不是 YYYY-MM-DD 格式的日期",
                f"price_effective_from '{text}' is not a date in YYYY-MM-DD form",
            )
