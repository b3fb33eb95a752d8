"""The insurance class of a consumable and its payment restriction (限定支付条件): one rule,
checked the same way wherever the two are set (the admin and the mapping-change review,
supplier submissions, ``import_master``, the model's own ``clean``).

Pure functions, no database: ``models.py`` imports this module. The class values are those
of ``Consumable.InsuranceClass`` (a test keeps the two equal).

The rule:
- the class is one of ``covered`` (医保支付), ``restricted`` (限定支付), ``self_pay`` (自费);
- a ``restricted`` item names its condition in words (``restriction``, at most 300
  characters): without it nobody at the bedside can tell whether the fund pays;
- only a ``restricted`` item has a condition: a condition on a covered or self-pay item is
  refused rather than silently dropped (it says the class is probably wrong).
"""

from __future__ import annotations

from dataclasses import dataclass

COVERED = "covered"
RESTRICTED = "restricted"
SELF_PAY = "self_pay"
INSURANCE_CLASSES = (COVERED, RESTRICTED, SELF_PAY)
RESTRICTION_LIMIT = 300  # Consumable.insurance_restriction max_length


@dataclass(frozen=True)
class InsuranceProblem:
    """Why an (insurance class, restriction) pair is refused, and which of the two is wrong
    (``field``: ``insurance_class`` or ``insurance_restriction``)."""

    field: str
    code: str
    message: str
    message_en: str

    def text(self) -> str:
        """The reason as the active language shows it (a form error, a row's message)."""
        from config.i18n import pair

        return pair(self.message, self.message_en)

    def error(self):
        """This problem as the ``DomainError`` services raise."""
        from config.errors import DomainError  # not at import: models.py imports this module

        return DomainError(
            self.code, self.message, self.message_en,
            detail={"field": self.field}, http_status=400,
        )  # fmt: skip


def insurance_terms_problem(insurance_class: str | None, restriction: str | None):
    """The problem with an item having ``insurance_class`` and ``restriction`` (the final
    values, after any "not given means unchanged" of the caller), or None when they agree.
    Surrounding whitespace does not count."""
    insurance_class = (insurance_class or "").strip()
    restriction = (restriction or "").strip()
    if insurance_class not in INSURANCE_CLASSES:
        return InsuranceProblem(
            "insurance_class", "VALIDATION_ERROR",
            f"医保支付类别应为 covered（医保支付）、restricted（限定支付）或 self_pay（自费），"
            f"不是“{insurance_class}”",
            f"the insurance class must be covered, restricted or self_pay, not "
            f"'{insurance_class}'",
        )  # fmt: skip
    if insurance_class == RESTRICTED and not restriction:
        return InsuranceProblem(
            "insurance_restriction", "VALIDATION_ERROR",
            "限定支付的耗材须填写限定支付条件",
            "a restricted item needs its payment restriction (the condition in words)",
        )  # fmt: skip
    if insurance_class != RESTRICTED and restriction:
        return InsuranceProblem(
            "insurance_restriction", "VALIDATION_ERROR",
            "只有限定支付的耗材才填写限定支付条件（请清空条件或改为限定支付）",
            "only a restricted item has a payment restriction (clear it or make the item "
            "restricted)",
        )  # fmt: skip
    if len(restriction) > RESTRICTION_LIMIT:
        return InsuranceProblem(
            "insurance_restriction", "VALIDATION_ERROR",
            f"限定支付条件最长 {RESTRICTION_LIMIT} 字",
            f"the payment restriction is at most {RESTRICTION_LIMIT} characters",
        )  # fmt: skip
    return None


def checked_insurance_terms(insurance_class: str | None, restriction: str | None):
    """``(insurance_class, restriction)`` stripped, or ``DomainError`` (VALIDATION_ERROR,
    400, ``detail.field``) when ``insurance_terms_problem`` finds one."""
    problem = insurance_terms_problem(insurance_class, restriction)
    if problem is not None:
        raise problem.error()
    return (insurance_class or "").strip(), (restriction or "").strip()
