"""Pages: stocktake (盘点). Count a location with the scan box, submit, and have a second
person confirm; the work is done by ``inventory.services.stocktake``.

Storekeepers count the departments they belong to; nurses their wards and theatres;
administrators everywhere.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from config import roles
from config.bounds import integer_bounds
from config.errors import DomainError
from config.i18n import pair
from config.permissions import has_role, role_required
from organisation.models import Department
from organisation.selectors import visible_departments

from ..models import Stocktake, StocktakeLine
from ..services import stocktake as services

STOCKTAKE_ROLES = (roles.STOREKEEPER, roles.NURSE, roles.ADMINISTRATOR)
# Finance and the insurance office read every count and its differences; they count nothing.
STOCKTAKE_READERS = (*STOCKTAKE_ROLES, roles.FINANCE, roles.INSURANCE_OFFICE)


def may_count(user) -> bool:
    return has_role(user, *STOCKTAKE_ROLES)


def countable_departments(user):
    """Departments ``user`` may count: a nurse's own wards and theatres, a storekeeper's own
    departments, every department for an administrator."""
    departments = visible_departments(user)
    if has_role(user, roles.STOREKEEPER, roles.ADMINISTRATOR):
        return departments
    return departments.exclude(kind=Department.Kind.STORE)


def readable_departments(user):
    """Departments whose counts ``user`` may read: those he may count, or every department
    for the offices that read everything."""
    return countable_departments(user) if may_count(user) else visible_departments(user)


def _stocktake_for(request, pk: int) -> Stocktake:
    stocktake = get_object_or_404(
        Stocktake.objects.select_related("department", "location", "counted_by", "confirmed_by"),
        pk=pk,
    )
    if not readable_departments(request.user).filter(pk=stocktake.department_id).exists():
        raise PermissionDenied(_("只能盘点本人所属科室 / Only your own departments"))
    return stocktake


def _refused(request, error: DomainError) -> None:
    text = pair(error.message, error.message_en)
    messages.error(request, _("%(message)s（%(code)s）") % {"message": text, "code": error.code})


def _detail(stocktake_id: int):
    return redirect(reverse("inventory:stocktake-detail", args=[stocktake_id]))


class StartForm(forms.Form):
    department = forms.ModelChoiceField(queryset=Department.objects.none(), label=_("科室"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = countable_departments(user)


class CountForm(forms.Form):
    code = forms.CharField(max_length=1024, strip=False)
    quantity = forms.IntegerField(min_value=1, max_value=100000, required=False)
    lot_no = forms.CharField(max_length=64, required=False)


class SetCountForm(forms.Form):
    """A typed count: a whole number that fits the line's column (never negative)."""

    counted = forms.IntegerField(**{**integer_bounds(StocktakeLine, "counted"), "min_value": 0})


@role_required(*STOCKTAKE_READERS)
def stocktake_list(request):
    counting = may_count(request.user)
    if request.method == "POST" and not counting:
        raise PermissionDenied(_("无权开始盘点 / You may not start a count"))
    form = StartForm(request.POST or None, user=request.user) if counting else None
    if form is not None and request.method == "POST" and form.is_valid():
        try:
            stocktake = services.stocktake_open(
                department=form.cleaned_data["department"], user=request.user
            )
        except DomainError as error:
            _refused(request, error)
            if error.detail.get("stocktake"):
                return _detail(error.detail["stocktake"])
            return redirect("inventory:stocktake-list")
        return _detail(stocktake.pk)
    stocktakes = (
        Stocktake.objects.filter(department__in=readable_departments(request.user))
        .select_related("department", "counted_by", "confirmed_by")
        .order_by("-opened_at")[:100]
    )
    return render(
        request,
        "inventory/stocktake/list.html",
        {"form": form, "stocktakes": stocktakes},
        status=400 if form is not None and form.errors else 200,
    )


@role_required(*STOCKTAKE_READERS)
def stocktake_detail(request, pk: int):
    return _detail_page(request, _stocktake_for(request, pk))


def _detail_page(request, stocktake: Stocktake, status: int = 200):
    rows = services.stocktake_rows(stocktake)
    return render(
        request,
        "inventory/stocktake/detail.html",
        {
            "stocktake": stocktake,
            "rows": rows,
            "uncounted": services.uncounted_units(stocktake),
            "differences": sum(1 for row in rows if row.difference),
            "drifted": sum(1 for row in rows if row.drift),
            "may_count": may_count(request.user),
            "may_confirm": not services.took_part_in_count(stocktake, request.user),
        },
        status=status,
    )


@require_POST
@role_required(*STOCKTAKE_ROLES)
def stocktake_scan(request, pk: int):
    stocktake = _stocktake_for(request, pk)
    form = CountForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请扫描条码；数量须为正整数（VALIDATION_ERROR）"))
        return _detail(stocktake.pk)
    try:
        result = services.stocktake_count(
            stocktake_id=stocktake.pk,
            code=form.cleaned_data["code"],
            quantity=form.cleaned_data["quantity"],
            lot_no=form.cleaned_data["lot_no"] or None,
            user=request.user,
        )
    except DomainError as error:
        _refused(request, error)
    else:
        line = result.line
        text = _("已计数 %(name)s 批号 %(lot)s +%(quantity)s") % {
            "name": line.consumable.name,
            "lot": line.lot.lot_no or "-",
            "quantity": result.quantity,
        }
        if result.serial:
            text += _("（%(serial)s）") % {"serial": result.serial}
        if result.warnings:
            text += _(" 注意：") + ", ".join(result.warnings)
        messages.success(request, text)
    return _detail(stocktake.pk)


@require_POST
@role_required(*STOCKTAKE_ROLES)
def stocktake_set_count(request, pk: int, line_id: int):
    stocktake = _stocktake_for(request, pk)
    form = SetCountForm(request.POST)
    if not form.is_valid():  # not a number, or beyond the column: the page again, nothing saved
        messages.error(request, _("实盘数须为整数（VALIDATION_ERROR）"))
        return _detail_page(request, stocktake, status=400)
    try:
        services.stocktake_set_count(
            stocktake_id=stocktake.pk,
            line_id=line_id,
            counted=form.cleaned_data["counted"],
            user=request.user,
        )
    except DomainError as error:
        _refused(request, error)
    return _detail(stocktake.pk)


def _transition(service, done: str):
    @require_POST
    @role_required(*STOCKTAKE_ROLES)
    def view(request, pk: int):
        stocktake = _stocktake_for(request, pk)
        try:
            service(stocktake_id=stocktake.pk, user=request.user)
        except DomainError as error:
            _refused(request, error)
        else:
            messages.success(request, done)
        return _detail(stocktake.pk)

    return view


@role_required(*STOCKTAKE_ROLES)
def stocktake_confirm(request, pk: int):
    stocktake = _stocktake_for(request, pk)
    status, error = 200, None
    if request.method == "POST":
        reasons = {
            int(key.removeprefix("reason_")): value
            for key, value in request.POST.items()
            if key.startswith("reason_") and key.removeprefix("reason_").isdigit()
        }
        try:
            result = services.stocktake_confirm(
                stocktake_id=stocktake.pk,
                user=request.user,
                reasons=reasons,
                accept_drift=request.POST.get("accept_drift") == "1",
            )
        except DomainError as refusal:
            status, error = refusal.http_status, refusal
        else:
            text = _("盘点 #%(pk)s 已复核过账，调整 %(moves)s 笔") % {
                "pk": stocktake.pk,
                "moves": len(result.moves),
            }
            if result.missing_serials:
                text += _("；盘亏单件：") + _("、").join(result.missing_serials)
            messages.success(request, text)
            return _detail(stocktake.pk)
    rows = services.stocktake_rows(stocktake)
    for row in rows:  # what the confirmer typed survives a refusal
        row.entered_reason = request.POST.get(f"reason_{row.line.pk}", row.line.reason)
    return render(
        request,
        "inventory/stocktake/confirm.html",
        {
            "stocktake": stocktake,
            "rows": rows,
            "drifted": any(row.drift for row in rows),
            "self_confirmation": services.took_part_in_count(stocktake, request.user),
            "error": error,
        },
        status=status,
    )


urlpatterns = [
    path("", stocktake_list, name="stocktake-list"),
    path("<int:pk>/", stocktake_detail, name="stocktake-detail"),
    path("<int:pk>/scan/", stocktake_scan, name="stocktake-scan"),
    path("<int:pk>/lines/<int:line_id>/count/", stocktake_set_count, name="stocktake-set-count"),
    path(
        "<int:pk>/submit/",
        _transition(services.stocktake_submit, _("已提交复核 / submitted for confirmation")),
        name="stocktake-submit",
    ),
    path(
        "<int:pk>/reopen/",
        _transition(services.stocktake_reopen, _("已退回继续盘点 / sent back to counting")),
        name="stocktake-reopen",
    ),
    path(
        "<int:pk>/cancel/",
        _transition(services.stocktake_cancel, _("盘点单已取消 / cancelled")),
        name="stocktake-cancel",
    ),
    path("<int:pk>/confirm/", stocktake_confirm, name="stocktake-confirm"),
]
