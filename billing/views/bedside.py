"""Page: bedside scanning 床旁扫码, for a PDA (360px) and a ward PC with a handheld scanner.

The nurse picks one of her wards, scans the patient's wristband (the visit number), then
the items she uses. Every item scan is posted by the browser (the ES modules of
``static/js/bedside/``, wired in ``main.js``) to ``POST /api/v1/scans`` (action ``use``;
``return`` to undo) with its own event id; that API checks the role and the ward again.
These views only render: the ward picker, the patient and the list of what was used on him
today (``selectors.bedside_uses_today``).

``patient/`` is the same patient panel as an HTML fragment, for the page to swap in when a
wristband is scanned without reloading (scans still queued offline stay on the page).
"""

from __future__ import annotations

import re

from django.conf import settings
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from billing.selectors import ward as selectors
from config import roles
from config.errors import DomainError
from config.permissions import role_required

from ..services.consent import RELATIONSHIP_LABELS, RELATIONSHIPS

BEDSIDE_ROLES = (roles.NURSE, roles.ADMINISTRATOR)
# A wristband read by a camera or a scanner set to send it may carry an AIM symbology
# identifier (]C0, ]A0, ]Q1...): it is not part of the visit number.
SYMBOLOGY = re.compile(r"^\][A-Za-z][0-9A-Za-z]")


def wristband_text(raw: str | None) -> str:
    text = (raw or "").strip()
    return SYMBOLOGY.sub("", text, count=1).strip()


def _ward_refusal(code: str) -> DomainError:
    return DomainError("NOT_YOUR_WARD", department=code, detail={"department": code})


def _pick_ward(wards, code: str | None):
    if code:
        return next((w for w in wards if w.code == code), None)
    return wards[0] if len(wards) == 1 else None


def _patient_context(request, ward, visit_no: str) -> tuple[dict, int]:
    """The patient panel: the encounter and today's uses, or the refusal to show in red."""
    if not visit_no:
        return {"ward": ward}, 200
    try:
        encounter = selectors.bedside_encounter(visit_no=visit_no, department=ward)
    except DomainError as refusal:
        return {"ward": ward, "visit_no": visit_no, "refusal": refusal}, refusal.http_status
    uses = selectors.bedside_uses_today(encounter=encounter)
    charged = [u.net_amount for u in uses if u.net_amount is not None]
    return {
        "ward": ward,
        "visit_no": visit_no,
        "encounter": encounter,
        "patient_name": selectors.patient_name_for(request.user, encounter.patient.name),
        "uses": uses,
        "day_total": sum(charged) if charged else None,
        "self_pay_encounter": not encounter.insured,
    }, 200


@role_required(*BEDSIDE_ROLES)
def bedside_page(request):
    wards = list(selectors.bedside_wards(request.user))
    code = (request.GET.get("ward") or "").strip()
    ward = _pick_ward(wards, code)
    context = {
        "wards": wards,
        "ward": ward,
        "ward_refusal": _ward_refusal(code) if code and ward is None else None,
        "relationships": [(r, RELATIONSHIP_LABELS[r]) for r in RELATIONSHIPS],
        "server_now_ms": int(timezone.now().timestamp() * 1000),
        # Two identical reads of a lot-tracked item closer than this: asked, not charged twice.
        "repeat_scan_seconds": settings.BEDSIDE_REPEAT_SCAN_SECONDS,
        # How old a queued scan may be before the server refuses it (TIME_OUT_OF_RANGE).
        "scan_backdate_hours": settings.SCAN_BACKDATE_HOURS,
    }
    status = 200
    if ward is not None:
        context["roster"] = selectors.bedside_roster(department=ward)
        # A refused wristband is a red line on a working page, not a failed page.
        patient, _ = _patient_context(request, ward, wristband_text(request.GET.get("visit")))
        context.update(patient)
    elif context["ward_refusal"] is not None:
        status = 403
    return render(request, "billing/bedside/page.html", context, status=status)


@role_required(*BEDSIDE_ROLES)
def bedside_patient(request):
    """The patient panel alone (HTML fragment); a refusal keeps its HTTP status."""
    wards = list(selectors.bedside_wards(request.user))
    code = (request.GET.get("ward") or "").strip()
    ward = _pick_ward(wards, code) if code else None
    if ward is None:
        refusal = _ward_refusal(code)
        return render(
            request,
            "billing/bedside/_patient.html",
            {"refusal": refusal, "visit_no": ""},
            status=refusal.http_status,
        )
    context, status = _patient_context(request, ward, wristband_text(request.GET.get("visit")))
    return render(request, "billing/bedside/_patient.html", context, status=status)


urlpatterns = [
    path("", bedside_page, name="billing-bedside"),
    path("patient/", bedside_patient, name="billing-bedside-patient"),
]
