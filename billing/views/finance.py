"""Finance dashboard (财务看板) for finance and the insurance office, and its drill-down.

Pages: the dashboard over the last 7/30/90 days, the month view, a department, one item of a
department, one exception with the moves and charges behind it. Everything is read from the
stored reconciliation (``billing.reports``) with a fixed number of queries per page,
whatever the number of days and departments. Every table downloads as XLSX or CSV from the
same URL (``?table=<key>&format=xlsx|csv``). Roles: ``FINANCE_ROLES`` (finance, the
insurance office, administrators), who read every department.

The other finance pages live in ``finance_people`` (findings by person), ``finance_theatre``
(每日手术室高值耗材报表) and ``finance_prices`` (四价统一); ``urlpatterns`` gathers them.
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse

from config.permissions import role_required
from consumables.models import Consumable
from inventory.models import Department

from ..models import ReconciliationRun
from ..reports import drill, variance
from ..reports.common import KIND_LABELS_EN, Period, kind_label, threshold_pct
from ..selectors import patient_name_for
from . import finance_people, finance_prices, finance_theatre
from .finance_chart import variance_chart
from .finance_period import PeriodForm, month_of, period_from, query, shift_month
from .finance_shared import (
    EXCEPTION_COLUMNS,
    FINANCE_ROLES,
    bad_period,
    department_link,
    exception_rows,
    exceptions_table,
    kinds_table,
    period_name,
    period_or_400,
    who,
)
from .finance_tables import Col, Table, export_or_none

RUN_STATUS = dict(ReconciliationRun.Status.choices)
NOT_RUN = "未对账 / not run"

DAY_COLUMNS = [
    Col("date", "业务日", "day", "date"),
    Col("status", "对账状态", "run"),
    Col("used", "净使用", "used", "int"),
    Col("billed", "净计费", "billed", "int"),
    Col("net_qty", "差异数量（净）", "net variance", "int"),
    Col("gross_qty", "差异数量（绝对值）", "gross variance", "int"),
    Col("gross_pct", "差异率", "variance rate", "pct"),
    Col("net_amount", "差异金额（净）", "net amount", "money"),
    Col("gross_amount", "差异金额（绝对值）", "gross amount", "money"),
    Col("exceptions", "异常条数", "exceptions", "int"),
]


def _day_rows(days) -> list[dict]:
    figures = (
        "used",
        "billed",
        "net_qty",
        "gross_qty",
        "gross_pct",
        "net_amount",
        "gross_amount",
        "exceptions",
    )
    return [
        {
            # A day never reconciled has no figures, not zeros.
            **{k: getattr(d, k) if d.has_result else None for k in figures},
            "date": d.date,
            "status": RUN_STATUS.get(d.status, NOT_RUN),
            "over": "over" if d.over else "",
        }
        for d in days
    ]


def _days_table(days, filename: str) -> Table:
    return Table(
        "days",
        "每日差异",
        "daily variance",
        DAY_COLUMNS,
        _day_rows(days),
        filename,
        row_class="over",
        note="差异率 = Σ|使用 − 计费| ÷ Σ使用（按科室·品种取绝对值）/ gross rate",
    )


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
            Col("items", "品种数", "items", "int"),
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


def _overview(request, *, period: Period, form, month: str | None):
    stem = f"finance-{month}" if month else f"finance-{period.start}-{period.end}"
    days = variance.daily_series(period)
    tables = [
        _days_table(days, f"{stem}-days"),
        _variance_table(period, f"{stem}-departments-variance"),
        exceptions_table(period, f"{stem}-departments-exceptions"),
        kinds_table(period, f"{stem}-kinds"),
    ]
    title = ("财务月报 " + month) if month else ("财务看板 " + period_name(period))
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
        "chart": variance_chart(days, target, title=f"每日差异率 / Daily variance rate · {title}"),
        "tables": tables,
    }
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


@role_required(*FINANCE_ROLES)
def department_page(request, code: str):
    form, period = period_or_400(request)
    if period is None:
        return bad_period(request, form)
    department = get_object_or_404(Department, code=code)
    stem = f"finance-{code}-{period.start}-{period.end}"
    items = []
    for row in variance.department_items(period, department):
        items.append(
            {
                **row,
                "value_class": Consumable.ValueClass(row["consumable__value_class"]).label,
                "href": reverse(
                    "billing-finance-item", args=[code, row["consumable__material_code"]]
                )
                + "?"
                + query(period),
                "css": "over" if row["over"] else "",
            }
        )
    days = variance.daily_series(period, department=department)
    tables = [
        Table(
            "items",
            "品种差异排名",
            "items by variance",
            [
                Col("consumable__material_code", "物资编码", "material code", "code", link="href"),
                Col("consumable__name", "名称", "name"),
                Col("consumable__spec", "规格", "spec"),
                Col("value_class", "价值类别", "value class"),
                Col("used", "净使用", "used", "int"),
                Col("billed", "净计费", "billed", "int"),
                Col("gross_qty", "差异数量（绝对值）", "gross variance", "int"),
                Col("gross_pct", "差异率", "variance rate", "pct"),
                Col("net_amount", "差异金额（净）", "net amount", "money"),
                Col("gross_amount", "差异金额（绝对值）", "gross amount", "money"),
                Col("findings", "问题数", "findings", "int"),
            ],
            items,
            f"{stem}-items",
            row_class="css",
        ),
        _days_table(days, f"{stem}-days"),
        kinds_table(period, f"{stem}-kinds", department_code=department.code),
    ]
    title = f"{department.name}（{department.code}）{period_name(period)}"
    download = export_or_none(request, tables, title)
    if download:
        return download
    target = threshold_pct()
    return render(
        request,
        "billing/finance/department.html",
        {
            "form": form,
            "period": period,
            "period_query": query(period),
            "department": department,
            "title": title,
            "target": target,
            "totals": variance.period_totals(days),
            "chart": variance_chart(days, target, title=f"每日差异率 / Daily variance · {title}"),
            "tables": tables,
        },
    )


@role_required(*FINANCE_ROLES)
def item_page(request, code: str, material_code: str):
    form, period = period_or_400(request)
    if period is None:
        return bad_period(request, form)
    department = get_object_or_404(Department, code=code)
    consumable = get_object_or_404(Consumable, material_code=material_code)
    stem = f"finance-{code}-{material_code}-{period.start}-{period.end}"
    days = [
        {**row, "css": "over" if row["over"] else ""}
        for row in variance.item_days(period, department, consumable)
    ]
    exceptions = drill.item_exceptions(period, department_code=code, material_code=material_code)
    tables = [
        Table(
            "exceptions",
            "异常明细",
            "exceptions",
            EXCEPTION_COLUMNS,
            lambda: exception_rows(exceptions),
            f"{stem}-exceptions",
        ),
        Table(
            "days",
            "每日进销存",
            "daily figures",
            [
                Col("run__date", "业务日", "day", "date"),
                Col("received", "入库", "received", "int"),
                Col("issued", "出库/领用", "issued", "int"),
                Col("used", "净使用", "used", "int"),
                Col("billed", "净计费", "billed", "int"),
                Col("variance_qty", "差异数量", "variance", "int"),
                Col("variance_pct", "差异率", "variance rate", "pct"),
                Col("variance_amount", "差异金额", "variance amount", "money"),
            ],
            days,
            f"{stem}-days",
            row_class="css",
        ),
    ]
    title = f"{department.name} · {consumable.name}（{material_code}）{period_name(period)}"
    download = export_or_none(request, tables, title)
    if download:
        return download
    return render(
        request,
        "billing/finance/item.html",
        {
            "form": form,
            "period": period,
            "period_query": query(period),
            "department": department,
            "consumable": consumable,
            "title": title,
            "tables": tables,
        },
    )


MOVE_KIND = {
    "receive": "入库 / receive",
    "issue": "出库 / issue",
    "transfer": "调拨 / transfer",
    "use": "使用 / use",
    "return": "退回 / return",
    "scrap": "报损 / scrap",
    "adjust": "盘点调整 / adjust",
}


def _evidence_tables(exception, stem: str) -> list[Table]:
    evidence = drill.evidence_for(exception)
    moves = [
        {
            **m,
            "kind_label": MOVE_KIND.get(m["kind"], m["kind"]),
            "who": who(m),
            "ownership": {"consignment": "寄售/跟台", "owned": "自有"}.get(
                m["receipt_line__receipt__ownership"] or "", ""
            ),
        }
        for m in drill.moves_behind(evidence)
    ]
    charges = [
        {
            **c,
            "net": c["quantity"] - c["refunded"],
            "source_label": "扫码计费 / scan" if c["source"] == "scan" else "HIS 计费 / HIS",
            "who": who(c),
        }
        for c in drill.charges_behind(evidence)
    ]
    return [
        Table(
            "moves",
            "库存流水",
            "stock moves",
            [
                Col("occurred_at", "时间", "at", "datetime"),
                Col("kind_label", "类型", "kind"),
                Col("from_location__name", "从", "from"),
                Col("to_location__name", "到", "to"),
                Col("quantity", "数量", "quantity", "int"),
                Col("lot__lot_no", "批号", "lot", "code"),
                Col("use__tracked_unit__serial", "序列号/院内码", "serial", "code"),
                Col("encounter_no", "住院号", "visit no.", "code"),
                Col("receipt_line__receipt__supplier__name", "供应商", "supplier"),
                Col("receipt_line__receipt__invoice_no", "发票号", "invoice", "code"),
                Col("ownership", "所有权", "ownership"),
                Col("receipt_line__unit_cost", "入库单价", "unit cost", "price"),
                Col("who", "操作人", "by"),
            ],
            moves,
            f"{stem}-moves",
        ),
        Table(
            "charges",
            "计费明细",
            "charge lines",
            [
                Col("pk", "计费号", "charge", "code"),
                Col("charged_at", "计费时间", "charged at", "datetime"),
                Col("encounter__visit_no", "住院号", "visit no.", "code"),
                Col("department__code", "科室", "department", "code"),
                Col("charge_code", "计费编码", "charge code", "code"),
                Col("order_code", "医嘱编码", "order code", "code"),
                Col("order__order_id", "医嘱号", "order", "code"),
                Col("quantity", "计费数量", "charged", "int"),
                Col("refunded", "已退费", "refunded", "int"),
                Col("net", "净计费", "net", "int"),
                Col("unit_price", "单价", "unit price", "price"),
                Col("amount", "金额", "amount", "money"),
                Col("source_label", "来源", "source"),
                Col("self_pay", "自费", "self-pay", "bool"),
                Col("who", "操作人", "by"),
            ],
            charges,
            f"{stem}-charges",
        ),
    ]


@role_required(*FINANCE_ROLES)
def exception_page(request, pk: int):
    exception = drill.exception_with_run(pk)
    if exception is None:
        raise Http404("没有这条异常 / no such exception")
    stem = f"finance-exception-{pk}"
    tables = _evidence_tables(exception, stem)
    title = f"{kind_label(exception.kind)} · {exception.run.date:%Y-%m-%d} · {exception.ref}"
    download = export_or_none(request, tables, title)
    if download:
        return download
    encounter = drill.encounter_of(exception)
    period = Period.ending(exception.run.date, 30)
    back = None
    if exception.department_code and exception.material_code:
        back = (
            reverse(
                "billing-finance-item", args=[exception.department_code, exception.material_code]
            )
            + "?"
            + query(period)
        )
    return render(
        request,
        "billing/finance/exception.html",
        {
            "exception": exception,
            "label": kind_label(exception.kind),
            "label_en": KIND_LABELS_EN.get(exception.kind, ""),
            "explanation": drill.explanation(exception),
            "encounter": encounter,
            "patient_name": (
                patient_name_for(request.user, encounter.patient.name) if encounter else ""
            ),
            "back": back,
            "title": title,
            "tables": tables,
        },
    )


urlpatterns = [
    path("", dashboard, name="billing-finance"),
    path("month/", month_view, name="billing-finance-month"),
    path("departments/<str:code>/", department_page, name="billing-finance-department"),
    path(
        "departments/<str:code>/items/<str:material_code>/",
        item_page,
        name="billing-finance-item",
    ),
    path("exceptions/<int:pk>/", exception_page, name="billing-finance-exception"),
    *finance_people.urlpatterns,
    *finance_theatre.urlpatterns,
    *finance_prices.urlpatterns,
]
