"""The fields every reviewed record has, and the database's own two-person check."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class ReviewStatus(models.TextChoices):
    PROPOSED = "proposed", _("待审核 / proposed")
    APPROVED = "approved", _("已批准 / approved")
    REJECTED = "rejected", _("已驳回 / rejected")


DECIDED = (ReviewStatus.APPROVED, ReviewStatus.REJECTED)


def decider_not_proposer(
    prefix: str, *, statuses=DECIDED, exempt: Q | None = None
) -> models.CheckConstraint:
    """``<prefix>_decider_not_proposer``: a record in one of ``statuses`` names a decider and
    a proposer, and they are two people (the two-person rule held by the database, not only by
    ``services.second_person``). ``exempt``: the rows the rule does not cover."""
    condition = ~Q(status__in=statuses) | (
        Q(decided_by__isnull=False) & Q(proposed_by__isnull=False)
        & ~Q(decided_by=F("proposed_by"))
    )  # fmt: skip
    if exempt is not None:
        condition |= exempt
    return models.CheckConstraint(condition=condition, name=f"{prefix}_decider_not_proposer")


class Reviewed(models.Model):
    """A proposal awaiting a second person's decision, and that decision.

    ``Status`` has the members ``PROPOSED`` (awaiting review), ``APPROVED`` and ``REJECTED``;
    a kind whose published status words differ keeps its values under these names.
    """

    Status = ReviewStatus

    status = models.CharField(
        _("状态 / status"), max_length=10, choices=ReviewStatus, default=ReviewStatus.PROPOSED
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("申请人 / proposed by"),
    )  # fmt: skip
    proposed_at = models.DateTimeField(_("申请时间 / proposed at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+", verbose_name=_("审核人 / decided by"),
    )  # fmt: skip
    decided_at = models.DateTimeField(_("审核时间 / decided at"), null=True, blank=True)
    decision_reason = models.CharField(_("审核意见 / decision note"), max_length=500, blank=True)

    class Meta:
        abstract = True
