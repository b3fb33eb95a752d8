"""Self-pay informed consent (自费知情同意) for one item in one encounter.

The bedside ``use`` of a self-pay or restricted item for an insured patient is refused with
``CONSENT_REQUIRED`` until a consent for that (encounter, consumable) is on record. The
paper form is signed at the bedside; the nurse records who signed it and when.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from consumables.models import Consumable
from inventory import errors as stock_errors

from .. import errors
from ..models import Consent, Encounter

RELATIONSHIPS = ("本人", "配偶", "子女", "父母", "其他")
RELATIONSHIP_LABELS = {
    "本人": "本人 / self",
    "配偶": "配偶 / spouse",
    "子女": "子女 / child",
    "父母": "父母 / parent",
    "其他": "其他 / other",
}
# A form filled in a little ahead of the server clock is fine; a date next week is a typo.
CLOCK_SKEW = dt.timedelta(minutes=10)


def has_consent(encounter: Encounter, consumable: Consumable) -> bool:
    """Whether ``encounter`` has a consent for ``consumable``: the ``consented`` annotation
    when the encounter was read with it for this item (the bedside use reads it in the
    encounter's query, ``services.use._open_encounter``), else one query."""
    consented = getattr(encounter, "consented", None)
    if consented is None:
        consented = Consent.objects.filter(encounter=encounter, consumable=consumable).exists()
    return consented


def consent_record(
    *,
    encounter: Encounter,
    consumable: Consumable,
    signed_by: str,
    relationship: str,
    signed_at: dt.datetime | None,
    recorded_by,
) -> tuple[Consent, bool]:
    """Record the consent of ``encounter`` for ``consumable``; ``(consent, created)``.

    Idempotent per (encounter, consumable): a second recording, even with other names,
    keeps the first and returns it (``created`` False), so a form sent twice from a PDA
    on a bad network is harmless. A new consent needs an open encounter.
    """
    signed_by = (signed_by or "").strip()
    if not signed_by:
        raise stock_errors.validation("signed_by", "请填写签署人姓名", "Who signed the consent?")
    if relationship not in RELATIONSHIPS:
        raise stock_errors.validation(
            "relationship",
            "签署人与患者关系须为：" + "、".join(RELATIONSHIPS),
            "Relationship must be one of " + ", ".join(RELATIONSHIPS),
        )
    now = timezone.now()
    signed_at = signed_at or now
    if signed_at > now + CLOCK_SKEW:
        raise stock_errors.validation(
            "signed_at", "签署时间不能晚于当前时间", "signed_at is in the future"
        )
    existing = Consent.objects.filter(encounter=encounter, consumable=consumable).first()
    if existing is not None:
        return existing, False
    if encounter.discharged_at is not None:
        raise errors.encounter_closed(encounter.visit_no)
    try:
        with transaction.atomic():
            consent = Consent.objects.create(
                encounter=encounter,
                consumable=consumable,
                signed_by=signed_by,
                relationship=relationship,
                signed_at=signed_at,
                recorded_by=recorded_by if getattr(recorded_by, "pk", None) else None,
            )
    except IntegrityError:
        # Recorded at the same instant from another device: the first one stands.
        return Consent.objects.get(encounter=encounter, consumable=consumable), False
    return consent, True
