"""Writes to the consumable master and its prices. One transaction per call."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction

from config.errors import DomainError

from .models import Consumable, PriceVersion
from .prices import PRICE_PLACES, FourPrices, four_price_violations, prices_in_force
from .reviews.services import ReviewKind, review_approve, review_propose, review_reject


def _price(value, field: str) -> Decimal:
    try:
        price = Decimal(str(value)).quantize(PRICE_PLACES)
    except Exception as exc:
        raise DomainError(
            "VALIDATION_ERROR",
            f"{field} 不是有效金额",
            f"{field} is not a valid amount",
            detail={"field": field, "value": str(value)},
            http_status=400,
        ) from exc
    if price < 0 or not price.is_finite():
        raise DomainError(
            "VALIDATION_ERROR",
            f"{field} 不能为负数",
            f"{field} must not be negative",
            detail={"field": field, "value": str(value)},
            http_status=400,
        )
    return price


@transaction.atomic
def price_version_propose(
    *,
    consumable: Consumable,
    purchase_price,
    charge_price,
    effective_from: dt.datetime,
    reason: str,
    proposed_by,
) -> PriceVersion:
    """Record a proposed change of the hospital's purchase and charge prices.

    Nothing changes in force until a second person approves it.
    """
    version = PriceVersion(
        consumable=consumable,
        purchase_price=_price(purchase_price, "purchase_price"),
        # None: no charge price, for an item not separately chargeable (checked on approval).
        charge_price=None if charge_price in (None, "") else _price(charge_price, "charge_price"),
        effective_from=effective_from,
        requested_effective_from=effective_from,
        reason=reason,
    )
    return review_propose(record=version, proposed_by=proposed_by)


def _put_in_force(version: PriceVersion, approver, now: dt.datetime) -> None:
    """The approval's effect: the version takes effect at the later of its requested date
    and now (a price never changes in the past), only if the four-price rule holds against
    the platform and VBP prices in force then."""
    takes_effect = max(version.requested_effective_from or version.effective_from, now)
    external = prices_in_force(version.consumable_id, takes_effect)
    violations = four_price_violations(
        FourPrices(
            platform=external.platform,
            vbp=external.vbp,
            purchase=version.purchase_price,
            charge=version.charge_price,
            chargeable=version.consumable.chargeable,
        )
    )
    if violations:
        raise DomainError(
            "FOUR_PRICE_VIOLATION",
            detail={
                "violations": [v.as_dict() for v in violations],
                "platform_price": _str(external.platform),
                "vbp_price": _str(external.vbp),
                "effective_from": takes_effect.isoformat(),
            },
        )
    version.effective_from = takes_effect


PRICE_REVIEW = ReviewKind(
    model=PriceVersion,
    code="PRICE_VERSION_NOT_PENDING",
    case="price",
    reason_required=("驳回须填写原因", "A rejection needs a reason"),
    on_approve=_put_in_force,
)


def price_version_approve(*, version: PriceVersion, approver, note: str = "") -> PriceVersion:
    """Approve a proposal: a second person, and only if the four-price rule holds
    (``_put_in_force``)."""
    return review_approve(kind=PRICE_REVIEW, record=version, decider=approver, reason=note)


def price_version_reject(*, version: PriceVersion, approver, note: str) -> PriceVersion:
    """Reject a proposal with a reason (a second person); it never takes effect."""
    return review_reject(kind=PRICE_REVIEW, record=version, decider=approver, reason=note)


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
