"""Admin for the slice of HIS we keep: patients, encounters (就诊) and doctor orders (医嘱)."""

from django.contrib import admin
from django.db.models import OuterRef, Subquery

from consumables.admin import LabelledFormMixin, column, titled
from consumables.models import Consumable

from .models import DoctorOrder, Encounter, Patient


def _consumable_for_order_code(field: str):
    """The live consumable an order code names (五码合一: one order code, one consumable)."""
    return Subquery(
        Consumable.objects.filter(order_code=OuterRef("order_code"), is_active=True).values(field)[
            :1
        ]
    )


class EncounterInline(admin.TabularInline):
    model = Encounter
    fields = ("visit_no", "insurance_type", "department_column", "admitted_at", "discharged_at")
    readonly_fields = fields
    department_column = column("department")
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("department")


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ("patient_id", "name")
    search_fields = ("patient_id", "name")
    inlines = (EncounterInline,)


class DoctorOrderInline(admin.TabularInline):
    model = DoctorOrder
    fields = ("order_id", "order_code", "consumable_name", "quantity", "ordered_at", "doctor")
    readonly_fields = ("consumable_name",)
    extra = 0

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(consumable_label=_consumable_for_order_code("name"))
        )

    @admin.display(description="耗材 / consumable")
    def consumable_name(self, obj):
        return getattr(obj, "consumable_label", None) or "—"


@admin.register(Encounter)
class EncounterAdmin(LabelledFormMixin, admin.ModelAdmin):
    list_display = (
        "visit_no",
        "patient_column",
        "patient_name",
        "insurance_type",
        "department_column",
        "admitted_at",
        "discharged_at",
    )
    list_filter = (
        "insurance_type",
        ("department", titled(admin.RelatedFieldListFilter, "科室 / department")),
        ("discharged_at", admin.EmptyFieldListFilter),
    )
    patient_column = column("patient")
    department_column = column("department")
    search_fields = ("visit_no", "patient__patient_id", "patient__name")
    list_select_related = ("patient", "department")
    autocomplete_fields = ("patient", "department")
    date_hierarchy = "admitted_at"
    inlines = (DoctorOrderInline,)

    @admin.display(description="姓名 / name", ordering="patient__name")
    def patient_name(self, obj):
        return obj.patient.name


@admin.register(DoctorOrder)
class DoctorOrderAdmin(LabelledFormMixin, admin.ModelAdmin):
    list_display = (
        "order_id",
        "encounter_column",
        "order_code",
        "consumable_name",
        "quantity",
        "ordered_at",
        "doctor",
    )
    encounter_column = column("encounter")
    search_fields = (
        "order_id",
        "order_code",
        "encounter__visit_no",
        "encounter__patient__name",
        "doctor",
    )
    list_filter = (
        ("encounter__department", titled(admin.RelatedFieldListFilter, "科室 / department")),
    )
    list_select_related = ("encounter",)
    autocomplete_fields = ("encounter",)
    date_hierarchy = "ordered_at"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                consumable_label=_consumable_for_order_code("name"),
                consumable_spec=_consumable_for_order_code("spec"),
            )
        )

    @admin.display(description="耗材 / consumable")
    def consumable_name(self, obj):
        label = getattr(obj, "consumable_label", None)
        if not label:
            return "— 未匹配医嘱编码 / unknown order code"
        spec = getattr(obj, "consumable_spec", "") or ""
        return f"{label} {spec}".strip()
