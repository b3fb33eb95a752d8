"""A proposed change of a live consumable's codes and insurance terms, decided by a second
person."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ..reviews.models import Reviewed, decider_not_proposer


class MappingChange(Reviewed):
    """Codes to set, insurance terms to set, DIs to link and DIs to retire on one consumable.

    ``changes``: ``{field: {"from": old, "to": new}}`` for ``charge_code``, ``order_code``,
    ``insurance_code`` (``to`` null clears the code), ``insurance_class`` and
    ``insurance_restriction`` (the 限定支付 condition; "" for none); ``add_dis``:
    ``[{"udi_di", "issuer", "units_per_package", "package_level"}]``; ``retire_dis``:
    ``["<udi_di>", ...]``. The ``from`` values are the master as the proposer saw it:
    approval refuses a change whose item moved on since (MAPPING_STALE).
    """

    class Origin(models.TextChoices):
        MANUAL = "manual", _("人工提出 / by hand")
        STAGING = "staging", _("对码工作区 / code-conflict workspace")

    consumable = models.ForeignKey(
        "consumables.Consumable", on_delete=models.PROTECT, related_name="mapping_changes",
        verbose_name=_("耗材 / consumable"),
    )
    changes = models.JSONField(_("编码变更 / code changes"), default=dict, blank=True)
    add_dis = models.JSONField(_("新增 UDI-DI / DIs to link"), default=list, blank=True)
    retire_dis = models.JSONField(_("停用 UDI-DI / DIs to retire"), default=list, blank=True)
    reason = models.CharField(_("变更原因 / reason"), max_length=500)
    origin = models.CharField(max_length=8, choices=Origin, default=Origin.MANUAL)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("对码变更 / mapping change")
        verbose_name_plural = _("对码变更 / mapping changes")
        ordering = ["-proposed_at", "-pk"]
        constraints = [decider_not_proposer("mapping_change")]
        indexes = [
            models.Index(fields=["status", "-proposed_at"], name="mapping_status_idx"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.consumable_id} {self.status}"
