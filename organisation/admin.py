"""Admin for departments (库房、病区、手术室) and who works in them, and for suppliers."""

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from config.history_admin import HistoryAdmin
from config.templatetags.l10n_extras import in_language

from .credit_code import credit_code_problem
from .models import Department, Supplier


@admin.register(Department)
class DepartmentAdmin(HistoryAdmin):
    list_display = ("code", "name", "kind", "member_count", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name")
    filter_horizontal = ("members",)
    fields = ("code", "name", "kind", "is_active", "members")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_total=Count("members"))

    @admin.display(description=_("人员数 / staff"), ordering="member_total")
    def member_count(self, obj):
        return obj.member_total


class SupplierForm(forms.ModelForm):
    class Meta:
        model = Supplier
        fields = ("code", "name", "credit_code", "license_no", "is_active", "users")

    def clean_credit_code(self):
        """The same 统一社会信用代码 check as ``import_master --suppliers``."""
        value = (self.cleaned_data.get("credit_code") or "").strip().upper()
        problem = credit_code_problem(value) if value else None
        if problem is not None:
            zh, en = problem
            raise forms.ValidationError(in_language(f"{zh} / {en}"), code="CREDIT_CODE_INVALID")
        return value


@admin.register(Supplier)
class SupplierAdmin(HistoryAdmin):
    """Suppliers come from the HRP (``import_master --suppliers``); here one is corrected,
    given its licence number, or linked to its portal accounts."""

    form = SupplierForm
    list_display = ("code", "name", "credit_code", "license_no", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name", "credit_code", "license_no")
    filter_horizontal = ("users",)
