"""Admin for the slice of HIS we keep: patients, encounters (就诊) and doctor orders (医嘱);
the insurance types (医保类型) HIS may send; order kits (医嘱套包) with their components;
high-value use approvals (高值耗材使用审批)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Subquery
from django.utils.translation import gettext_lazy as _

from config.errors import DomainError
from config.history_admin import HistoryAdmin
from config.i18n import pair
from consumables.admin import LabelledFormMixin, column, titled
from consumables.models import Consumable

from .models import (
    DoctorOrder,
    Encounter,
    HighValueApproval,
    HisChargeCheck,
    InsuranceType,
    Kit,
    KitComponent,
    Patient,
)
from .services.approvals import high_value_approval_record
from .services.insurance_types import configured_insurance_types, insurance_type_or_refuse


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


@admin.register(InsuranceType)
class InsuranceTypeAdmin(HistoryAdmin):
    """The hospital's insurance types: it adds its own (新农合, 异地医保) here. A type in use is
    retired (启用 off), not deleted or renamed: encounters hold its name."""

    list_display = ("name", "name_en", "insured", "is_active", "sort_order", "encounter_count")
    list_filter = ("insured", "is_active")
    search_fields = ("name", "name_en")
    fields = ("name", "name_en", "insured", "is_active", "sort_order")

    def get_queryset(self, request):
        used = Encounter.objects.filter(insurance_type=OuterRef("name"))
        return (
            super()
            .get_queryset(request)
            .annotate(encounters=Subquery(
                used.order_by().values("insurance_type").annotate(n=Count("pk")).values("n")
            ))
        )

    @admin.display(description=_("就诊数 / encounters"), ordering="encounters")
    def encounter_count(self, obj):
        return getattr(obj, "encounters", None) or 0

    def get_readonly_fields(self, request, obj=None):
        return ("name",) if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        if obj is not None and Encounter.objects.filter(insurance_type=obj.name).exists():
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one by one, where the used ones are kept
        return actions


class EncounterForm(forms.ModelForm):
    """The insurance type is picked from the configured ones; the same refusal as the HIS
    feed (``insurance_type_or_refuse``)."""

    insurance_type = forms.ChoiceField(label=_("医保类型 / insurance type"))

    class Meta:
        model = Encounter
        fields = (
            "visit_no", "patient", "insurance_type", "department", "admitted_at", "discharged_at"
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        names = configured_insurance_types()
        current = self.instance.insurance_type if self.instance.pk else None
        if current and current not in names:
            names.append(current)
        self.fields["insurance_type"].choices = [(name, name) for name in names]

    def clean_insurance_type(self):
        name = self.cleaned_data["insurance_type"]
        current = self.instance.insurance_type if self.instance.pk else None
        try:
            return insurance_type_or_refuse(name, current=current)
        except DomainError as refusal:
            raise forms.ValidationError(pair(refusal.message, refusal.message_en)) from refusal


@admin.register(Encounter)
class EncounterAdmin(LabelledFormMixin, HistoryAdmin):
    form = EncounterForm
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


@admin.register(HisChargeCheck)
class HisChargeCheckAdmin(admin.ModelAdmin):
    """What the HIS boundary told HIS (事中审核): read only, written by the HIS charge alone."""

    list_display = ("checked_at", "outcome", "encounter", "charge_code", "kinds", "charge_id")
    list_filter = ("outcome",)
    search_fields = ("encounter", "charge_code", "event_id")
    date_hierarchy = "checked_at"
    readonly_fields = (
        "event_id",
        "charge",
        "outcome",
        "encounter",
        "charge_code",
        "kinds",
        "findings",
        "checked_at",
        "user",
    )
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
