"""Page: 进销存 (stock in, out, on hand and billed) for finance and the insurance office.

Per department and item, for every period between two confirmed stocktakes whose closing
count was posted in the chosen business days (the finance pages' period form): the opening
and closing counts, received, issued in and out, scrapped, consumed from the counts, used
from the scans, billed, and the stock-side variance rate beside the use-side one, against the
threshold (``RECONCILIATION_VARIANCE_THRESHOLD_PCT``, the 5% line). The figures are the
nightly ``STOCK_CONSUMPTION_VARIANCE``'s (``billing.selectors.stock_side``): a row flagged
here is a finding of the run of the day its closing count was posted. Downloads as XLSX or
CSV through ``finance_tables`` (``config.exports``). Roles: ``FINANCE_ROLES``.
"""

from __future__ import annotations

from decimal import Decimal

from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _

from billing.selectors import stock_side
from config.business_day import business_day_bounds
from config.permissions import role_required

from ..reconciliation import threshold_pct
from .finance_period import PeriodForm, period_from
from .finance_shared import FINANCE_ROLES, bad_period, period_name
from .finance_tables import Col, Table, export_or_none

# The bar of a rate spans 0 .. SCALE x the threshold; the threshold's line sits at 1/SCALE.
SCALE = 4

COLUMNS = [
    Col("department_code", "科室", "department", "code"),
    Col("material_code", "物资编码", "material code", "code"),
    Col("name", "名称", "name"),
    Col("opening", "期初结存", "opening", "int"),
    Col("received", "入库", "received", "int"),
    Col("issued_in", "领入/调入", "issued in", "int"),
    Col("issued_out", "出库/退库", "issued out", "int"),
    Col("scrapped", "报损", "scrapped", "int"),
    Col("closing", "期末结存", "closing", "int"),
    Col("consumed", "盘点消耗", "consumed (counts)", "int"),
    Col("used", "扫码使用", "used (scans)", "int"),
    Col("billed", "净计费", "billed", "int"),
    Col("stock_pct", "进销存差异率", "stock-side rate", "pct"),
    Col("use_pct", "使用差异率", "use-side rate", "pct"),
    Col("over_label", "超标", "over"),
    Col("opened_at", "期初盘点", "opening count at", "datetime"),
    Col("closed_at", "期末盘点", "closing count at", "datetime"),
]


def _bar(pct: Decimal | None, target: Decimal) -> dict | None:
    """Width (percent of the cell) of a rate's bar; the threshold line is at 100/SCALE."""
    if pct is None:
        return None
    limit = target * SCALE if target > 0 else Decimal(SCALE)
    return {"width": float(min(abs(pct), limit) / limit * 100), "over": abs(pct) > target}


@role_required(*FINANCE_ROLES)
def stock_page(request):
    form = PeriodForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return bad_period(request, form)
    period = period_from(form)
    target = threshold_pct()
    since, until = business_day_bounds(period.start)[0], business_day_bounds(period.end)[1]
    rows = stock_side.stock_periods(since=since, until=until, threshold_pct=target)
    for row in rows:
        row["over_label"] = _("超标 / over") if row["over"] else ""
        row["css"] = "over" if row["over"] else ""
        row["stock_bar"] = _bar(row["stock_pct"], target)
        row["use_bar"] = _bar(row["use_pct"], target)
    table = Table(
        "stock",
        "进销存",
        "stock in, out and billed",
        COLUMNS,
        rows,
        f"stock-{period.start}-{period.end}",
        row_class="css",
        empty=_(
            "本期没有两次盘点之间的区间 / no period between two confirmed stocktakes "
            "closed in these days"
        ),
    )
    title = _("进销存 %(period)s") % {"period": period_name(period)}
    download = export_or_none(request, [table], title)
    if download:
        return download
    body = table.body()
    for shown, row in zip(body, rows, strict=True):
        for column, cell in zip(COLUMNS, shown["cells"], strict=True):
            if column.key in ("stock_pct", "use_pct"):
                cell["bar"] = row[column.key.replace("_pct", "_bar")]
    return render(
        request,
        "billing/finance/stock.html",
        {
            "form": form,
            "period": period,
            "title": title,
            "target": target,
            "table": table,
            "body": body,
            "line_at": 100 / SCALE,
            "over_count": sum(row["over"] for row in rows),
        },
    )


urlpatterns = [path("stock/", stock_page, name="billing-finance-stock")]
