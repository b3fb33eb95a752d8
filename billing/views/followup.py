"""Pages: the follow-up of findings (问题跟踪与申诉).

- ``/billing/followup/``: the insurance office's list of findings over a period (filter by
  kind, department, status) with its actions: confirm, dismiss with a reason, decide an
  appeal. Insurance office and administrators; finance reads.
- ``/billing/followup/ward/``: a ward's own findings (the nurse's departments) with the
  appeal form (科室申诉). Nurses and administrators.
- ``/billing/followup/act/``: the one POST every action goes through; the service decides
  who may do what (``billing.services.followup``), so page and rule cannot disagree.
- ``/billing/followup/rankings/``: departments, doctors and recording staff by amount and
  by count over a month, the top three, and the watch list with its trend (Tianjin).
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from billing.selectors import followup as sel
from billing.selectors.common import KIND_ORDER, Period, kind_label
from billing.services import followup as svc
from config import roles
from config.errors import DomainError
from config.i18n import is_english
from config.permissions import has_role, role_required
from organisation.selectors import visible_departments

from .finance_period import query
from .finance_shared import bad_period, period_or_400

# Finance reads the list and the rankings (it reads every report); only the insurance office
# acts on them (the service says so, and the page offers no button to others).
OFFICE_ROLES = (roles.INSURANCE_OFFICE, roles.FINANCE, roles.ADMINISTRATOR)
WARD_ROLES = (roles.NURSE, roles.ADMINISTRATOR)
ACT_ROLES = (roles.INSURANCE_OFFICE, roles.NURSE, roles.ADMINISTRATOR)
# Cards on one page: the biggest amounts first; a filter narrows the rest.
SHOWN = 200
EXTRA_KINDS = (
    "SPLIT_CHARGE",
    "SUBSTITUTION",
    "SELF_PAY_WITHOUT_CONSENT",
    "CHARGE_OVER_ORDER",
    "STOCK_CONSUMPTION_VARIANCE",
)


def _kinds() -> list[tuple[str, str]]:
    return [(k, kind_label(k)) for k in dict.fromkeys((*KIND_ORDER, *EXTRA_KINDS))]


def _statuses() -> list[tuple[str, str]]:
    return list(sel.STATUS_LABELS.items())


def _filters(request) -> dict:
    kind = request.GET.get("kind", "")
    status = request.GET.get("status", "")
    department = request.GET.get("department", "").strip()
    return {
        "kind": kind if kind in dict(_kinds()) else "",
        "status": status if status in sel.STATUS_LABELS else "",
        "department": department[:32],
    }


def _list_page(request, *, template, departments, ward: bool):
    form, period = period_or_400(request)
    if period is None:
        return bad_period(request, form)
    flt = _filters(request)
    codes = departments
    if flt["department"]:
        codes = (
            [flt["department"]]
            if departments is None
            else ([c for c in departments if c == flt["department"]])
        )
    rows = sel.findings(
        period,
        kinds=[flt["kind"]] if flt["kind"] else (),
        departments=codes,
        statuses=[flt["status"]] if flt["status"] else (),
    )
    return render(
        request,
        template,
        {
            "title": _("我科问题与申诉") if ward else _("问题跟踪"),
            "period": period,
            "form": form,
            "flt": flt,
            "kinds": _kinds(),
            "statuses": _statuses(),
            "departments": departments,
            "rows": rows[:SHOWN],
            "count": len(rows),
            "shown": min(len(rows), SHOWN),
            "total": sum((r.amount for r in rows), sel.ZERO),
            "here": request.get_full_path(),
            "may_decide": has_role(request.user, roles.INSURANCE_OFFICE),
            "may_appeal": has_role(request.user, roles.NURSE),
            "english": is_english(),
        },
    )


@role_required(*OFFICE_ROLES)
def office_list(request):
    return _list_page(
        request, template="billing/followup/office.html", departments=None, ward=False
    )


@role_required(*WARD_ROLES)
def ward_list(request):
    mine = list(
        visible_departments(request.user)
        .filter(members=request.user)
        .values_list("code", flat=True)
    )
    if request.user.is_superuser or has_role(request.user, roles.ADMINISTRATOR):
        mine = list(visible_departments(request.user).values_list("code", flat=True))
    return _list_page(request, template="billing/followup/ward.html", departments=mine, ward=True)


STEP_DONE = {
    "confirm": gettext_lazy("已确认 / Confirmed"),
    "dismiss": gettext_lazy("已不予认定 / Dismissed"),
    "appeal": gettext_lazy("申诉已提交 / Appeal submitted"),
    "uphold": gettext_lazy("申诉已通过 / Appeal upheld"),
    "reject": gettext_lazy("申诉已驳回 / Appeal rejected"),
}


@role_required(*ACT_ROLES)
@require_POST
def act(request):
    key = request.POST.get("key", "")
    step = request.POST.get("step", "")
    reason = request.POST.get("reason", "")
    user = request.user
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("billing-followup")
    calls = {
        "confirm": lambda: svc.followup_confirm(user=user, key=key, reason=reason),
        "dismiss": lambda: svc.followup_dismiss(user=user, key=key, reason=reason),
        "appeal": lambda: svc.followup_appeal(
            user=user, key=key, reason=reason, evidence=request.POST.get("evidence", "")
        ),
        "uphold": lambda: svc.followup_decide(user=user, key=key, upheld=True, reason=reason),
        "reject": lambda: svc.followup_decide(user=user, key=key, upheld=False, reason=reason),
    }
    if step not in calls:
        messages.error(request, _("未知操作 / Unknown action"))
        return redirect(back)
    try:
        calls[step]()
    except DomainError as error:
        text = error.message_en if is_english() and error.message_en else error.message
        messages.error(request, f"{text} ({error.code})")
        return redirect(back)
    messages.success(request, STEP_DONE[step])
    return redirect(back)


def _parsed_month(text: str) -> dt.date | None:
    """``YYYY-MM`` as the month's first day; None when malformed or out of the years a
    hospital's findings can have (the month after 9999-12 does not exist)."""
    try:
        month = dt.date.fromisoformat(f"{text}-01")
    except ValueError:
        return None
    return month if 2000 <= month.year <= 2999 else None


def _month(request) -> dt.date:
    month = _parsed_month(request.GET.get("month", ""))
    if month is None:
        latest = sel.latest_finding_day()
        month = sel.month_start(latest or dt.date.today())
    return month


@role_required(*OFFICE_ROLES)
def rankings_page(request):
    month = _month(request)
    period = Period.month(month.year, month.month)
    by = "count" if request.GET.get("by") == "count" else "amount"
    return render(
        request,
        "billing/followup/rankings.html",
        {
            "title": _("问题排名与重点监测"),
            "month": month,
            "month_text": f"{month:%Y-%m}",
            "previous": f"{sel.add_months(month, -1):%Y-%m}",
            "next": f"{sel.add_months(month, 1):%Y-%m}",
            "by": by,
            "rankings": sel.rankings(period, by=by),
            "watch": sel.watch_list(month),
            "top": sel.TOP,
            "months": sel.WATCH_MONTHS,
            "period_query": query(period),
            "may_update": has_role(request.user, roles.INSURANCE_OFFICE),
        },
    )


@role_required(roles.INSURANCE_OFFICE, roles.ADMINISTRATOR)
@require_POST
def watch_update(request):
    month = _parsed_month(request.POST.get("month", ""))
    if month is None:
        messages.error(request, _("月份格式应为 YYYY-MM / Month must be YYYY-MM"))
        return redirect("billing-followup-rankings")
    entries = svc.watch_list_update(month=month)
    messages.success(
        request,
        _("已将 %(n)s 个对象列入重点监测 / %(n)s put on the watch list") % {"n": len(entries)},
    )
    return redirect(reverse("billing-followup-rankings") + f"?month={month:%Y-%m}")


urlpatterns = [
    path("", office_list, name="billing-followup"),
    path("ward/", ward_list, name="billing-followup-ward"),
    path("act/", act, name="billing-followup-act"),
    path("rankings/", rankings_page, name="billing-followup-rankings"),
    path("rankings/watch/", watch_update, name="billing-followup-watch"),
]
