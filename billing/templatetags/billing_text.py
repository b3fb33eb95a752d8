"""Billing words in the page's language: a finding of the pre-discharge audit
(``billing.findings_text``) and an encounter's insurance type."""

from django import template

from config.i18n import is_english

from .. import findings_text
from ..models import InsuranceType

register = template.Library()


@register.filter
def finding_label(finding) -> str:
    return findings_text.label(finding.kind)


@register.filter
def finding_action(finding) -> str:
    return findings_text.action(finding)


@register.filter
def finding_explanation(finding) -> str:
    return findings_text.explanation(finding)


@register.filter
def insurance_type(encounter) -> str:
    """The insurance type as HIS sends it (职工医保...); on an English page its configured
    English name (``InsuranceType.name_en``) when it has one. The bedside panel reads that
    name with the encounter (``insurance_type_en``); elsewhere it is one query."""
    if is_english():
        if hasattr(encounter, "insurance_type_en"):
            english = encounter.insurance_type_en
        else:
            english = (
                InsuranceType.objects.filter(name=encounter.insurance_type)
                .values_list("name_en", flat=True)
                .first()
            )
        if english:
            return english
    return encounter.insurance_type
