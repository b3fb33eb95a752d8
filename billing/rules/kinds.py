"""The finding kinds: their names, Chinese labels and advice (``KINDS``), the HIS boundary's
scope of each (``BOUNDARY_CHECKS``) and ``Finding``, the row every rule returns, with its
explanation in Chinese and figures. See ``billing.rules`` for the definitions."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

CENT = Decimal("0.01")

UNBILLED_USE = "UNBILLED_USE"
CHARGE_WITHOUT_USE = "CHARGE_WITHOUT_USE"
DUPLICATE_CHARGE = "DUPLICATE_CHARGE"
PRICE_MISMATCH = "PRICE_MISMATCH"
CHARGE_WITHOUT_ORDER = "CHARGE_WITHOUT_ORDER"
SPLIT_CHARGE = "SPLIT_CHARGE"
SELF_PAY_WITHOUT_CONSENT = "SELF_PAY_WITHOUT_CONSENT"
SUBSTITUTION = "SUBSTITUTION"
CHARGE_OVER_ORDER = "CHARGE_OVER_ORDER"
# The generic classification of a national insurance code: "C" + 6 digits of category + 3 of
# generic name (DESIGN.md), the first 10 characters.
GENERIC_PREFIX = 10


@dataclass(frozen=True)
class KindInfo:
    label: str
    action: str
    action_en: str
    advice: str


KINDS: dict[str, KindInfo] = {
    UNBILLED_USE: KindInfo(
        "漏费（使用未计费）",
        "补计费",
        "add the charge",
        "请在 HIS 补录计费，或核对是否漏扫、退回未登记。",
    ),
    CHARGE_WITHOUT_USE: KindInfo(
        "无使用收费",
        "退费",
        "refund",
        "确未使用的请退费；确已使用的请补扫使用记录。",
    ),
    DUPLICATE_CHARGE: KindInfo(
        "重复收费",
        "退费",
        "refund",
        "请退掉多收的数量。",
    ),
    PRICE_MISMATCH: KindInfo(
        "收费价格不符",
        "核对价格",
        "check the price",
        "请核对物价办核定的收费价，退费后按核定价格重新计费。",
    ),
    CHARGE_WITHOUT_ORDER: KindInfo(
        "无医嘱收费",
        "补医嘱",
        "add the doctor order",
        "请医生补开医嘱；如不应收费请退费。",
    ),
    SPLIT_CHARGE: KindInfo(
        "分解收费",
        "退费",
        "refund",
        "该耗材不单独收费（费用已含在手术或治疗项目中），请退费。",
    ),
    SELF_PAY_WITHOUT_CONSENT: KindInfo(
        "自费项目未签知情同意",
        "补签知情同意",
        "record the consent",
        "请患者或家属补签自费知情同意书并在床旁登记；患者不同意自费的请退费。",
    ),
    SUBSTITUTION: KindInfo(
        "串换收费",
        "退费并按实际使用计费",
        "refund, and charge what was used",
        "请退掉多收的耗材，并按实际使用的同类耗材计费。",
    ),
    CHARGE_OVER_ORDER: KindInfo(
        "超医嘱数量收费",
        "退费或补医嘱",
        "refund, or add the order",
        "请核对医嘱：多收的请退费；确已使用的请医生补开医嘱数量。",
    ),
}

# The HIS boundary (事中): the kinds a charge keyed in at HIS is checked against as it
# arrives, and where each is found: "line", a line finding of the new line itself
# (``charge_line_findings``); "encounter", a finding of the line's encounter and item
# (``findings`` of the encounter). A kind found per encounter (CHARGE_OVER_ORDER, per order
# code) is one more entry here.
LINE_SCOPE = "line"
ENCOUNTER_SCOPE = "encounter"
BOUNDARY_CHECKS: dict[str, str] = {
    PRICE_MISMATCH: LINE_SCOPE,
    CHARGE_WITHOUT_ORDER: LINE_SCOPE,
    SELF_PAY_WITHOUT_CONSENT: LINE_SCOPE,
    SPLIT_CHARGE: LINE_SCOPE,
    CHARGE_OVER_ORDER: ENCOUNTER_SCOPE,
}


def _price(text: str) -> str:
    """110.0000 -> 110.00, 3.1416 -> 3.1416: two decimal places at least, four at most."""
    value = Decimal(text)
    places = max(2, min(4, -value.normalize().as_tuple().exponent))
    return f"{value:.{places}f}"


def _yuan(text: str | None) -> str:
    return "—" if text is None else _price(text)


@dataclass(frozen=True)
class Finding:
    """One anomaly, in the shape of a reconciliation exception row (docs/contract.md)."""

    kind: str
    encounter: str
    department: str
    material_code: str
    quantity: int
    ref: str
    detail: dict = field(default_factory=dict, hash=False)

    @property
    def info(self) -> KindInfo:
        return KINDS[self.kind]

    @property
    def label(self) -> str:
        return self.info.label

    @property
    def action(self) -> str:
        return self.info.action

    @property
    def explanation(self) -> str:
        """What is wrong, in Chinese, with the figures, then what to do."""
        d = self.detail
        item = f"{d.get('name', '')}（{self.material_code}）"
        unit = d.get("unit", "")
        if self.kind == UNBILLED_USE:
            text = (
                f"{item} 净使用 {d['net_used']}{unit}，净计费 {d['net_charged']}{unit}，"
                f"少计费 {self.quantity}{unit}。"
            )
        elif self.kind == DUPLICATE_CHARGE:
            text = (
                f"{item} 净计费 {d['net_charged']}{unit}，净使用 {d['net_used']}{unit}，"
                f"多计费 {self.quantity}{unit}。"
            )
        elif self.kind == CHARGE_WITHOUT_USE:
            text = f"{item} 已计费 {d['net_charged']}{unit}，本次住院没有使用记录（扫码计费耗材）。"
        elif self.kind == PRICE_MISMATCH:
            if d.get("charge_price") is None:
                text = f"{item} 计费单价 {_price(d['unit_price'])}，计费时没有已批准的收费价。"
            else:
                text = (
                    f"{item} 计费单价 {_price(d['unit_price'])}，计费时执行的收费价为 "
                    f"{_price(d['charge_price'])}（差额 {d['amount_difference']} 元）。"
                )
        elif self.kind == SPLIT_CHARGE:
            text = f"{item} 不单独收费（含在项目收费中），却计费 {self.quantity}{unit}。"
        elif self.kind == SELF_PAY_WITHOUT_CONSENT:
            klass = "自费" if d.get("insurance_class") == "self_pay" else "限定支付"
            text = (
                f"{item} 为{klass}项目，{d.get('insurance_type', '')}患者计费 "
                f"{self.quantity}{unit}，没有自费知情同意记录。"
            )
            if d.get("insurance_change"):
                text += f"（医保类型已变更：{d['insurance_change']}。）"
        elif self.kind == SUBSTITUTION:
            others = "、".join(
                f"{s['name']}（{s['material_code']}，单价 {_yuan(s['charge_price'])}）"
                f"净使用 {s['net_used']}{unit}、净计费 {s['net_charged']}{unit}"
                for s in d["substitutes"]
            )
            text = (
                f"{item}（单价 {_yuan(d['charge_price'])}）净计费 {d['net_charged']}{unit}，"
                f"净使用 {d['net_used']}{unit}，多计费 {self.quantity}{unit}；同类耗材"
                f"（医保分类 {d['generic']}）{others}，疑似串换 {d['substituted']}{unit}。"
            )
        elif self.kind == CHARGE_OVER_ORDER:
            doctors = "、".join(d.get("doctors") or []) or "—"
            text = (
                f"{item} 医嘱编码 {d['order_code']} 医嘱数量 {d['ordered']}{unit}"
                f"（医生 {doctors}），净计费 {d['net_charged']}{unit}，"
                f"超医嘱 {self.quantity}{unit}。"
            )
        else:
            code = d.get("order_code") or "（无医嘱编码）"
            text = f"{item} 计费 {self.quantity}{unit}，医嘱编码 {code} 在本次住院没有医嘱。"
        return text + self.info.advice

    def as_row(self) -> dict:
        """What a caller outside (HIS, the discharge gate) is told: the row and its words."""
        return {
            "kind": self.kind,
            "material_code": self.material_code,
            "quantity": self.quantity,
            "ref": self.ref,
            "action": self.action,
            "explanation": self.explanation,
        }

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "encounter": self.encounter,
            "department": self.department,
            "material_code": self.material_code,
            "quantity": self.quantity,
            "ref": self.ref,
            "detail": self.detail,
        }
