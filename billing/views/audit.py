"""Page: the pre-discharge audit (出院预审核) of an encounter, and a search by visit number.

The ward sees, before settlement, the findings finance will see in the nightly
reconciliation (``billing.rules`` with the cut-off now), each with what to do about it.
Nurses read the encounters of their own wards; the insurance office, finance and
administrators read every encounter (finance with the patient's name masked).
"""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path
from django.utils import timezone

from billing.selectors import ward as selectors
from billing.services.encounters import gated_findings
from config import roles
from config.business_day import business_day
from config.errors import DomainError
from config.permissions import role_required

from .. import rules

AUDIT_ROLES = (roles.NURSE, roles.INSURANCE_OFFICE, roles.FINANCE, roles.ADMINISTRATOR)


@role_required(*AUDIT_ROLES)
def audit_search(request):
    visit_no = (request.GET.get("visit_no") or "").strip()
    if visit_no:
        try:
            return redirect("billing-audit-detail", visit_no=visit_no)
        except NoReverseMatch:  # "a/b": no such page, so no such visit
            return _not_found(request, visit_no)
    return render(request, "billing/audit/search.html", {"visit_no": ""})


def _not_found(request, visit_no: str):
    return render(
        request,
        "billing/audit/search.html",
        {"visit_no": visit_no, "not_found": True},
        status=404,
    )


@role_required(*AUDIT_ROLES)
def audit_detail(request, visit_no: str):
    try:
        encounter = selectors.encounter_for_reader(visit_no=visit_no, user=request.user)
    except DomainError as error:
        if error.code != "UNKNOWN_ENCOUNTER":
            raise
        return _not_found(request, visit_no)
    audit = selectors.encounter_audit(encounter=encounter)
    flagged = audit.material_codes_with_findings
    # The discharge gate: what holds HIS's discharge, so the ward sees what to fix first.
    held = [] if encounter.discharged_at else gated_findings(encounter, found=audit.findings)
    return render(
        request,
        "billing/audit/detail.html",
        {
            "audit": audit,
            "encounter": encounter,
            "patient_name": selectors.patient_name_for(request.user, encounter.patient.name),
            "items": [
                {**item, "flagged": item["material_code"] in flagged} for item in audit.items
            ],
            "today": business_day(timezone.now()),
            "kinds": rules.KINDS,
            "held": held,
        },
    )


urlpatterns = [
    path("", audit_search, name="billing-audit"),
    path("<str:visit_no>/", audit_detail, name="billing-audit-detail"),
]
