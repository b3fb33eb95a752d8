"""Findings and exception rows as an English page shows them.

``billing.rules`` words a finding in Chinese only (``Finding.explanation``: the figures,
then what to do) and ``selectors.drill.explanation`` does the same for the run-level kinds.
These are the same sentences in English, from the same figures; a Chinese page keeps
the Chinese text untouched.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from billing.selectors.common import kind_label
from config.i18n import is_english

from . import rules

ADVICE_EN = {
    rules.UNBILLED_USE: (
        "Add the charge at HIS, or check for a missed scan or an unrecorded return."
    ),
    rules.CHARGE_WITHOUT_USE: "Refund it if it was not used; scan the use if it was.",
    rules.DUPLICATE_CHARGE: "Refund the quantity charged too many times.",
    rules.PRICE_MISMATCH: (
        "Check the charge price the pricing office approved; refund and charge again at it."
    ),
    rules.CHARGE_WITHOUT_ORDER: (
        "Ask the doctor to enter the order; refund it if it should not have been charged."
    ),
    rules.SPLIT_CHARGE: (
        "The item is not charged separately (its cost is in the procedure fee): refund it."
    ),
    rules.SELF_PAY_WITHOUT_CONSENT: (
        "Have the patient or family sign the self-pay consent and record it at the bedside; "
        "refund it if the patient does not consent."
    ),
    rules.SUBSTITUTION: "Refund the item charged too many, and charge the item used.",
    rules.CHARGE_OVER_ORDER: (
        "Check the orders: refund what was charged too many, or ask the doctor to order it."
    ),
}


def _price(value) -> str:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    places = max(2, min(4, -number.normalize().as_tuple().exponent))
    return f"{number:.{places}f}"


def label(kind: str) -> str:
    """The kind's name in the page's language."""
    return kind_label(kind)


def action(finding: rules.Finding) -> str:
    return finding.info.action_en if is_english() else finding.action


def explanation(finding: rules.Finding) -> str:
    """``finding.explanation``, in English on an English page."""
    if not is_english():
        return finding.explanation
    d, q, unit = finding.detail, finding.quantity, finding.detail.get("unit", "")
    units = f" {unit}" if unit else ""
    item = f"{d.get('name', '')} ({finding.material_code})"
    kind = finding.kind
    if kind == rules.UNBILLED_USE:
        text = (
            f"{item}: net used {d['net_used']}{units}, net charged {d['net_charged']}{units}, "
            f"{q}{units} not charged."
        )
    elif kind == rules.DUPLICATE_CHARGE:
        text = (
            f"{item}: net charged {d['net_charged']}{units}, net used {d['net_used']}{units}, "
            f"{q}{units} charged too many."
        )
    elif kind == rules.CHARGE_WITHOUT_USE:
        text = (
            f"{item}: {d['net_charged']}{units} charged and no use recorded in this stay "
            "(an item billed by scan)."
        )
    elif kind == rules.PRICE_MISMATCH:
        if d.get("charge_price") is None:
            text = (
                f"{item}: charged at {_price(d['unit_price'])} with no approved charge price "
                "at the time."
            )
        else:
            text = (
                f"{item}: charged at {_price(d['unit_price'])} while the charge price in force "
                f"was {_price(d['charge_price'])} (difference CNY {d['amount_difference']})."
            )
    elif kind == rules.SPLIT_CHARGE:
        text = f"{item}: not charged separately (in a procedure fee), yet {q}{units} charged."
    elif kind == rules.SELF_PAY_WITHOUT_CONSENT:
        klass = "self-pay" if d.get("insurance_class") == "self_pay" else "restricted"
        text = f"{item}: a {klass} item, {q}{units} charged to an insured patient, no consent."
        if d.get("insurance_change"):
            text += f" (Insurance type changed: {d['insurance_change']}.)"
    elif kind == rules.SUBSTITUTION:
        others = "; ".join(
            f"{s['name']} ({s['material_code']}, price {_price(s['charge_price'])}) net used "
            f"{s['net_used']}{units}, net charged {s['net_charged']}{units}"
            for s in d["substitutes"]
        )
        text = (
            f"{item} (price {_price(d['charge_price'])}): net charged {d['net_charged']}{units}, "
            f"net used {d['net_used']}{units}, {q}{units} charged too many; of the same generic "
            f"class ({d['generic']}): {others}. {d['substituted']}{units} look substituted."
        )
    elif kind == rules.CHARGE_OVER_ORDER:
        doctors = ", ".join(d.get("doctors") or []) or "-"
        text = (
            f"{item}: order code {d['order_code']} ordered {d['ordered']}{units} (doctor "
            f"{doctors}), net charged {d['net_charged']}{units}, {q}{units} over the order."
        )
    else:
        code = d.get("order_code") or "(no order code)"
        text = f"{item}: {q}{units} charged, and order code {code} has no order in this stay."
    return f"{text} {ADVICE_EN.get(kind, '')}".strip()


def run_level_explanation_en(kind: str, material_code: str, department: str, d: dict) -> str:
    """The English of ``selectors.drill.explanation`` for the kinds the nightly run finds."""
    if kind == "VARIANCE_OVER_THRESHOLD":
        return (
            f"{department} {material_code}: used {d.get('used')}, charged {d.get('billed')} on "
            f"the day, variance {d.get('variance_pct')}%, over the {d.get('threshold_pct')}% "
            "target. Look for missed scans, missed charges or charges made twice."
        )
    if kind == "STOCK_CONSUMPTION_VARIANCE":
        return (
            f"{department} {material_code} between the stocktakes of {d.get('opened_at')} and "
            f"{d.get('closed_at')}: opening {d.get('opening')} + received {d.get('received')} "
            f"+ issued in {d.get('issued_in')} - issued out {d.get('issued_out')} - scrapped "
            f"{d.get('scrapped')} - closing {d.get('closing')} = consumed {d.get('consumed')}; "
            f"scanned uses {d.get('used')}; charged {d.get('billed')}; variance "
            f"{d.get('variance_pct') or '-'}%, over the {d.get('threshold_pct')}% target. Look "
            "for charges missed or keyed in wrongly, and for stock lost without a record."
        )
    if kind == "PURCHASE_PRICE_MISMATCH":
        return (
            f"{material_code}: received at {d.get('unit_cost')} while the approved purchase "
            f"price is {d.get('purchase_price')} (supplier {d.get('supplier')}, invoice "
            f"{d.get('invoice_no')}). Check the invoice or ask the pricing office for a change."
        )
    if kind == "FOUR_PRICE_MISALIGNED":
        return (
            f"{material_code}: platform {d.get('platform_price')}, VBP {d.get('vbp_price')}, "
            f"purchase {d.get('purchase_price')}, charge {d.get('charge_price')} break the "
            "four-price rule. The pricing office should propose new prices for two-person review."
        )
    return label(kind)
