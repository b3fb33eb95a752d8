"""Page: the order kits (医嘱套包) of an encounter, split for charging (拆分计费).

For each kit order of the encounter: its components, the planned quantity, what was used
(net of returns) and charged (net of refunds) under the order, and the components not
used, which are not charged. Nurses read the encounters of their own wards; the insurance
office and administrators read every encounter.
"""

from __future__ import annotations

from django.shortcuts import render
from django.urls import path

from billing.selectors import ward as selectors
from config import roles
from config.errors import DomainError
from config.permissions import role_required

from ..services.kits import encounter_kit_usage

# Finance reads every encounter too (it reads everything, changes nothing clinical).
KIT_ROLES = (roles.NURSE, roles.INSURANCE_OFFICE, roles.FINANCE, roles.ADMINISTRATOR)


@role_required(*KIT_ROLES)
def encounter_kits(request, visit_no: str):
    try:
        encounter = selectors.encounter_for_reader(visit_no=visit_no, user=request.user)
    except DomainError as error:
        if error.code != "UNKNOWN_ENCOUNTER":
            raise
        return render(request, "billing/kits/encounter.html", {"not_found": visit_no}, status=404)
    return render(
        request,
        "billing/kits/encounter.html",
        {
            "encounter": encounter,
            "patient_name": selectors.patient_name_for(request.user, encounter.patient.name),
            "kit_orders": encounter_kit_usage(encounter=encounter),
        },
    )


urlpatterns = [
    path("<str:visit_no>/", encounter_kits, name="billing-kits"),
]
