"""What every admin of the project shares: Chinese field labels, labelled columns and
filters (used by the consumables and billing admins)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

# Chinese labels for model fields that were declared without a verbose_name.
FIELD_LABELS = {
    "consumable": _("耗材 / consumable"),
    "created_at": _("创建时间 / created at"),
    "updated_at": _("修改时间 / updated at"),
    "status": _("状态 / status"),
    "origin": _("来源 / origin"),
    "proposed_by": _("申请人 / proposed by"),
    "proposed_at": _("申请时间 / proposed at"),
    "decided_by": _("审核人 / decided by"),
    "decided_at": _("审核时间 / decided at"),
    "decision_reason": _("审核意见 / decision note"),
    "requested_effective_from": _("申请生效时间 / requested effective from"),
    "patient": _("患者 / patient"),
    "department": _("科室 / department"),
    "encounter": _("就诊 / encounter"),
}


def column(name: str, label: str | None = None, *, choices: bool = False):
    """A list/read-only column of model field ``name`` under a Chinese label."""

    def show(self, obj):
        value = getattr(obj, f"get_{name}_display")() if choices else getattr(obj, name)
        return "—" if value in (None, "") else value

    show.short_description = label or FIELD_LABELS[name]
    show.admin_order_field = name
    show.__name__ = f"{name}_column"
    return show


def titled(base, title: str):
    """A list filter class showing ``title`` instead of the field's verbose name."""

    class Titled(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.title = title

    return Titled


class LabelledFormMixin:
    """Form fields of unlabelled model fields get their Chinese label (FIELD_LABELS)."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if formfield is not None and db_field.name in FIELD_LABELS:
            formfield.label = FIELD_LABELS[db_field.name]
        return formfield
