"""Billing words in the page's language: a finding of the pre-discharge audit
(``billing.findings_text``) and an encounter's insurance type."""

from django import template

from config.i18n import is_english

from .. import findings_text

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
    """The insurance type as HIS sends it (职工医保...), its English name on an English page."""
    if is_english():
        return str(encounter.get_insurance_type_display())
    return encounter.insurance_type
