"""Pages for the pricing office (物价办): price proposals with their four-price check and
two-person decision (``services.price_version_*``, the one approval there is), and the
platform/VBP price lists of the provincial platform imported as files."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from config import roles
from config.bounds import date_in_range
from config.errors import DomainError
from config.permissions import role_required
from consumables.importing import ImportFileError, midnight
from consumables.models import Consumable, ExternalPrice, PriceVersion
from consumables.price_review import (
    decided_proposals,
    misaligned_in_force,
    pending_proposals,
    proposal_checks,
)
from consumables.pricelists import price_list_import
from consumables.reviews.services import required_reason
from consumables.services import price_version_approve, price_version_propose, price_version_reject
from consumables.views.common import (
    download,
    person_name,
    refused,
    review_cells,
    uploaded_file,
    wants_export,
)

PRICING = (roles.PRICING_OFFICE, roles.ADMINISTRATOR)
PAGE_LIMIT = 200

PROPOSAL_COLUMNS = [
    ("id", _("编号 / no.")),
    ("material_code", "物资编码"),
    ("name", "名称"),
    ("purchase_price", _("申请采购价 / proposed purchase")),
    ("charge_price", _("申请收费价 / proposed charge")),
    ("current_purchase", _("现行采购价 / purchase now")),
    ("current_charge", _("现行收费价 / charge now")),
    ("platform", _("挂网价 / platform")),
    ("vbp", _("集采价 / VBP")),
    ("takes_effect", _("生效时间 / takes effect")),
    ("check", _("四价核对 / four-price check")),
    ("reason", _("调整原因 / reason")),
    ("proposed_by", _("申请人 / proposed by")),
]
DECIDED_COLUMNS = [
    ("id", _("编号 / no.")),
    ("material_code", "物资编码"),
    ("name", "名称"),
    ("purchase_price", _("采购价 / purchase")),
    ("charge_price", _("收费价 / charge")),
    ("effective_from", _("生效时间 / effective from")),
    ("status", _("状态 / status")),
    ("reason", _("调整原因 / reason")),
    ("proposed_by", _("申请人 / proposed by")),
    ("decided_by", _("审核人 / decided by")),
    ("decided_at", _("审核时间 / decided at")),
    ("decision_reason", _("审核意见 / decision note")),
]
MISALIGNED_COLUMNS = [
    ("material_code", "物资编码"),
    ("name", "名称"),
    ("spec", "规格型号"),
    ("platform_price", _("挂网价 / platform")),
    ("vbp_price", _("集采价 / VBP")),
    ("purchase_price", _("采购价 / purchase")),
    ("charge_price", _("收费价 / charge")),
]
EXTERNAL_COLUMNS = [
    ("material_code", "物资编码"),
    ("name", "名称"),
    ("kind", _("类型 / kind")),
    ("price", _("价格 / price")),
    ("effective_from", _("生效时间 / effective from")),
    ("source", _("来源 / source")),
]


def _check_row(c) -> dict:
    v = c.version
    return {
        "id": v.pk, "material_code": v.consumable.material_code, "name": v.consumable.name,
        "purchase_price": v.purchase_price, "charge_price": v.charge_price,
        "current_purchase": c.current_purchase, "current_charge": c.current_charge,
        "platform": c.platform, "vbp": c.vbp, "takes_effect": c.takes_effect,
        "check": "；".join(x.message for x in c.violations) or _("符合 / aligned"),
        "reason": v.reason, "proposed_by": person_name(v.proposed_by),
    }  # fmt: skip


def _decided_row(v: PriceVersion) -> dict:
    return {
        "id": v.pk, "material_code": v.consumable.material_code, "name": v.consumable.name,
        "purchase_price": v.purchase_price, "charge_price": v.charge_price,
        "effective_from": v.effective_from, "status": v.get_status_display(),
        "reason": v.reason, **review_cells(v),
    }  # fmt: skip


class ProposeForm(forms.Form):
    material_code = forms.CharField(label=_("物资编码 / Material code"), max_length=64)
    purchase_price = forms.DecimalField(label=_("采购价 / Purchase price"), min_value=0,
                                        max_digits=14, decimal_places=4)
    charge_price = forms.DecimalField(label=_("收费价 / Charge price"), min_value=0,
                                      max_digits=14, decimal_places=4)
    effective_date = forms.DateField(label=_("生效日期 / Effective date"),
                                     widget=forms.DateInput(attrs={"type": "date"}),
                                     validators=[date_in_range])
    reason = forms.CharField(label=_("调整原因 / Reason"), max_length=500)  # fmt: skip


@role_required(*PRICING)
def price_list(request):
    fmt = wants_export(request)
    if fmt and request.GET.get("list") == "decided":
        rows = (_decided_row(v) for v in decided_proposals()[:100_000])
        return download(rows, DECIDED_COLUMNS, "调价审核记录", fmt)
    if fmt:
        rows = (_check_row(c) for c in proposal_checks(list(pending_proposals()[:100_000])))
        return download(rows, PROPOSAL_COLUMNS, "待审核调价", fmt)
    form = ProposeForm(request.POST or None, initial={"effective_date": timezone.localdate()})
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        consumable = Consumable.objects.filter(
            material_code=data["material_code"].strip(), is_active=True
        ).first()
        if consumable is None:
            form.add_error("material_code", _("无此在用耗材 / no such live consumable"))
            status = 400
        else:
            try:
                version = price_version_propose(
                    consumable=consumable,
                    purchase_price=data["purchase_price"],
                    charge_price=data["charge_price"],
                    effective_from=midnight(data["effective_date"]),
                    reason=required_reason(data["reason"]),
                    proposed_by=request.user,
                )
            except DomainError as error:
                refused(request, error)
                status = error.http_status
            else:
                messages.success(
                    request,
                    _(
                        "已提交调价 #%(pk)s，待第二人审核 / "
                        "proposed, awaiting a second person"
                    ) % {"pk": version.pk},
                )
                return redirect("master:price-list")
    elif request.method == "POST":
        status = 400
    pending = list(pending_proposals()[:PAGE_LIMIT])
    return render(
        request,
        "consumables/prices/list.html",
        {
            "form": form,
            "checks": proposal_checks(pending),
            "decided": decided_proposals()[:50],
        },
        status=status,
    )


@require_POST
@role_required(*PRICING)
def price_decide(request, pk: int):
    version = get_object_or_404(PriceVersion, pk=pk)
    action = request.POST.get("action")
    note = request.POST.get("note", "")
    try:
        if action == "approve":
            price_version_approve(version=version, approver=request.user, note=note)
            messages.success(request, _("调价 #%(pk)s 已批准 / approved") % {"pk": pk})
        elif action == "reject":
            price_version_reject(version=version, approver=request.user, note=note)
            messages.success(request, _("调价 #%(pk)s 已驳回 / rejected") % {"pk": pk})
        else:
            messages.error(request, _("未知操作 / unknown action"))
    except DomainError as error:
        refused(request, error)
        for violation in error.detail.get("violations", []):
            messages.error(request, f"{violation['message']} / {violation['message_en']}")
    return redirect("master:price-list")


class PriceListForm(forms.Form):
    file = forms.FileField(label=_("价格目录（CSV 或 XLSX）/ Price list (CSV or XLSX)"))
    effective_date = forms.DateField(
        label=_("生效日期（行内未填时）/ Effective date (for rows without one)"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}), validators=[date_in_range],
    )


def _external_rows(queryset):
    for e in queryset:
        yield {"material_code": e.consumable.material_code, "name": e.consumable.name,
               "kind": e.get_kind_display(), "price": e.price if e.price is not None else "无",
               "effective_from": e.effective_from, "source": e.source}  # fmt: skip


@role_required(*PRICING)
def price_lists(request):
    external = ExternalPrice.objects.select_related("consumable").order_by("-created_at", "-pk")
    fmt = wants_export(request)
    if fmt and request.GET.get("list") == "misaligned":
        rows = misaligned_in_force().values(*[c for c, _ in MISALIGNED_COLUMNS])
        return download(rows.iterator(chunk_size=2000), MISALIGNED_COLUMNS, "四价不一致", fmt)
    if fmt:
        return download(_external_rows(external[:100_000]), EXTERNAL_COLUMNS, "挂网价集采价", fmt)
    form = PriceListForm(request.POST or None, request.FILES or None)
    report = None
    status = 200
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            with uploaded_file(upload) as file_path:
                report = price_list_import(
                    path=file_path, effective_date=form.cleaned_data["effective_date"],
                    user=request.user, file_name=upload.name,
                )  # fmt: skip
        except (DomainError, ImportFileError) as error:
            refused(request, error)
            status = error.http_status
    elif request.method == "POST":
        status = 400
    page = Paginator(external, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "consumables/prices/lists.html",
        {"form": form, "report": report, "page": page,
         "misaligned": misaligned_in_force()[:PAGE_LIMIT]},
        status=status,
    )  # fmt: skip


urlpatterns = [
    path("", price_list, name="price-list"),
    path("<int:pk>/", price_decide, name="price-decide"),
    path("lists/", price_lists, name="price-lists"),
]
