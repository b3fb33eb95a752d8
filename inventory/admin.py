"""Admin for departments (库房、病区、手术室) and who works in them."""

from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from consumables.admin import HistoryAdmin

from .models import Department


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
