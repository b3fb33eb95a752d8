"""Admin for the review workflows' models. Writes go through the same services as the
pages: a supplier product is assigned by ``supplier_product_assign``, a mapping change added
here (new codes, or a new insurance class and payment restriction) is a proposal
(``mapping_change_propose``) decided on its page by a second person, a
staging import added here is an upload (``staging_import``). Decided records are read-only.

Supplier submissions, staging rows and snapshots are worked on their pages (/master/...),
which show their history and export every list.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from config.errors import DomainError
from config.history_admin import HistoryAdmin
from consumables.views.common import uploaded_file
from organisation.models import Supplier

from ..insurance import insurance_terms_problem
from ..linking import checked_codes, conflict_error, link_conflicts
from ..mappings.models import MappingChange
from ..mappings.services import INSURANCE_FIELDS, mapping_change_propose
from ..models import Consumable
from ..staging.loading import staging_import
from ..staging.models import StagingImport
from ..submissions.models import SupplierProduct
from ..submissions.services import supplier_product_assign
from .common import LabelledFormMixin

CODES = ("charge_code", "order_code", "insurance_code")


class SupplierProductForm(forms.ModelForm):
    class Meta:
        model = SupplierProduct
        fields = ("supplier", "consumable", "supplier_item_code", "is_active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "supplier" in self.fields:  # a new product: an active supplier only
            self.fields["supplier"].queryset = Supplier.objects.filter(is_active=True)


@admin.register(SupplierProduct)
class SupplierProductAdmin(LabelledFormMixin, HistoryAdmin):
    form = SupplierProductForm
    list_display = ("supplier", "consumable", "supplier_item_code", "is_active")
    list_filter = ("is_active",)
    search_fields = ("supplier__code", "supplier__name", "supplier_item_code",
                     "consumable__material_code", "consumable__name")  # fmt: skip
    list_select_related = ("consumable", "supplier")
    autocomplete_fields = ("consumable",)

    def get_readonly_fields(self, request, obj=None):
        return ("supplier", "consumable") if obj else ()

    def save_model(self, request, obj, form, change):
        if change and not obj.is_active:
            obj._history_user = request.user
            obj.save(update_fields=["is_active", "supplier_item_code"])
            return
        saved = supplier_product_assign(
            supplier_code=obj.supplier_id, consumable=obj.consumable, user=request.user,
            supplier_item_code=obj.supplier_item_code,
        )  # fmt: skip
        obj.pk = saved.pk


class MappingChangeForm(forms.ModelForm):
    charge_code = forms.CharField(label=_("新计费编码 / new charge code"), required=False)
    order_code = forms.CharField(label=_("新医嘱编码 / new order code"), required=False)
    insurance_code = forms.CharField(label=_("新医保耗材编码 / new insurance code"),
                                     required=False)  # fmt: skip
    insurance_class = forms.ChoiceField(
        label=_("新医保支付类别 / new insurance class"), required=False,
        choices=[("", _("不变 / unchanged")), *Consumable.InsuranceClass.choices],
    )  # fmt: skip
    insurance_restriction = forms.CharField(
        label=_("新限定支付条件 / new payment restriction"), required=False, max_length=300,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=_("与类别一同提交；留空即无条件 / given with the class; empty means none"),
    )  # fmt: skip

    class Meta:
        model = MappingChange
        fields = ("consumable", "reason")

    def clean(self):
        data = super().clean()
        consumable = data.get("consumable")
        given = {n: data.get(n).strip() for n in CODES if (data.get(n) or "").strip()}
        # The class and its restriction are proposed together: the class given is the item's
        # new class, and the restriction field is its whole new condition.
        terms = (
            {n: (data.get(n) or "").strip() for n in INSURANCE_FIELDS}
            if data.get("insurance_class") else {}
        )  # fmt: skip
        if not given and not terms:
            raise forms.ValidationError(
                _("请填写至少一个新编码或医保支付类别 / give a new code or insurance class")
            )
        problem = insurance_terms_problem(*terms.values()) if terms else None
        if problem is not None:
            self.add_error(problem.field, problem.text())
        try:
            codes = checked_codes(given)
            if consumable is not None:
                conflicts = link_conflicts(consumable=consumable, codes=codes, dis=[])
                if conflicts:
                    raise conflict_error(conflicts)
        except DomainError as error:
            raise forms.ValidationError(
                _("%(message)s（%(code)s）") % {"message": error.message, "code": error.code}
            ) from error
        if consumable is not None and all(
            getattr(consumable, n) == v for n, v in {**codes, **terms}.items()
        ):
            raise forms.ValidationError(
                _("与现有对码相同，无需变更 / the proposal changes nothing")
            )
        self.codes = codes
        self.terms = terms
        return data


@admin.register(MappingChange)
class MappingChangeAdmin(LabelledFormMixin, HistoryAdmin):
    list_display = ("pk", "consumable", "status", "origin", "proposed_by", "proposed_at",
                    "decided_by", "decided_at", "page")  # fmt: skip
    list_filter = ("status", "origin")
    search_fields = ("consumable__material_code", "consumable__name", "reason")
    list_select_related = ("consumable", "proposed_by", "decided_by")
    autocomplete_fields = ("consumable",)
    readonly_fields = ("consumable", "changes", "add_dis", "retire_dis", "reason", "origin",
                       "status", "proposed_by", "proposed_at", "decided_by", "decided_at",
                       "decision_reason", "page")  # fmt: skip

    @admin.display(description=_("审核页面 / review page"))
    def page(self, obj):
        url = reverse("master:mapping-detail", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("审核 / review"))

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = MappingChangeForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else ()

    def get_fields(self, request, obj=None):
        if obj:
            return self.readonly_fields
        return ("consumable", *CODES, *INSURANCE_FIELDS, "reason")

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied(_("对码变更在审核页面处理 / decided on its review page"))
        try:
            created = mapping_change_propose(
                consumable=form.cleaned_data["consumable"], codes=form.codes,
                reason=form.cleaned_data["reason"], proposed_by=request.user, **form.terms,
            )  # fmt: skip
        except DomainError as error:  # e.g. NOTHING_TO_CHANGE: the item has these values
            raise PermissionDenied(
                _("%(message)s（%(code)s）") % {"message": error.message, "code": error.code}
            ) from error
        obj.pk = created.pk
        obj.refresh_from_db()
        self.message_user(request, _("已提交，须由第二人审核 / proposed: a second person decides"),
                          messages.INFO)  # fmt: skip


class StagingUploadForm(forms.ModelForm):
    file = forms.FileField(label=_("文件（CSV 或 XLSX）/ file (CSV or XLSX)"))

    class Meta:
        model = StagingImport
        fields = ("source",)


@admin.register(StagingImport)
class StagingImportAdmin(LabelledFormMixin, admin.ModelAdmin):
    list_display = ("pk", "source", "file_name", "rows_loaded", "refused", "rows_superseded",
                    "imported_by", "imported_at")  # fmt: skip
    list_filter = ("source",)
    search_fields = ("file_name",)
    list_select_related = ("imported_by",)
    readonly_fields = ("source", "file_name", "imported_by", "imported_at", "rows_read",
                       "rows_loaded", "rows_superseded", "errors")  # fmt: skip

    @admin.display(description=_("未载入行数 / rows refused"))
    def refused(self, obj):
        return len(obj.errors)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = StagingUploadForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else ()

    def get_fields(self, request, obj=None):
        return self.readonly_fields if obj else ("source", "file")

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        upload = form.cleaned_data["file"]
        try:
            with uploaded_file(upload) as path:
                batch = staging_import(path=path, source=obj.source, user=request.user,
                                       file_name=upload.name)  # fmt: skip
        except DomainError as error:
            raise PermissionDenied(
                _("%(message)s（%(code)s）") % {"message": error.message, "code": error.code}
            ) from error
        obj.pk = batch.pk
        obj.refresh_from_db()
