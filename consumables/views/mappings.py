"""Pages: mapping changes (对码变更). Procurement proposes new codes, DIs or insurance terms
(医保支付类别, 限定支付条件) for a live item; a second person approves or rejects; the master
changes only on approval."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from config import roles
from config.errors import DomainError
from config.permissions import role_required
from consumables.linking import checked_di
from consumables.mappings.models import MappingChange
from consumables.mappings.services import (
    mapping_change_approve,
    mapping_change_propose,
    mapping_change_reject,
)
from consumables.models import Consumable, DeviceIdentifier
from consumables.views.common import download, refused, review_cells, wants_export

PROCUREMENT = (roles.PROCUREMENT, roles.ADMINISTRATOR)
CODE_LABELS = {
    "charge_code": _("计费编码 / charge code"),
    "order_code": _("医嘱编码 / order code"),
    "insurance_code": _("医保耗材编码 / insurance code"),
}
# What a mapping change may set besides the codes: the insurance terms (mappings.services).
TERM_LABELS = {
    "insurance_class": _("医保支付类别 / insurance class"),
    "insurance_restriction": _("限定支付条件 / payment restriction"),
}
CHANGE_LABELS = {**CODE_LABELS, **TERM_LABELS}
CLASS_NAMES = dict(Consumable.InsuranceClass.choices)
COLUMNS = [
    ("id", _("编号 / no.")),
    ("material_code", "物资编码"),
    ("name", "名称"),
    ("changes", _("编码变更 / code changes")),
    ("add_dis", _("新增 UDI-DI / DIs to link")),
    ("retire_dis", _("停用 UDI-DI / DIs to retire")),
    ("reason", _("原因 / reason")),
    ("origin", _("来源 / origin")),
    ("status", _("状态 / status")),
    ("proposed_by", _("申请人 / proposed by")),
    ("proposed_at", _("申请时间 / proposed at")),
    ("decided_by", _("审核人 / decided by")),
    ("decided_at", _("审核时间 / decided at")),
    ("decision_reason", _("审核意见 / decision note")),
]


def shown(name: str, value: str | None) -> str | None:
    """A changed value as a person reads it: an insurance class by its name."""
    if name == "insurance_class" and value:
        return str(CLASS_NAMES.get(value, value))
    return value


def describe_changes(change: MappingChange) -> str:
    return "；".join(
        f"{CHANGE_LABELS[name].split(' / ')[0]} {shown(name, c['from']) or '—'} → "
        f"{shown(name, c['to']) or '（清空）'}"
        for name, c in change.changes.items()
    )


def _row(change: MappingChange) -> dict:
    return {
        "id": change.pk,
        "material_code": change.consumable.material_code,
        "name": change.consumable.name,
        "changes": describe_changes(change),
        "add_dis": "；".join(f"{d['udi_di']}×{d['units_per_package']}" for d in change.add_dis),
        "retire_dis": "；".join(change.retire_dis),
        "reason": change.reason,
        "origin": change.get_origin_display(),
        "status": change.get_status_display(),
        **review_cells(change),
    }


@role_required(*PROCUREMENT)
def mapping_list(request):
    status = request.GET.get("status", MappingChange.Status.PROPOSED)
    if status not in MappingChange.Status.values:
        status = ""
    changes = MappingChange.objects.select_related("consumable", "proposed_by", "decided_by")
    if status:
        changes = changes.filter(status=status)
    fmt = wants_export(request)
    if fmt:
        return download((_row(c) for c in changes[:100_000]), COLUMNS, "对码变更", fmt)
    page = Paginator(changes, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "consumables/mappings/list.html",
        {"page": page, "status": status, "statuses": MappingChange.Status.choices,
         "rows": [(c, describe_changes(c)) for c in page],
         "pager_query": urlencode({"status": status})},
    )  # fmt: skip


class ProposeForm(forms.Form):
    charge_code = forms.CharField(label=CODE_LABELS["charge_code"], max_length=64,
                                  required=False)
    order_code = forms.CharField(label=CODE_LABELS["order_code"], max_length=64, required=False)
    insurance_code = forms.CharField(label=CODE_LABELS["insurance_code"], max_length=40,
                                     required=False)
    add_udi_di = forms.CharField(label=_("新增 UDI-DI（可扫码）/ Link a UDI-DI"), max_length=200,
                                 required=False, strip=False)
    add_units = forms.IntegerField(label=_("包装内最小单位数 / Units per package"), min_value=1,
                                   required=False)
    add_level = forms.CharField(label=_("包装层级 / Package level"), max_length=40, required=False)
    retire = forms.MultipleChoiceField(label=_("停用 UDI-DI / Retire DIs"), required=False,
                                       widget=forms.CheckboxSelectMultiple)
    insurance_class = forms.ChoiceField(
        label=TERM_LABELS["insurance_class"], required=False,
        choices=[("", _("不变 / unchanged")), *Consumable.InsuranceClass.choices],
    )  # fmt: skip
    insurance_restriction = forms.CharField(
        label=TERM_LABELS["insurance_restriction"], max_length=300, required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    reason = forms.CharField(label=_("变更原因 / Reason"), max_length=500,
                             widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip

    def __init__(self, *args, consumable: Consumable, live_dis, **kwargs):
        initial = {name: getattr(consumable, name) or "" for name in CHANGE_LABELS}
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["retire"].choices = [
            (d.udi_di, f"{d.udi_di} ×{d.units_per_package} {d.package_level}") for d in live_dis
        ]


def _terms(data: dict) -> dict:
    """The insurance terms the form proposes: a class given comes with its restriction as
    typed (empty: none); no class and no restriction leaves both as they are."""
    if data["insurance_class"]:
        return {"insurance_class": data["insurance_class"],
                "insurance_restriction": data["insurance_restriction"]}  # fmt: skip
    if data["insurance_restriction"].strip():
        return {"insurance_restriction": data["insurance_restriction"]}
    return {}


@role_required(*PROCUREMENT)
def mapping_new(request):
    material_code = (request.GET.get("material_code") or "").strip()
    consumable = (
        Consumable.objects.filter(material_code=material_code, is_active=True).first()
        if material_code
        else None
    )
    form = None
    status = 200
    if consumable is not None:
        live_dis = list(DeviceIdentifier.objects.filter(consumable=consumable, is_active=True))
        form = ProposeForm(request.POST or None, consumable=consumable, live_dis=live_dis)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                adds = []
                if data["add_udi_di"].strip():
                    adds.append(
                        checked_di(data["add_udi_di"], data["add_units"] or 1, data["add_level"])
                    )
                change = mapping_change_propose(
                    consumable=consumable,
                    codes={name: data[name].strip() or None for name in CODE_LABELS},
                    add_dis=adds,
                    retire_dis=data["retire"],
                    **_terms(data),
                    reason=data["reason"],
                    proposed_by=request.user,
                )
            except DomainError as error:
                refused(request, error)
                status = error.http_status
            else:
                messages.success(
                    request,
                    _(
                        "已提交对码变更 #%(pk)s，待第二人审核 / "
                        "proposed, awaiting a second person"
                    ) % {"pk": change.pk},
                )
                return redirect("master:mapping-detail", pk=change.pk)
        elif request.method == "POST":
            status = 400
    elif material_code:
        messages.error(
            request,
            _("无在用耗材 %(material_code)s / no such live consumable")
            % {"material_code": material_code},
        )
    return render(
        request,
        "consumables/mappings/new.html",
        {"consumable": consumable, "form": form, "material_code": material_code},
        status=status,
    )


@role_required(*PROCUREMENT)
def mapping_detail(request, pk: int):
    change = get_object_or_404(
        MappingChange.objects.select_related("consumable", "proposed_by", "decided_by"), pk=pk
    )
    if request.method == "POST":
        action = request.POST.get("action")
        note = request.POST.get("note", "")
        try:
            if action == "approve":
                mapping_change_approve(change=change, approver=request.user, note=note)
                messages.success(
                    request,
                    _("#%(pk)s 已批准，主数据已更新 / approved, master updated") % {"pk": pk},
                )
            elif action == "reject":
                mapping_change_reject(change=change, approver=request.user, note=note)
                messages.success(request, _("#%(pk)s 已驳回 / rejected") % {"pk": pk})
            else:
                messages.error(request, _("未知操作 / unknown action"))
        except DomainError as error:
            refused(request, error)
        return redirect("master:mapping-detail", pk=pk)
    return render(
        request,
        "consumables/mappings/detail.html",
        {
            "change": change,
            "item": change.consumable,
            "rows": [
                (CHANGE_LABELS[n], shown(n, c["from"]), shown(n, c["to"]))
                for n, c in change.changes.items()
            ],
            "can_decide": change.status == MappingChange.Status.PROPOSED
            and change.proposed_by_id != request.user.pk,
            "history": change.history.select_related("history_user").order_by("history_date"),
        },
    )


urlpatterns = [
    path("", mapping_list, name="mapping-list"),
    path("new/", mapping_new, name="mapping-new"),
    path("<int:pk>/", mapping_detail, name="mapping-detail"),
]
