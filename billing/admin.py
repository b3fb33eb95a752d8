"""Admin for the slice of HIS we keep: patients, encounters (就诊) and doctor orders (医嘱);
order kits (医嘱套包) with their components; high-value use approvals (高值耗材使用审批)."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Subquery
from django.utils.translation import gettext_lazy as _

from consumables.admin import HistoryAdmin, LabelledFormMixin, column, titled
from consumables.models import Consumable

from .models import DoctorOrder, Encounter, HighValueApproval, Kit, KitComponent, Patient
from .services.approvals import high_value_approval_record


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

    @admin.display(description=_("耗材 / consumable"))
    def consumable_name(self, obj):
        return getattr(obj, "consumable_label", None) or "—"


@admin.register(Encounter)
class EncounterAdmin(LabelledFormMixin, HistoryAdmin):
    # The history page shows who changed the insurance type or ward, when, old -> new.
    history_list_display = ("insurance_type", "department", "history_change_reason")
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
        ("department", titled(admin.RelatedFieldListFilter, _("科室 / department"))),
        ("discharged_at", admin.EmptyFieldListFilter),
    )
    patient_column = column("patient")
    department_column = column("department")
    search_fields = ("visit_no", "patient__patient_id", "patient__name")
    list_select_related = ("patient", "department")
    autocomplete_fields = ("patient", "department")
    date_hierarchy = "admitted_at"
    inlines = (DoctorOrderInline,)

    @admin.display(description=_("姓名 / name"), ordering="patient__name")
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
        ("encounter__department", titled(admin.RelatedFieldListFilter, _("科室 / department"))),
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
                kit_label=Subquery(
                    Kit.objects.filter(order_code=OuterRef("order_code")).values("name")[:1]
                ),
            )
        )

    @admin.display(description=_("耗材 / consumable"))
    def consumable_name(self, obj):
        label = getattr(obj, "consumable_label", None)
        if not label and getattr(obj, "kit_label", None):
            return f"医嘱套包 / kit: {obj.kit_label}"
        if not label:
            return _("— 未匹配医嘱编码 / unknown order code")
        spec = getattr(obj, "consumable_spec", "") or ""
        return f"{label} {spec}".strip()


class KitComponentInline(LabelledFormMixin, admin.TabularInline):
    model = KitComponent
    fields = ("consumable", "quantity")
    autocomplete_fields = ("consumable",)
    extra = 3


@admin.register(Kit)
class KitAdmin(LabelledFormMixin, HistoryAdmin):
    """Order kits (医嘱套包): the HIS order code of the package and what it contains.

    Kits are split for charging: a kit order charges nothing; each component scanned at the
    bedside is charged on its own (billing.services.kits).
    """

    list_display = ("order_code", "name", "component_count", "is_active")
    list_display_links = ("order_code", "name")
    list_filter = ("is_active",)
    search_fields = (
        "order_code",
        "name",
        "components__consumable__material_code",
        "components__consumable__name",
    )
    fields = ("order_code", "name", "is_active")
    inlines = (KitComponentInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(component_total=Count("components"))

    @admin.display(description=_("组件数 / components"), ordering="component_total")
    def component_count(self, obj):
        return obj.component_total


@admin.register(HighValueApproval)
class HighValueApprovalAdmin(LabelledFormMixin, HistoryAdmin):
    """The insurance office records approvals here (high_value_approval_record); the approver
    is the signed-in user and the time is now. A recorded approval is not edited: delete a
    mistaken one (history keeps it) and record it again."""

    list_display = (
        "encounter_column",
        "scope",
        "approved_by_column",
        "approved_at",
        "note",
    )
    encounter_column = column("encounter")
    approved_by_column = column("approved_by", _("审批人 / approved by"))
    list_select_related = ("encounter", "consumable", "approved_by")
    search_fields = (
        "encounter__visit_no",
        "encounter__patient__name",
        "consumable__material_code",
        "consumable__name",
        "note",
    )
    autocomplete_fields = ("encounter", "consumable")
    date_hierarchy = "approved_at"
    add_fields = ("encounter", "consumable", "note")
    view_fields = ("encounter", "consumable", "approved_by", "approved_at", "note")

    @admin.display(description=_("范围 / covers"), ordering="consumable__material_code")
    def scope(self, obj):
        if obj.consumable_id is None:
            return _("本次就诊全部高值耗材 / every high-value item")
        return str(obj.consumable)

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else self.view_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.view_fields

    def has_change_permission(self, request, obj=None):
        if obj is not None:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied(_("审批记录不可修改 / approvals are not editable"))
        created = high_value_approval_record(
            encounter=obj.encounter,
            consumable=obj.consumable,
            approved_by=request.user,
            note=obj.note,
        )
        obj.pk = created.pk
        obj.refresh_from_db()
