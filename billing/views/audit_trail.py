"""Page: the audit trail (审计追踪) for the insurance office, finance and administrators.

Filters: date range (business days, Asia/Shanghai, both ends included), user, source and a
code (material, charge, order, insurance code, DI, visit number). ``?format=xlsx|csv``
downloads everything the filters select. Patient names are masked for finance.
"""

from __future__ import annotations

from django import forms
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from billing.selectors.audit_trail import SOURCES, TrailFilter, audit_trail, iter_audit_trail
from config import roles
from config.bounds import date_in_range
from config.business_day import business_day_bounds
from config.exports import FORMATS, export_response
from config.permissions import role_required

TRAIL_ROLES = (roles.INSURANCE_OFFICE, roles.FINANCE, roles.ADMINISTRATOR)
PAGE_SIZE = 50
EXPORT_COLUMNS = [
    ("at", _("时间 / time")),
    ("username", _("操作人 / user")),
    ("source", _("类别 / source")),
    ("action", _("操作 / action")),
    ("subject", _("对象 / subject")),
    ("reference", _("引用 / reference")),
    ("details", _("内容 / details")),
]


DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class TrailForm(forms.Form):
    since = forms.DateField(
        label=_("起 / from"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=DATE_INPUT,
        validators=[date_in_range],
    )
    until = forms.DateField(
        label=_("止 / to"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=DATE_INPUT,
        validators=[date_in_range],
    )
    user = forms.CharField(label=_("操作人 / user"), required=False, max_length=150)
    source = forms.ChoiceField(
        label=_("类别 / source"),
        required=False,
        choices=[("", _("全部 / all")), *SOURCES.items()],
    )
    q = forms.CharField(label=_("编码或住院号 / code or visit no."), required=False, max_length=80)
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000)

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError(_("起始日期晚于截止日期 / 'from' is after 'to'"))
        return data

    def trail_filter(self) -> TrailFilter:
        data = self.cleaned_data
        since, until = data.get("since"), data.get("until")
        return TrailFilter(
            since=business_day_bounds(since)[0] if since else None,
            until=business_day_bounds(until)[1] if until else None,
            username=data.get("user", "").strip(),
            source=data.get("source", ""),
            text=data.get("q", "").strip(),
        )


def _export_row(entry) -> dict:
    return {
        "at": entry.at,
        "username": entry.username,
        "source": entry.source_label,
        "action": entry.action,
        "subject": entry.subject,
        "reference": entry.reference,
        "details": "; ".join(
            f"{what}: {before} → {after}" if before else f"{what}: {after}"
            for what, before, after in entry.details
        ),
    }


@role_required(*TRAIL_ROLES)
def audit_trail_page(request):
    form = TrailForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(
            request, "billing/audit_trail/list.html", {"form": form, "entries": []}, status=400
        )
    flt = form.trail_filter() if form.is_bound else TrailFilter()
    fmt = request.GET.get("format")
    if fmt in FORMATS:
        rows = (_export_row(e) for e in iter_audit_trail(flt=flt, viewer=request.user))
        return export_response(rows, EXPORT_COLUMNS, "audit-trail", fmt, header="label")
    page = (form.cleaned_data.get("page") if form.is_bound else None) or 1
    entries = audit_trail(
        flt=flt, viewer=request.user, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE + 1
    )
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return render(
        request,
        "billing/audit_trail/list.html",
        {
            "form": form,
            "entries": entries[:PAGE_SIZE],
            "page": page,
            "has_next": len(entries) > PAGE_SIZE,
            "query": query.urlencode(),
        },
    )


urlpatterns = [path("", audit_trail_page, name="billing-audit-trail")]
