"""Page: the four-price report (四价统一报表) for the pricing office (物价办).

The consumables whose prices in force break the four-price rule now, and the platform or
VBP prices published to take effect in the next 30 days, each with whether the hospital's
approved prices will still hold on that date. Roles: the pricing office, finance, the
insurance office and administrators.
"""

from __future__ import annotations

from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.selectors import four_price
from config import roles
from config.permissions import has_role, role_required
from consumables.models import ExternalPrice

from .finance_shared import FINANCE_ROLES
from .finance_tables import Col, Table, export_or_none

PRICE_REPORT_ROLES = (roles.PRICING_OFFICE, *FINANCE_ROLES)
KIND = dict(ExternalPrice.Kind.choices)
VIOLATION_LABEL = {
    "NO_APPROVED_PRICE": gettext_lazy("无已批准价格"),
    "CHARGE_NE_PURCHASE": gettext_lazy("收费价≠采购价（零差率）"),
    "PURCHASE_NE_VBP": gettext_lazy("采购价≠集采价"),
    "PURCHASE_ABOVE_PLATFORM": gettext_lazy("采购价高于挂网价"),
}


def _admin_link(pk: int) -> str:
    return f"/admin/consumables/consumable/{pk}/change/"


@role_required(*PRICE_REPORT_ROLES)
def four_price_report(request):
    now = timezone.now()
    misaligned = [
        {
            **row,
            "rule": _("、").join(str(VIOLATION_LABEL.get(c, c)) for c in row["violations"]),
            "pending_label": _("已提请 / proposed") if row["pending"] else "",
            "href": _admin_link(row["pk"]),
        }
        for row in four_price.misaligned_now(now)
    ]
    upcoming = [
        {
            **row,
            "kind_label": str(KIND[row["kind"]]),
            "change": _("集采结束 / VBP ends") if row["vbp_ends"] else "",
            "will_break_label": _("、").join(
                str(VIOLATION_LABEL.get(c, c)) for c in row["violations"]
            )
            or _("仍统一 / still aligned"),
            "pending_label": _("已提请 / proposed") if row["pending"] else "",
            "css": "over" if row["will_break"] else "",
            "href": _admin_link(row["consumable_id"]),
        }
        for row in four_price.upcoming_changes(now)
    ]
    stamp = timezone.localdate(now).isoformat()
    tables = [
        Table(
            "misaligned",
            "四价不统一",
            "prices breaking the rule",
            [
                Col("material_code", "物资编码", "material code", "code", link="href"),
                Col("name", "名称", "name"),
                Col("spec", "规格", "spec"),
                Col("charge_code", "计费编码", "charge code", "code"),
                Col("platform_price", "挂网价", "platform", "price"),
                Col("vbp_price", "集采价", "VBP", "price"),
                Col("purchase_price", "采购价", "purchase", "price"),
                Col("charge_price", "收费价", "charge", "price"),
                Col("rule", "违反规则", "rule broken"),
                Col("messages", "说明", "detail"),
                Col("pending_label", "调价申请", "proposal"),
            ],
            misaligned,
            f"four-price-misaligned-{stamp}",
            empty=_("四价全部统一 / every price in force is aligned"),
        ),
        Table(
            "upcoming",
            f"{four_price.UPCOMING_DAYS} 天内平台调价",
            "platform changes ahead",
            [
                Col("effective_from", "生效时间", "effective", "datetime"),
                Col("consumable__material_code", "物资编码", "material code", "code", link="href"),
                Col("consumable__name", "名称", "name"),
                Col("kind_label", "价格类型", "price"),
                Col("current_price", "现行价", "current", "price"),
                Col("price", "新价", "new", "price"),
                Col("change", "变化", "change"),
                Col("purchase_then", "届时采购价", "purchase then", "price"),
                Col("charge_then", "届时收费价", "charge then", "price"),
                Col("will_break_label", "届时四价", "rule then"),
                Col("pending_label", "调价申请", "proposal"),
                Col("source", "来源", "source"),
            ],
            upcoming,
            f"four-price-upcoming-{stamp}",
            row_class="css",
            empty=_("未来 30 天没有平台调价 / no platform change in the next 30 days"),
        ),
    ]
    title = _("四价统一报表 %(day)s") % {"day": stamp}
    download = export_or_none(request, tables, title)
    if download:
        return download
    return render(
        request,
        "billing/finance/four_price.html",
        {
            "title": title,
            "tables": tables,
            "days": four_price.UPCOMING_DAYS,
            # The pricing office opens this page only: no links to pages it may not read.
            "finance_nav": has_role(request.user, *FINANCE_ROLES),
        },
    )


urlpatterns = [path("four-price/", four_price_report, name="billing-finance-four-price")]
