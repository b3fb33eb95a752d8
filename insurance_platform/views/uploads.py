"""Page: the national platform's uploads of a business day (医保平台上传).

- ``/insurance/uploads/``: the day's records by transaction and status, the failures with
  the platform's message and a resend button, and the daily completeness check (every
  ledger fact that needs an upload has one, nothing stands for a fact that needs none).
  Insurance office and administrators; finance reads.
- ``/insurance/uploads/resend/``: the resend POST (the service decides what may go again).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from billing.views.finance_period import DATE
from billing.views.finance_shared import bad_period
from config import roles
from config.business_day import business_day
from config.errors import DomainError
from config.i18n import pair
from config.permissions import has_role, role_required

from ..selectors import uploads as sel
from ..selectors.completeness import daily_check
from ..services.resend import resend

READ_ROLES = (roles.INSURANCE_OFFICE, roles.FINANCE, roles.ADMINISTRATOR)
ACT_ROLES = (roles.INSURANCE_OFFICE, roles.ADMINISTRATOR)


class DayForm(forms.Form):
    date = forms.DateField(label=_("业务日 / Business day"), **DATE)


@role_required(*READ_ROLES)
def uploads_page(request):
    form = DayForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return bad_period(request, form)
    day = (form.cleaned_data.get("date") if form.is_bound else None) or business_day()
    summary = sel.day_summary(day)
    return render(
        request,
        "insurance_platform/uploads.html",
        {
            "title": _("医保平台上传 / Platform uploads"),
            "day": day,
            "form": form,
            "summary": summary,
            "statuses": list(sel.Status),
            "totals": {s.value: sum(row.counts[s.value] for row in summary) for s in sel.Status},
            "failures": sel.failures(day),
            "check": daily_check(day),
            "may_resend": has_role(request.user, *ACT_ROLES),
        },
    )


@role_required(*ACT_ROLES)
@require_POST
def resend_view(request):
    back = reverse("insurance-uploads")
    day = DayForm(request.POST)
    if day.is_valid() and day.cleaned_data["date"]:
        back += f"?date={day.cleaned_data['date'].isoformat()}"
    try:
        record_id = int(request.POST.get("upload", ""))
    except ValueError:
        messages.error(request, pair("请选择要重新上传的记录", "Choose an upload to resend"))
        return redirect(back)
    try:
        record = resend(record_id=record_id, user=request.user)
    except DomainError as error:
        messages.error(request, pair(error.message, error.message_en))
        return redirect(back)
    messages.success(
        request,
        pair(f"记录 #{record.pk} 已重新排队上传", f"Upload #{record.pk} is queued again"),
    )
    return redirect(back)


urlpatterns = [
    path("", uploads_page, name="insurance-uploads"),
    path("resend/", resend_view, name="insurance-uploads-resend"),
]
