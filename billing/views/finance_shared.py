"""What the finance pages share: roles, the period's 400 page, the exception and
department tables (used by the dashboard, the drill-down and the people report)."""

from __future__ import annotations

from django.shortcuts import render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.selectors import drill, variance
from billing.selectors.common import KIND_LABELS_EN, KIND_ORDER, Period, display_name, kind_label
from config.permissions import READ_ALL_ROLES

from ..models import ReconciliationRun
from .finance_period import PeriodForm, period_from, query
from .finance_tables import Col, Table

# Finance, the insurance office and administrators read every department
# (config.permissions.READ_ALL_ROLES), so the pages check the role only.
FINANCE_ROLES = READ_ALL_ROLES


def bad_period(request, form, template="billing/finance/bad_request.html"):
    return render(request, template, {"form": form}, status=400)


def period_or_400(request):
    form = PeriodForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return form, None
    return form, period_from(form)


def department_link(period: Period, code: str) -> str:
    return reverse("billing-finance-department", args=[code]) + "?" + query(period)


KIND_COLUMNS = [Col(f"k_{k}", kind_label(k), KIND_LABELS_EN[k], "int") for k in KIND_ORDER]


def exceptions_table(period: Period, filename: str) -> Table:
    rows = []
    for rank, row in enumerate(variance.departments_by_exceptions(period), start=1):
        rows.append(
            {
                **row,
                **{f"k_{k}": n for k, n in row["by_kind"].items()},
                "rank": rank,
                "href": department_link(period, row["department_code"]),
            }
        )
    return Table(
        "by_exceptions",
        "科室异常排名",
        "departments by exceptions",
        [
            Col("rank", "排名", "rank", "int"),
            Col("department_code", "科室编码", "department", "code", link="href"),
            Col("department_name", "科室", "name"),
            Col("findings", "问题数", "findings", "int"),
            Col("rows", "报告天次", "day reports", "int"),
            *KIND_COLUMNS,
        ],
        rows,
        filename,
        note=_(
            "同一就诊同一耗材连续多日被报告，计为一个问题 / "
            "a pair reported on several days is one finding"
        ),
    )


def kinds_table(period: Period, filename: str, department_code: str | None = None) -> Table:
    rows = [
        {**row, "label": kind_label(row["kind"]), "en": KIND_LABELS_EN[row["kind"]]}
        for row in variance.exceptions_by_kind(period, department_code=department_code)
    ]
    return Table(
        "by_kind",
        "异常类型",
        "exceptions by kind",
        [
            Col("label", "类型", "kind"),
            Col("kind", "代码", "code", "code"),
            Col("findings", "问题数", "findings", "int"),
            Col("rows", "报告天次", "day reports", "int"),
        ],
        rows,
        filename,
    )


def period_name(period: Period) -> str:
    return _("%(start)s 至 %(end)s") % {
        "start": date_format(period.start, "SHORT_DATE_FORMAT"),
        "end": date_format(period.end, "SHORT_DATE_FORMAT"),
    }


def exception_rows(exceptions) -> list[dict]:
    return [
        {
            "date": e.run.date,
            "label": kind_label(e.kind),
            "kind": e.kind,
            "department_code": e.department_code,
            "material_code": e.material_code,
            "encounter_no": e.encounter_no,
            "quantity": e.quantity,
            "ref": e.ref,
            "explanation": drill.explanation(e),
            "href": reverse("billing-finance-exception", args=[e.pk]),
        }
        for e in exceptions
    ]


EXCEPTION_COLUMNS = [
    Col("date", "业务日", "day", "date"),
    Col("label", "异常类型", "kind", link="href"),
    Col("kind", "代码", "code", "code"),
    Col("encounter_no", "住院号", "visit no.", "code"),
    Col("quantity", "数量", "quantity", "int"),
    Col("explanation", "说明", "explanation"),
    Col("ref", "单据", "ref", "code"),
]


def who(row: dict) -> str:
    return display_name(row["user__first_name"], row["user__last_name"], row["user__username"])


RUN_STATUS = dict(ReconciliationRun.Status.choices)
NOT_RUN = gettext_lazy("未对账 / not run")

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


def day_rows(days) -> list[dict]:
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
            "status": str(RUN_STATUS.get(d.status, NOT_RUN)),
            "over": "over" if d.over else "",
        }
        for d in days
    ]


def days_table(days, filename: str) -> Table:
    return Table(
        "days",
        "每日差异",
        "daily variance",
        DAY_COLUMNS,
        day_rows(days),
        filename,
        row_class="over",
        note=_("差异率 = Σ|使用 − 计费| ÷ Σ使用（按科室·品种取绝对值）/ gross rate"),
    )
