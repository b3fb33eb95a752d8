"""Page: 每日手术室高值耗材报表, the theatres' high-value daily report.

Every high-value unit used in a theatre on the day, with its patient, charge, supplier and
ownership (寄售/跟台 or hospital-owned), and the day's totals per supplier for settling
consignment stock. ``?date=YYYY-MM-DD`` (default yesterday, the day finance closes in the
morning) and ``?department=<theatre code>``.

Patient names: the insurance office and administrators see them in full (they answer the
patient's and the auditors' questions about one named claim); finance sees the surname
only, with the visit number, which is enough to settle charges and suppliers
(``billing.selectors.patient_name_for``). Downloads carry the name as the viewer sees it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django import forms
from django.shortcuts import render
from django.urls import path
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from billing.selectors import theatre
from billing.selectors.common import ZERO
from billing.selectors.ward import patient_name_for
from config.bounds import date_in_range
from config.permissions import role_required
from organisation.models import Department

from .finance_period import today
from .finance_shared import FINANCE_ROLES
from .finance_tables import Col, Table, export_or_none

OWNERSHIP = {True: _("寄售/跟台 / consignment"), False: _("医院自有 / hospital-owned")}


class TheatreForm(forms.Form):
    date = forms.DateField(
        label=_("日期 / Date"),
        required=False,
        input_formats=["%Y-%m-%d"],
        validators=[date_in_range],  # the day before and after stay in the calendar
    )
    department = forms.ModelChoiceField(
        label=_("手术室 / Theatre"),
        queryset=Department.objects.filter(kind=Department.Kind.THEATRE).order_by("code"),
        to_field_name="code",
        required=False,
        empty_label=_("全部手术室 / all theatres"),
    )


USE_COLUMNS = [
    Col("occurred_at", "使用时间", "used at", "datetime"),
    Col("department__name", "手术室", "theatre"),
    Col("encounter__visit_no", "住院号", "visit no.", "code"),
    Col("patient_name", "患者", "patient"),
    Col("consumable__material_code", "物资编码", "material code", "code"),
    Col("consumable__name", "名称", "name"),
    Col("consumable__spec", "规格型号", "spec"),
    Col("lot__lot_no", "批号", "lot", "code"),
    Col("tracked_unit__serial", "序列号/院内码", "serial / label", "code"),
    Col("udi_di", "UDI-DI", "UDI-DI", "code"),
    Col("net_used", "数量", "quantity", "int"),
    Col("charge__unit_price", "收费单价", "unit price", "price"),
    Col("net_charged", "净计费", "net charged", "int"),
    Col("charged_amount", "计费金额", "charged amount", "money"),
    Col("status_label", "计费状态", "charge status"),
    Col("supplier_name", "供应商", "supplier"),
    Col("ownership_label", "所有权", "ownership"),
    Col("invoice_no", "发票号", "invoice", "code"),
    Col("user_name", "操作人", "by"),
]


def _by_supplier(rows: list[dict]) -> list[dict]:
    groups: dict[tuple, dict] = defaultdict(
        lambda: {"uses": 0, "units": 0, "charged_amount": ZERO, "problems": 0}
    )
    for row in rows:
        key = (row["supplier_code"] or "", row["supplier_name"] or "", row["consignment"])
        group = groups[key]
        group["uses"] += 1
        group["units"] += row["net_used"]
        group["charged_amount"] += row["charged_amount"] or ZERO
        group["problems"] += 1 if row["problem"] else 0
    return [
        {
            "supplier_code": code,
            "supplier_name": name,
            "ownership_label": OWNERSHIP[consignment],
            **figures,
        }
        for (code, name, consignment), figures in sorted(groups.items())
    ]


@role_required(*FINANCE_ROLES)
def theatre_report(request):
    form = TheatreForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "billing/finance/bad_request.html", {"form": form}, status=400)
    data = form.cleaned_data if form.is_bound else {}
    day = data.get("date") or today() - dt.timedelta(days=1)
    department = data.get("department")
    rows = theatre.theatre_uses(day=day, department=department)
    for row in rows:
        row["patient_name"] = patient_name_for(request.user, row["encounter__patient__name"])
        row["ownership_label"] = OWNERSHIP[row["consignment"]] if row["ownership"] else "—"
        row["css"] = "problem" if row["problem"] else ""
    where = department.code if department else "all"
    stem = f"theatre-high-value-{day}-{where}"
    tables = [
        Table(
            "uses", "高值耗材使用明细", "high-value uses", USE_COLUMNS, rows, stem, row_class="css"
        ),
        Table(
            "suppliers",
            "按供应商汇总",
            "by supplier",
            [
                Col("supplier_code", "供应商编码", "supplier code", "code"),
                Col("supplier_name", "供应商", "supplier"),
                Col("ownership_label", "所有权", "ownership"),
                Col("uses", "使用次数", "uses", "int"),
                Col("units", "数量", "units", "int"),
                Col("charged_amount", "计费金额", "charged amount", "money"),
                Col("problems", "计费问题", "charge problems", "int"),
            ],
            _by_supplier(rows),
            f"{stem}-suppliers",
        ),
    ]
    place = f"{department.name}" if department else gettext("全部手术室")
    title = gettext("每日手术室高值耗材报表 %(day)s %(place)s") % {
        "day": date_format(day, "SHORT_DATE_FORMAT"),
        "place": place,
    }
    download = export_or_none(request, tables, title)
    if download:
        return download
    return render(
        request,
        "billing/finance/theatre.html",
        {
            "form": form,
            "day": day,
            "department": department,
            "previous_day": day - dt.timedelta(days=1),
            "next_day": day + dt.timedelta(days=1),
            "title": title,
            "totals": theatre.theatre_totals(rows),
            "tables": tables,
        },
    )


urlpatterns = [path("theatre/", theatre_report, name="billing-finance-theatre")]
