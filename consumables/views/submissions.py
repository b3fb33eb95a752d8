"""Pages: supplier submissions. Supplier accounts see and submit for their own products only
(another supplier's product or submission is a 404); procurement reviews every submission
and says which supplier sells which item."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from config import roles
from config.errors import DomainError
from config.permissions import role_required
from consumables.linking import link_conflicts
from consumables.models import Consumable
from consumables.submissions.models import SupplierProduct, SupplierSubmission
from consumables.submissions.selectors import products_of, submissions_for_review, submissions_of
from consumables.submissions.services import (
    own_product,
    submission_approve,
    submission_create,
    submission_reject,
    supplier_product_assign,
)
from consumables.views.common import download, refused, review_cells, wants_export
from organisation.selectors import supplier_codes_for, supplier_names

SUPPLIERS = (roles.SUPPLIER,)
REVIEWERS = (roles.PROCUREMENT, roles.ADMINISTRATOR)
PACKAGE_ROWS = 4

SUBMISSION_COLUMNS = [
    ("id", _("提交号 / no.")),
    ("supplier_code", _("供应商编码 / supplier")),
    ("material_code", "物资编码"),
    ("name", "名称"),
    ("spec", "规格型号"),
    ("insurance_code", "医保耗材编码"),
    ("registration_no", "注册证号"),
    ("insurance_class", "医保支付类别"),
    ("restriction", "限定支付条件"),
    ("dis", "UDI-DI（包装数量/层级）"),
    ("status", _("状态 / status")),
    ("proposed_by", _("提交人 / submitted by")),
    ("proposed_at", _("提交时间 / submitted at")),
    ("decided_by", _("审核人 / reviewed by")),
    ("decided_at", _("审核时间 / reviewed at")),
    ("decision_reason", _("审核意见 / decision")),
]
PRODUCT_COLUMNS = [
    ("supplier_code", _("供应商编码 / supplier")),
    ("supplier_item_code", _("供应商货号 / supplier item code")),
    ("material_code", "物资编码"),
    ("name", "名称"),
    ("spec", "规格型号"),
    ("insurance_code", "医保耗材编码"),
    ("registration_no", "注册证号"),
    ("insurance_class", "医保支付类别"),
    ("restriction", "限定支付条件"),
    ("dis", "UDI-DI（包装数量/层级）"),
    ("last_status", _("最近提交 / last submission")),
]


def _submission_row(s: SupplierSubmission) -> dict:
    return {
        "id": s.pk,
        "supplier_code": s.supplier_code,
        "material_code": s.consumable.material_code,
        "name": s.consumable.name,
        "spec": s.consumable.spec,
        "insurance_code": s.insurance_code,
        "registration_no": s.registration_no,
        "insurance_class": s.get_insurance_class_display(),
        "restriction": s.restriction,
        "dis": "；".join(f"{d.udi_di}×{d.units_per_package} {d.package_level}".strip()
                        for d in s.dis.all()),
        "status": s.get_status_display(),
        **review_cells(s),
    }


def _product_row(p: SupplierProduct) -> dict:
    item = p.consumable
    return {
        "supplier_code": p.supplier_code,
        "supplier_item_code": p.supplier_item_code,
        "material_code": item.material_code,
        "name": item.name,
        "spec": item.spec,
        "insurance_code": item.insurance_code,
        "registration_no": item.registration_no,
        "insurance_class": item.get_insurance_class_display(),
        "restriction": item.insurance_restriction,
        "dis": "；".join(f"{d.udi_di}×{d.units_per_package} {d.package_level}".strip()
                        for d in item.live_dis),
        "last_status": dict(SupplierSubmission.Status.choices).get(p.last_status, ""),
    }


class SubmissionForm(forms.Form):
    insurance_code = forms.CharField(label=_("医保耗材编码 / Insurance code"), max_length=40,
                                     required=False)
    registration_no = forms.CharField(label=_("注册证号 / Registration no."), max_length=200)
    insurance_class = forms.ChoiceField(
        label=_("医保支付类别 / Insurance class"), required=False,
        choices=[("", _("不填（不变）/ not stated")), *Consumable.InsuranceClass.choices],
    )  # fmt: skip
    restriction = forms.CharField(
        label=_("限定支付条件（限定支付必填）/ Payment restriction (for restricted items)"),
        max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
    )  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for i in range(PACKAGE_ROWS):
            self.fields[f"udi_di_{i}"] = forms.CharField(
                label=_("UDI-DI（可扫码）/ UDI-DI (scan or type)"), max_length=200, required=False,
                strip=False,
            )
            self.fields[f"units_{i}"] = forms.IntegerField(
                label=_("包装内最小单位数 / Units per package"), min_value=1, required=False
            )
            self.fields[f"level_{i}"] = forms.CharField(
                label=_("包装层级 / Package level"), max_length=40, required=False
            )

    def packages(self) -> list[dict]:
        data = self.cleaned_data
        return [
            {
                "udi_di": data[f"udi_di_{i}"],
                "units_per_package": data[f"units_{i}"] or 1,
                "package_level": data[f"level_{i}"],
            }
            for i in range(PACKAGE_ROWS)
            if (data.get(f"udi_di_{i}") or "").strip()
        ]

    def package_rows(self):
        return [
            (self[f"udi_di_{i}"], self[f"units_{i}"], self[f"level_{i}"])
            for i in range(PACKAGE_ROWS)
        ]


# -- supplier side --------------------------------------------------------------------------


@role_required(*SUPPLIERS)
def supplier_home(request):
    fmt = wants_export(request)
    what = request.GET.get("list", "products")
    if fmt and what == "submissions":
        rows = (_submission_row(s) for s in submissions_of(request.user)[:10_000])
        return download(rows, SUBMISSION_COLUMNS, "我的提交", fmt)
    if fmt:
        return download((_product_row(p) for p in products_of(request.user)), PRODUCT_COLUMNS,
                        "我的供货品种", fmt)  # fmt: skip
    codes = supplier_codes_for(request.user)
    return render(
        request,
        "consumables/submissions/supplier_home.html",
        {
            "suppliers": supplier_names(codes),
            "products": products_of(request.user),
            "submissions": submissions_of(request.user)[:50],
        },
    )


@role_required(*SUPPLIERS)
def supplier_product(request, consumable_id: int):
    try:
        product = own_product(request.user, consumable_id=consumable_id)
    except DomainError as error:  # NOT_FOUND: another supplier's, or no such product
        raise Http404(error.message) from error
    form = SubmissionForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            submission = submission_create(
                user=request.user,
                consumable_id=consumable_id,
                supplier_code=product.supplier_code,
                insurance_code=data["insurance_code"],
                registration_no=data["registration_no"],
                dis=form.packages(),
                insurance_class=data["insurance_class"],
                restriction=data["restriction"],
            )
        except DomainError as error:
            refused(request, error)
            status = error.http_status
        else:
            messages.success(
                request,
                _(
                    "已提交 #%(pk)s，等待医院审核 / "
                    "submitted, awaiting the hospital's review"
                ) % {"pk": submission.pk},
            )
            return redirect("master:supplier-submission", pk=submission.pk)
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "consumables/submissions/supplier_product.html",
        {"product": product, "item": product.consumable, "form": form,
         "live_dis": product.consumable.device_identifiers.filter(is_active=True)},
        status=status,
    )  # fmt: skip


@role_required(*SUPPLIERS)
def supplier_submission(request, pk: int):
    submission = get_object_or_404(submissions_of(request.user), pk=pk)
    return render(
        request, "consumables/submissions/supplier_submission.html", {"s": submission}
    )


# -- hospital side ---------------------------------------------------------------------------


@role_required(*REVIEWERS)
def review_list(request):
    status = request.GET.get("status", SupplierSubmission.Status.PROPOSED)
    if status not in SupplierSubmission.Status.values:
        status = ""
    submissions = submissions_for_review(status or None)
    fmt = wants_export(request)
    if fmt:
        rows = (_submission_row(s) for s in submissions[:100_000])
        return download(rows, SUBMISSION_COLUMNS, "供应商提交", fmt)
    page = Paginator(submissions, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "consumables/submissions/review_list.html",
        {"page": page, "status": status, "statuses": SupplierSubmission.Status.choices,
         "names": supplier_names({s.supplier_code for s in page}),
         "pager_query": urlencode({"status": status})},
    )  # fmt: skip


@role_required(*REVIEWERS)
def review_detail(request, pk: int):
    submission = get_object_or_404(submissions_for_review(), pk=pk)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "approve":
                submission_approve(
                    submission=submission, reviewer=request.user,
                    note=request.POST.get("reason", ""),
                )  # fmt: skip
                messages.success(
                    request,
                    _(
                        "#%(pk)s 已通过，编码已关联到主数据 / "
                        "approved and linked into the master"
                    ) % {"pk": pk},
                )
            elif action == "reject":
                submission_reject(
                    submission=submission, reviewer=request.user,
                    reason=request.POST.get("reason", ""),
                )  # fmt: skip
                messages.success(
                    request, _("#%(pk)s 已退回供应商 / returned to the supplier") % {"pk": pk}
                )
            else:
                messages.error(request, _("未知操作 / unknown action"))
        except DomainError as error:
            refused(request, error)
        return redirect("master:submission-detail", pk=pk)
    item = submission.consumable
    dis = list(submission.dis.all())
    conflicts = []
    if submission.status == SupplierSubmission.Status.PROPOSED:
        conflicts = link_conflicts(
            consumable=item, codes={"insurance_code": submission.insurance_code},
            dis=[d.udi_di for d in dis],
        )  # fmt: skip
    return render(
        request,
        "consumables/submissions/review_detail.html",
        {
            "s": submission,
            "item": item,
            "dis": dis,
            "live_dis": item.device_identifiers.filter(is_active=True),
            "conflicts": conflicts,
            "names": supplier_names([submission.supplier_code]),
            "history": submission.history.select_related("history_user").order_by(
                "history_date"
            ),
        },
    )


class AssignForm(forms.Form):
    supplier_code = forms.CharField(label=_("供应商编码 / Supplier code"), max_length=32)
    material_code = forms.CharField(label=_("物资编码 / Material code"), max_length=64)
    supplier_item_code = forms.CharField(
        label=_("供应商货号 / Supplier item code"), max_length=64, required=False
    )


@role_required(*REVIEWERS)
def supplier_products(request):
    products = (
        SupplierProduct.objects.select_related("consumable")
        .filter(is_active=True)
        .order_by("supplier_id", "consumable__material_code")
    )
    supplier = (request.GET.get("supplier") or "").strip()
    if supplier:
        products = products.filter(supplier_id=supplier)
    fmt = wants_export(request)
    if fmt:
        rows = (
            {"supplier_code": p.supplier_code, "supplier_item_code": p.supplier_item_code,
             "material_code": p.consumable.material_code, "name": p.consumable.name,
             "spec": p.consumable.spec}
            for p in products.iterator(chunk_size=2000)
        )  # fmt: skip
        return download(rows, PRODUCT_COLUMNS[:5], "供应商供货品种", fmt)
    form = AssignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        consumable = Consumable.objects.filter(
            material_code=data["material_code"].strip(), is_active=True
        ).first()
        if consumable is None:
            form.add_error("material_code", _("无此在用耗材 / no such live consumable"))
        else:
            try:
                supplier_product_assign(
                    supplier_code=data["supplier_code"].strip(), consumable=consumable,
                    user=request.user, supplier_item_code=data["supplier_item_code"],
                )  # fmt: skip
            except DomainError as error:
                refused(request, error)
            else:
                messages.success(request, _("已保存 / saved"))
                return redirect("master:supplier-products")
    page = Paginator(products, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "consumables/submissions/supplier_products.html",
        {"form": form, "page": page, "supplier": supplier,
         "names": supplier_names({p.supplier_code for p in page}),
         "pager_query": urlencode({"supplier": supplier})},
    )  # fmt: skip


supplier_urlpatterns = [
    path("", supplier_home, name="supplier-home"),
    path("products/<int:consumable_id>/", supplier_product, name="supplier-product"),
    path("submissions/<int:pk>/", supplier_submission, name="supplier-submission"),
]
review_urlpatterns = [
    path("", review_list, name="submission-list"),
    path("<int:pk>/", review_detail, name="submission-detail"),
]
product_urlpatterns = [path("", supplier_products, name="supplier-products")]
