"""Pages: recalls (召回). Register a recall, list recalls, and for each one see where the
remaining units are and which encounters received one (downloadable as XLSX or CSV).

A recall is a hospital-wide safety action: the people who handle it (storekeepers,
procurement, the insurance office, administrators) see every department's stock of the
recalled lots, not only their own departments.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from config import roles
from config.errors import DomainError
from config.exports import export_response
from config.i18n import pair
from config.permissions import role_required

from ..models import Recall
from ..services import recall as services

RECALL_ROLES = (
    roles.STOREKEEPER,
    roles.PROCUREMENT,
    roles.INSURANCE_OFFICE,
    roles.ADMINISTRATOR,
)
# Finance reads recalls (it reads everything) but does not register them.
RECALL_READERS = (*RECALL_ROLES, roles.FINANCE)


class RecallForm(forms.Form):
    code_or_di = forms.CharField(
        label=_("UDI-DI / 条码 / 物资编码"), max_length=1024, strip=False
    )
    lot_nos = forms.CharField(
        label=_("批号（每行一个）/ Lots (one a line)"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
    )
    all_lots = forms.BooleanField(label=_("全部批次 / All lots"), required=False)
    reason = forms.CharField(
        label=_("召回原因 / Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean(self):
        data = super().clean()
        lots = (data.get("lot_nos") or "").strip()
        # Recalling every lot blocks the item hospital-wide: it must be chosen, never implied.
        if not lots and not data.get("all_lots"):
            raise forms.ValidationError(
                _("请填写批号，或勾选“全部批次” / Give lots or tick all lots")
            )
        if lots and data.get("all_lots"):
            raise forms.ValidationError(
                _("勾选全部批次时不要填写批号 / Lots or all lots, not both")
            )
        return data


@role_required(*RECALL_READERS)
def recall_list(request):
    return render(
        request, "inventory/recalls/list.html", {"recalls": services.recalls_list()[:200]}
    )


@role_required(*RECALL_ROLES)
def recall_new(request):
    form = RecallForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                recalls = services.recall_register(
                    code_or_di=data["code_or_di"],
                    lot_nos=[] if data["all_lots"] else data["lot_nos"],
                    reason=data["reason"],
                    user=request.user,
                )
            except DomainError as error:
                form.add_error(
                    None,
                    _("%(message)s（%(code)s）")
                    % {"message": pair(error.message, error.message_en), "code": error.code},
                )
                status = error.http_status
            else:
                lots = _("、").join(r.lot_no or _("全部批次") for r in recalls)
                messages.success(
                    request,
                    _("已登记召回：%(item)s 批号 %(lots)s")
                    % {"item": recalls[0].consumable, "lots": lots},
                )
                if len(recalls) == 1:
                    return redirect("inventory:recall-detail", pk=recalls[0].pk)
                return redirect("inventory:recall-list")
    return render(request, "inventory/recalls/new.html", {"form": form}, status=status)


@role_required(*RECALL_READERS)
def recall_detail(request, pk: int):
    recall = get_object_or_404(
        Recall.objects.select_related("consumable", "registered_by"), pk=pk
    )
    stock = services.recall_stock(recall)
    encounters = services.recall_encounters(recall)
    return render(
        request,
        "inventory/recalls/detail.html",
        {
            "recall": recall,
            "stock": stock,
            "stock_total": sum(row["quantity"] for row in stock),
            "encounters": encounters,
        },
    )


EXPORTS = {
    "encounters": (services.recall_encounters, services.ENCOUNTER_COLUMNS, "召回患者"),
    "stock": (services.stock_export_rows, services.STOCK_COLUMNS, "召回库存"),
}


@role_required(*RECALL_READERS)
def recall_export(request, pk: int, what: str, fmt: str):
    if what not in EXPORTS or fmt not in ("xlsx", "csv"):
        raise Http404("unknown export")
    recall = get_object_or_404(Recall.objects.select_related("consumable"), pk=pk)
    rows, columns, title = EXPORTS[what]
    lot = recall.lot_no or "全部批次"
    filename = re.sub(r"[^\w.-]+", "_", f"{title}-{recall.consumable.material_code}-{lot}")
    return export_response(rows(recall), columns, filename, fmt, header="label")


urlpatterns = [
    path("", recall_list, name="recall-list"),
    path("new/", recall_new, name="recall-new"),
    path("<int:pk>/", recall_detail, name="recall-detail"),
    path("<int:pk>/export/<str:what>.<str:fmt>", recall_export, name="recall-export"),
]
