"""Page: findings by person (个人问题排名) over a period, and one person's exceptions.

Staff are ranked by the findings of the reconciliation whose use, charge or receipt they
recorded; the first three are marked for the monthly follow-up many hospitals run. The
departments are ranked beside them. Roles: finance, the insurance office, administrators.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.translation import gettext as _

from billing.selectors import people
from billing.selectors.common import KIND_LABELS_EN, KIND_ORDER, Period, display_name, kind_label
from config.permissions import role_required

from .finance_period import query
from .finance_shared import (
    EXCEPTION_COLUMNS,
    FINANCE_ROLES,
    bad_period,
    exception_rows,
    exceptions_table,
    period_name,
    period_or_400,
)
from .finance_tables import Col, Table, export_or_none

# Kinds about a department and item or a price, never a person.
RUN_LEVEL_KINDS = ("VARIANCE_OVER_THRESHOLD", "STOCK_CONSUMPTION_VARIANCE", "FOUR_PRICE_MISALIGNED")


def _person_link(period: Period, user_id: int) -> str:
    return reverse("billing-finance-person", args=[user_id]) + "?" + query(period)


def people_table(period: Period, filename: str) -> Table:
    rows = [
        {
            **row,
            **{f"k_{k}": n for k, n in row["by_kind"].items()},
            "departments_text": _("、").join(
                _("%(code)s（%(n)s）") % {"code": code or "—", "n": n}
                for code, n in row["departments"]
            ),
            "follow": _("重点跟踪 / follow up") if row["follow_up"] else "",
            "css": "follow-up" if row["follow_up"] else "",
            "href": _person_link(period, row["user_id"]),
        }
        for row in people.people_ranking(period)
    ]
    return Table(
        "people",
        "人员问题排名",
        "staff by findings",
        [
            Col("rank", "排名", "rank", "int"),
            Col("name", "人员", "person", link="href"),
            Col("departments_text", "科室（问题数）", "departments"),
            Col("findings", "问题数", "findings", "int"),
            Col("rows", "报告天次", "day reports", "int"),
            *[
                Col(f"k_{k}", kind_label(k), KIND_LABELS_EN[k], "int")
                for k in KIND_ORDER
                if k not in RUN_LEVEL_KINDS
            ],
            Col("follow", "月度跟踪", "monthly follow-up"),
        ],
        rows,
        filename,
        row_class="css",
        note=_(
            "问题按使用、计费、入库的操作人归属；进销存差异与四价问题不归属个人 / "
            "attributed to whoever recorded the use, charge or receipt"
        ),
    )


@role_required(*FINANCE_ROLES)
def people_page(request):
    form, period = period_or_400(request)
    if period is None:
        return bad_period(request, form)
    stem = f"finance-people-{period.start}-{period.end}"
    tables = [
        people_table(period, f"{stem}-staff"),
        exceptions_table(period, f"{stem}-departments"),
    ]
    title = _("问题人员排名 %(period)s") % {"period": period_name(period)}
    download = export_or_none(request, tables, title)
    if download:
        return download
    return render(
        request,
        "billing/finance/people.html",
        {
            "form": form,
            "period": period,
            "period_query": query(period),
            "title": title,
            "tables": tables,
            "unattributed": people.unattributed_count(period),
            "top": people.FOLLOW_UP_TOP,
        },
    )


@role_required(*FINANCE_ROLES)
def person_page(request, user_id: int):
    form, period = period_or_400(request)
    if period is None:
        return bad_period(request, form)
    person = get_object_or_404(get_user_model(), pk=user_id)
    name = display_name(person.first_name, person.last_name, person.username)
    rows = people.person_exceptions(period, user_id)
    columns = [Col("department_code", "科室", "department", "code"), *EXCEPTION_COLUMNS]
    columns.insert(4, Col("material_code", "物资编码", "material code", "code"))
    tables = [
        Table(
            "exceptions",
            "异常明细",
            "exceptions",
            columns,
            lambda: exception_rows(rows),
            f"finance-person-{person.username}-{period.start}-{period.end}",
        )
    ]
    title = _("%(name)s 的问题 %(period)s") % {"name": name, "period": period_name(period)}
    download = export_or_none(request, tables, title)
    if download:
        return download
    return render(
        request,
        "billing/finance/person.html",
        {
            "form": form,
            "period": period,
            "period_query": query(period),
            "person_name": name,
            "title": title,
            "tables": tables,
        },
    )


urlpatterns = [
    path("people/", people_page, name="billing-finance-people"),
    path("people/<int:user_id>/", person_page, name="billing-finance-person"),
]
