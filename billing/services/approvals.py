"""High-value use approval (高值耗材使用审批).

A use of an item whose approved charge price in force at the time of use is at or above
``settings.BILLING_HIGH_VALUE_THRESHOLD`` (yuan) needs an approval recorded on the encounter,
for that consumable or for every high-value item of the encounter (``consumable`` empty).
Without one, ``settings.BILLING_HIGH_VALUE_MODE`` decides: ``"flag"`` (the default) records
the use with the warning ``NO_HIGH_VALUE_APPROVAL``; ``"block"`` refuses it with
``APPROVAL_REQUIRED`` (409) and nothing is recorded.

The check reads the price, not ``value_class``: what the insurance office signs off is the
amount the patient will be charged.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from config.errors import DomainError
from consumables.models import Consumable, PriceVersion
from consumables.prices import approved_version_in_force

from ..models import Encounter, HighValueApproval

NO_HIGH_VALUE_APPROVAL = "NO_HIGH_VALUE_APPROVAL"
APPROVAL_REQUIRED = "APPROVAL_REQUIRED"
BLOCK = "block"
FLAG = "flag"


def high_value_threshold() -> Decimal:
    return Decimal(str(settings.BILLING_HIGH_VALUE_THRESHOLD))


def high_value_mode() -> str:
    mode = str(settings.BILLING_HIGH_VALUE_MODE).strip().lower()
    return BLOCK if mode == BLOCK else FLAG


def _approvals(*, encounter, consumable: Consumable):
    return HighValueApproval.objects.filter(
        Q(consumable=consumable) | Q(consumable__isnull=True), encounter=encounter
    )


def has_high_value_approval(*, encounter: Encounter, consumable: Consumable) -> bool:
    """Whether an approval on ``encounter`` covers ``consumable`` (its own or a blanket one)."""
    return _approvals(encounter=encounter, consumable=consumable).exists()


def high_value_approval_exists(consumable: Consumable) -> Exists:
    """``has_high_value_approval`` as an annotation of the encounter (read with it)."""
    return Exists(_approvals(encounter=OuterRef("pk"), consumable=consumable))


def is_high_value(version: PriceVersion | None) -> bool:
    """Whether a use charged at ``version`` needs an approval (its charge price is at or
    above the threshold)."""
    return (
        version is not None
        and version.charge_price is not None  # not separately chargeable: no charge price
        and version.charge_price >= high_value_threshold()
    )


def high_value_use_check(
    *,
    encounter: Encounter,
    consumable: Consumable,
    at: dt.datetime,
    version: PriceVersion | None = None,
    approved: bool | None = None,
) -> list[str]:
    """The warnings a use of ``consumable`` at ``at`` carries for want of an approval.

    ``version`` is the charge price version the use is charged at, when the caller already
    has it; otherwise the approved version in force at ``at`` is read (an item keyed in at
    HIS is as high-value as one billed by scan). ``approved``: whether an approval covers
    it, when the caller read that with the encounter (``high_value_approval_exists``). No
    approved price: nothing to check here (a scan-billed item without one is refused
    before, NO_APPROVED_PRICE). Raises ``APPROVAL_REQUIRED`` in block mode.
    """
    if version is None:
        version = approved_version_in_force(consumable.pk, at)
    if not is_high_value(version):
        return []
    if approved is None:
        approved = has_high_value_approval(encounter=encounter, consumable=consumable)
    if approved:
        return []
    if high_value_mode() == BLOCK:
        raise DomainError(
            APPROVAL_REQUIRED,
            detail={
                "encounter": encounter.visit_no,
                "material_code": consumable.material_code,
                "charge_price": str(version.charge_price),
                "threshold": str(high_value_threshold()),
            },
            http_status=409,
        )
    return [NO_HIGH_VALUE_APPROVAL]


@transaction.atomic
def high_value_approval_record(
    *,
    encounter: Encounter,
    consumable: Consumable | None = None,
    approved_by,
    note: str = "",
    approved_at: dt.datetime | None = None,
) -> HighValueApproval:
    """Record an approval to use high-value items in ``encounter``: ``consumable`` only, or
    every high-value item of the encounter when ``consumable`` is None.

    Uses scanned from then on pass the check; uses already recorded keep their warning
    (the warning says what was true at the bedside). ``approved_by`` is the person who
    approved (a user, required).
    """
    if getattr(approved_by, "pk", None) is None:
        raise DomainError(
            "VALIDATION_ERROR",
            "审批人必填",
            "The approver is required",
            detail={"approved_by": "required"},
        )
    approval = HighValueApproval(
        encounter=encounter,
        consumable=consumable,
        approved_by=approved_by,
        approved_at=approved_at or timezone.now(),
        note=(note or "").strip(),
    )
    approval.full_clean()
    approval.save()
    return approval
