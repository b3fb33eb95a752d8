"""Finance dashboard (财务看板) for finance and the insurance office, and the month view.

The daily stock-vs-charge variance over the last 7/30/90 days (or a calendar month) as a
chart and a table, with the departments ranked by variance and by findings. Everything is
read from the stored reconciliation (``billing.reports``) with a fixed number of queries per
page, whatever the number of days and departments. Every table downloads as XLSX or CSV from
the same URL (``?table=<key>&format=xlsx|csv``). Roles: ``FINANCE_ROLES`` (finance, the
insurance office, administrators), who read every department.

The dashboard also carries the "reconcile this day now" form (``reconcile_now``, POST only):
``billing.services.reconcile_now`` runs the day (or queues it when a worker does the runs), and the
dashboard then shows that day with the run's result.

The other finance pages: ``finance_drill`` (department -> item -> exception),
``finance_people`` (findings by person), ``finance_theatre`` (每日手术室高值耗材报表) and
``finance_prices`` (四价统一); ``urlpatterns`` gathers them.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from billing.selectors import variance
from billing.selectors.common import Period, kind_label
from billing.services import reconcile_now as reconcile_service
from config.bounds import date_in_range
from config.errors import DomainError
from config.i18n import pair
from config.permissions import role_required
from organisation.models import Department

from ..models import ReconciliationRun
from ..reconciliation import threshold_pct
from . import finance_drill, finance_people, finance_prices, finance_stock, finance_theatre
from .finance_chart import variance_chart
from .finance_period import PeriodForm, month_of, period_from, query, shift_month
from .finance_shared import (
    FINANCE_ROLES,
    bad_period,
    days_table,
    department_link,
    exceptions_table,
    kinds_table,
    period_name,
)
from .finance_tables import Col, Table, export_or_none


def _variance_table(period: Period, filename: str) -> Table:
    rows = []
    for rank, row in enumerate(variance.departments_by_variance(period), start=1):
        rows.append(
            {
                **row,
                "rank": rank,
                "kind": Department.Kind(row["department__kind"]).label,
                "href": department_link(period, row["department__code"]),
                "css": "over" if row["over"] else "",
            }
        )
    return Table(
        "by_variance",
        "科室差异排名",
        "departments by variance",
        [
            Col("rank", "排名", "rank", "int"),
            Col("department__code", "科室编码", "department", "code", link="href"),
            Col("department__name", "科室", "name"),
            Col("kind", "类型", "kind"),
            Col("used", "净使用", "used", "int"),
            Col("billed", "净计费", "billed", "int"),
            Col("gross_qty", "差异数量（绝对值）", "gross variance", "int"),
            Col("gross_pct", "差异率", "variance rate", "pct"),
            Col("net_amount", "差异金额（净）", "net amount", "money"),
            Col("gross_amount", "差异金额（绝对值）", "gross amount", "money"),
        ],
        rows,
        filename,
        row_class="css",
    )


class ReconcileDayForm(forms.Form):
    day = forms.DateField(
        label=gettext_lazy("营业日 / Business day"),
        input_formats=["%Y-%m-%d"],
        validators=[date_in_range],
    )


def _reconciled_run(request) -> ReconciliationRun | None:
    """The run named by ``?reconciled=YYYY-MM-DD`` (the day just reconciled), if any."""
    try:
        day = dt.date.fromisoformat(request.GET.get("reconciled") or "")
    except ValueError:
        return None
    return ReconciliationRun.objects.filter(date=day).first()


def _run_result(run: ReconciliationRun | None) -> dict | None:
    if run is None:
        return None
    totals = run.totals or {}
    counts = totals.get("exceptions_by_kind") or {}
    by_kind = [(kind_label(kind), count) for kind, count in counts.items()]
    return {"run": run, "totals": totals, "by_kind": by_kind}


def _overview(request, *, period: Period, form, month: str | None):
    stem = f"finance-{month}" if month else f"finance-{period.start}-{period.end}"
    days = variance.daily_series(period)
    tables = [
        days_table(days, f"{stem}-days"),
        _variance_table(period, f"{stem}-departments-variance"),
        exceptions_table(period, f"{stem}-departments-exceptions"),
        kinds_table(period, f"{stem}-kinds"),
    ]
    if month:
        title = _("财务月报 %(month)s") % {"month": month}
    else:
        title = _("财务看板 %(period)s") % {"period": period_name(period)}
    download = export_or_none(request, tables, title)
    if download:
        return download
    target = threshold_pct()
    context = {
        "form": form,
        "period": period,
        "period_query": query(period),
        "month": month,
        "title": title,
        "target": target,
        "totals": variance.period_totals(days),
        "chart": variance_chart(
            days, target, title=_("每日差异率 / Daily variance rate") + f" · {title}"
        ),
        "tables": tables,
    }
    if not month:
        yesterday = reconcile_service.today() - dt.timedelta(days=1)
        context["reconcile_form"] = ReconcileDayForm(initial={"day": yesterday.isoformat()})
        context["reconciled"] = _run_result(_reconciled_run(request))
    if month:
        context["previous_month"] = shift_month(month, -1)
        context["next_month"] = shift_month(month, 1)
    return render(request, "billing/finance/dashboard.html", context)


@role_required(*FINANCE_ROLES)
def dashboard(request):
    form = PeriodForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return bad_period(request, form)
    period = period_from(form)
    return _overview(request, period=period, form=form, month=None)


@role_required(*FINANCE_ROLES)
def month_view(request):
    form = PeriodForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return bad_period(request, form)
    month = (form.cleaned_data.get("month") if form.is_bound else None) or month_of(
        period_from(form).end
    )
    year, number = (int(x) for x in month.split("-"))
    return _overview(request, period=Period.month(year, number), form=form, month=month)


@require_POST
@role_required(*FINANCE_ROLES)
def reconcile_now(request):
    """Reconcile the day posted now, then show the dashboard of that day with the result."""
    form = ReconcileDayForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择要对账的营业日 / choose the business day to reconcile"))
        return redirect("billing-finance")
    day = form.cleaned_data["day"]
    try:
        outcome = reconcile_service.reconcile_day_now(day=day, user=request.user)
    except DomainError as error:
        messages.error(
            request,
            _("%(message)s（%(code)s）")
            % {"message": pair(error.message, error.message_en), "code": error.code},
        )
        return redirect("billing-finance")
    if outcome.error:
        messages.error(
            request,
            _("%(day)s 对账失败，原有结果保留不变：%(error)s / the reconciliation of %(day)s "
              "failed; the previous result stands: %(error)s")
            % {"day": day.isoformat(), "error": outcome.error},
        )  # fmt: skip
    elif outcome.queued:
        messages.info(
            request,
            _("%(day)s 已排队对账，完成后刷新本页查看结果 / %(day)s is queued; reload this page "
              "when the worker has finished")
            % {"day": day.isoformat()},
        )  # fmt: skip
    else:
        totals = outcome.run.totals
        messages.success(
            request,
            _("%(day)s 已对账：差异行 %(rows)s 行，异常 %(exceptions)s 条 / %(day)s reconciled: "
              "%(rows)s rows, %(exceptions)s exceptions")
            % {"day": day.isoformat(), "rows": totals.get("rows", 0),
               "exceptions": totals.get("exceptions", 0)},
        )  # fmt: skip
    query = urlencode({"since": day, "until": day, "reconciled": day})
    return redirect(reverse("billing-finance") + "?" + query)


urlpatterns = [
    path("", dashboard, name="billing-finance"),
    path("reconcile/", reconcile_now, name="billing-finance-reconcile"),
    path("month/", month_view, name="billing-finance-month"),
    path(
        "departments/<str:code>/", finance_drill.department_page, name="billing-finance-department"
    ),
    path(
        "departments/<str:code>/items/<str:material_code>/",
        finance_drill.item_page,
        name="billing-finance-item",
    ),
    path("exceptions/<int:pk>/", finance_drill.exception_page, name="billing-finance-exception"),
    *finance_people.urlpatterns,
    *finance_theatre.urlpatterns,
    *finance_prices.urlpatterns,
    *finance_stock.urlpatterns,
]
