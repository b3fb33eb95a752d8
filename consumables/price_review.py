"""Reads for the pricing office's pages: price proposals with their four-price check, and
items whose prices in force break the rule. A bounded number of queries per page."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from .importing.pricing import in_force
from .models import Consumable, ExternalPrice, PriceVersion
from .prices import FourPrices, Violation, four_price_violations, with_prices_in_force


@dataclass
class ProposalCheck:
    version: PriceVersion
    takes_effect: object  # datetime: the later of the requested date and now
    platform: Decimal | None
    vbp: Decimal | None
    current_purchase: Decimal | None
    current_charge: Decimal | None
    violations: list[Violation]

    @property
    def breaks_rule(self) -> bool:
        return bool(self.violations)


def proposal_checks(versions: list[PriceVersion]) -> list[ProposalCheck]:
    """Each proposal checked against the platform and VBP prices in force when it would take
    effect (as ``price_version_approve`` checks it), with the prices in force now beside it.
    Two queries whatever the number of proposals."""
    if not versions:
        return []
    now = timezone.now()
    ids = {v.consumable_id for v in versions}
    external: dict[tuple[int, str], list] = defaultdict(list)
    for row in ExternalPrice.objects.filter(consumable_id__in=ids).order_by(
        "effective_from"
    ).values("consumable_id", "kind", "price", "effective_from"):
        external[(row["consumable_id"], row["kind"])].append(
            (row["effective_from"].timestamp(), row["price"])
        )
    current = {
        row["pk"]: row
        for row in with_prices_in_force(Consumable.objects.filter(pk__in=ids), now).values(
            "pk", "purchase_price", "charge_price"
        )
    }
    checks = []
    for version in versions:
        at = max(version.requested_effective_from or version.effective_from, now)
        platform = in_force(external[(version.consumable_id, "platform")], at.timestamp())
        vbp = in_force(external[(version.consumable_id, "vbp")], at.timestamp())
        prices = FourPrices(
            platform,
            vbp,
            version.purchase_price,
            version.charge_price,
            chargeable=version.consumable.chargeable,
        )
        checks.append(
            ProposalCheck(
                version=version,
                takes_effect=at,
                platform=platform,
                vbp=vbp,
                current_purchase=current[version.consumable_id]["purchase_price"],
                current_charge=current[version.consumable_id]["charge_price"],
                violations=four_price_violations(prices),
            )
        )
    return checks


def pending_proposals() -> QuerySet[PriceVersion]:
    return PriceVersion.objects.filter(status=PriceVersion.Status.PROPOSED).select_related(
        "consumable", "proposed_by"
    ).order_by("proposed_at", "pk")


def decided_proposals() -> QuerySet[PriceVersion]:
    return (
        PriceVersion.objects.filter(origin=PriceVersion.Origin.PROPOSAL)
        .exclude(status=PriceVersion.Status.PROPOSED)
        .select_related("consumable", "proposed_by", "decided_by")
        .order_by("-decided_at", "-pk")
    )


def misaligned_in_force(at=None) -> QuerySet[Consumable]:
    """Live items whose approved prices in force break the four-price rule against the
    platform and VBP prices in force at ``at`` (one query)."""
    at = at or timezone.now()
    return (
        with_prices_in_force(Consumable.objects.filter(is_active=True), at)
        .filter(purchase_price__isnull=False)
        .filter(
            # A version with no charge price (an item not separately chargeable) is checked
            # on platform, VBP and purchase only.
            (Q(charge_price__isnull=False) & ~Q(charge_price=F("purchase_price")))
            | (Q(vbp_price__isnull=False) & ~Q(purchase_price=F("vbp_price")))
            | (Q(platform_price__isnull=False) & Q(purchase_price__gt=F("platform_price")))
        )
        .order_by("material_code")
    )
