"""Pages: the daily itemised list (一日清单) of an inpatient's consumables, printable on A4,
and the ward view listing each inpatient of a ward on a day.

The day is the Asia/Shanghai business day (``?date=YYYY-MM-DD``, default today). Lines are
the day's charge lines; a refund made that day is a negative line. Nurses see their own
wards; the insurance office, finance (names masked) and administrators see every ward.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.selectors import ward as selectors
from config import roles
from config.bounds import date_in_range
from config.business_day import business_day
from config.errors import DomainError
from config.permissions import role_required

DAILY_LIST_ROLES = (roles.NURSE, roles.INSURANCE_OFFICE, roles.FINANCE, roles.ADMINISTRATOR)


class DayForm(forms.Form):
    date = forms.DateField(
        label=_("日期 / Date"),
        required=False,
        input_formats=["%Y-%m-%d"],
        validators=[date_in_range],  # the day before and after stay in the calendar
    )
    department = forms.CharField(label=_("病区 / Ward"), required=False, max_length=32)


def _hospital_name() -> str:
    return settings.HOSPITAL_NAME or _("医院")


def _today() -> dt.date:
    return business_day(timezone.now())


def _bad_request(request, form):
    return render(
        request,
        "billing/daily_list/ward.html",
        {"form": form, "wards": selectors.wards_for(request.user), "day": _today()},
        status=400,
    )


@role_required(*DAILY_LIST_ROLES)
def daily_list_ward(request):
    form = DayForm(request.GET or None)
    if request.GET and not form.is_valid():
        return _bad_request(request, form)
    data = form.cleaned_data if form.is_bound else {}
    day = data.get("date") or _today()
    wards = list(selectors.wards_for(request.user))
    code = data.get("department") or (wards[0].code if len(wards) == 1 else "")
    department = None
    inpatients = []
    if code:
        department = next((w for w in wards if w.code == code), None)
        if department is None:
            raise PermissionDenied(_("无权查看该病区 / You may not see this ward"))
        inpatients = [
            {
                "encounter": encounter,
                "patient_name": selectors.patient_name_for(request.user, encounter.patient.name),
            }
            for encounter in selectors.ward_inpatients(department=department, day=day)
        ]
    return render(
        request,
        "billing/daily_list/ward.html",
        {
            "form": form,
            "wards": wards,
            "department": department,
            "day": day,
            "inpatients": inpatients,
        },
    )


@role_required(*DAILY_LIST_ROLES)
def daily_list_detail(request, visit_no: str):
    form = DayForm(request.GET or None)
    if request.GET and not form.is_valid():
        return _bad_request(request, form)
    day = (form.cleaned_data.get("date") if form.is_bound else None) or _today()
    try:
        encounter = selectors.encounter_for_reader(visit_no=visit_no, user=request.user)
    except DomainError as error:
        if error.code != "UNKNOWN_ENCOUNTER":
            raise
        return render(
            request,
            "billing/daily_list/ward.html",
            {
                "form": form,
                "wards": selectors.wards_for(request.user),
                "day": day,
                "not_found": visit_no,
            },
            status=404,
        )
    return render(
        request,
        "billing/daily_list/detail.html",
        {
            "hospital_name": _hospital_name(),
            "encounter": encounter,
            "patient_name": selectors.patient_name_for(request.user, encounter.patient.name),
            "day": day,
            "previous_day": day - dt.timedelta(days=1),
            "next_day": day + dt.timedelta(days=1),
            "daily": selectors.daily_list(encounter=encounter, day=day),
            "printed_at": timezone.localtime(),
        },
    )


urlpatterns = [
    path("", daily_list_ward, name="billing-daily-list-ward"),
    path("<str:visit_no>/", daily_list_detail, name="billing-daily-list"),
]
