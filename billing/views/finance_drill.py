"""Pages of the drill-down: a department, one item of a department, one exception with the
stock moves and charge lines behind it (``billing.selectors.drill``). A fixed number of queries
per page; every table downloads as XLSX or CSV. Roles: ``FINANCE_ROLES``."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.selectors import drill, variance
from billing.selectors.common import KIND_LABELS_EN, Period, kind_label
from billing.selectors.ward import patient_name_for
from config.permissions import role_required
from consumables.models import Consumable
from organisation.models import Department

from ..reconciliation import threshold_pct
from .finance_chart import variance_chart
from .finance_period import query
from .finance_shared import (
    EXCEPTION_COLUMNS,
    FINANCE_ROLES,
    bad_period,
    days_table,
    exception_rows,
    kinds_table,
    period_name,
    period_or_400,
    who,
)
from .finance_tables import Col, Table, export_or_none


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
        days_table(days, f"{stem}-days"),
        kinds_table(period, f"{stem}-kinds", department_code=department.code),
    ]
    title = _("%(name)s（%(code)s）%(period)s") % {
        "name": department.name, "code": department.code, "period": period_name(period)
    }
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
            "chart": variance_chart(
                days, target, title=_("每日差异率 / Daily variance") + f" · {title}"
            ),
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
    title = _("%(department)s · %(name)s（%(code)s）%(period)s") % {
        "department": department.name,
        "name": consumable.name,
        "code": material_code,
        "period": period_name(period),
    }
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
    "receive": gettext_lazy("入库 / receive"),
    "issue": gettext_lazy("出库 / issue"),
    "transfer": gettext_lazy("调拨 / transfer"),
    "use": gettext_lazy("使用 / use"),
    "return": gettext_lazy("退回 / return"),
    "scrap": gettext_lazy("报损 / scrap"),
    "adjust": gettext_lazy("盘点调整 / adjust"),
}


def _evidence_tables(exception, stem: str) -> list[Table]:
    evidence = drill.evidence_for(exception)
    moves = [
        {
            **m,
            "kind_label": MOVE_KIND.get(m["kind"], m["kind"]),
            "who": who(m),
            "ownership": {"consignment": _("寄售/跟台"), "owned": _("自有")}.get(
                m["receipt_line__receipt__ownership"] or "", ""
            ),
        }
        for m in drill.moves_behind(evidence)
    ]
    charges = [
        {
            **c,
            "net": c["quantity"] - c["refunded"],
            "source_label": _("扫码计费 / scan") if c["source"] == "scan" else _("HIS 计费 / HIS"),
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
        raise Http404(_("没有这条异常 / no such exception"))
    stem = f"finance-exception-{pk}"
    tables = _evidence_tables(exception, stem)
    day = date_format(exception.run.date, "SHORT_DATE_FORMAT")
    title = f"{kind_label(exception.kind)} · {day} · {exception.ref}"
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
