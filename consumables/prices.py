"""The four-price rule (四价统一) and the prices in force at an instant.

The rule is one pure function, ``four_price_violations``, used wherever prices are checked:
approval of a price version, import, the nightly audit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    BigIntegerField,
    DecimalField,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)

from .models import Consumable, ExternalPrice, PriceVersion
from .resolve import consumable_ref

PRICE_PLACES = Decimal("0.0001")
PRICE_FIELD = DecimalField(max_digits=14, decimal_places=4)


@dataclass(frozen=True)
class FourPrices:
    platform: Decimal | None
    vbp: Decimal | None
    purchase: Decimal | None
    charge: Decimal | None
    # Whether the item is separately chargeable, when the caller knows it (None: unknown).
    # Not compared: the same four prices are equal whoever asks.
    chargeable: bool | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Violation:
    code: str
    message: str
    message_en: str

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "message_en": self.message_en}


def four_price_violations(prices: FourPrices) -> list[Violation]:
    """Return every way ``prices`` break the four-price rule (empty list: aligned).

    - charge = purchase (zero mark-up, 零差率), for an item that is separately chargeable;
    - purchase = VBP price when the item is in a volume-procurement programme;
    - purchase <= platform listed price.
    A missing platform or VBP price constrains nothing; a missing purchase price is reported.
    An item that is not separately chargeable (``chargeable=False``: its cost is included in
    a procedure fee) has a purchase price and no charge price: the rule applies to platform,
    VBP and purchase. A missing charge price is reported when the item is known to be
    chargeable, a charge price when it is known not to be.
    """
    found: list[Violation] = []
    if prices.purchase is None:
        found.append(
            Violation("NO_APPROVED_PRICE", "无已批准的采购价/收费价", "No approved hospital price")
        )
        return found
    if prices.charge is None:
        if prices.chargeable:
            found.append(
                Violation(
                    "NO_CHARGE_PRICE",
                    "可收费耗材没有收费价",
                    "A chargeable item has no charge price",
                )
            )
    elif prices.chargeable is False:
        found.append(
            Violation(
                "CHARGE_NOT_CHARGEABLE",
                f"该耗材不单独收费，不应有收费价 {prices.charge}",
                f"The item is not separately chargeable and has no charge price "
                f"(given {prices.charge})",
            )
        )
    elif prices.charge != prices.purchase:
        found.append(
            Violation(
                "CHARGE_NE_PURCHASE",
                f"收费价 {prices.charge} 不等于采购价 {prices.purchase}（零差率）",
                f"Charge price {prices.charge} differs from purchase price {prices.purchase}",
            )
        )
    if prices.vbp is not None and prices.purchase != prices.vbp:
        found.append(
            Violation(
                "PURCHASE_NE_VBP",
                f"采购价 {prices.purchase} 不等于集采价 {prices.vbp}",
                f"Purchase price {prices.purchase} differs from the VBP price {prices.vbp}",
            )
        )
    if prices.platform is not None and prices.purchase > prices.platform:
        found.append(
            Violation(
                "PURCHASE_ABOVE_PLATFORM",
                f"采购价 {prices.purchase} 高于挂网价 {prices.platform}",
                f"Purchase price {prices.purchase} is above the platform price {prices.platform}",
            )
        )
    return found


def _external_in_force(kind: str, at: dt.datetime):
    return Subquery(
        ExternalPrice.objects.filter(consumable=OuterRef("pk"), kind=kind, effective_from__lte=at)
        .order_by("-effective_from")
        .values("price")[:1],
        output_field=PRICE_FIELD,
    )


def _approved_in_force(field: str, at: dt.datetime):
    return Subquery(
        PriceVersion.objects.filter(
            consumable=OuterRef("pk"),
            status=PriceVersion.Status.APPROVED,
            effective_from__lte=at,
        )
        .order_by("-effective_from", "-decided_at", "-pk")
        .values(field)[:1],
        output_field=BigIntegerField() if field == "pk" else PRICE_FIELD,
    )


def with_prices_in_force(queryset: QuerySet[Consumable], at: dt.datetime) -> QuerySet:
    """Annotate consumables with the four prices in force at ``at``: one SQL query in all.

    Annotations: ``platform_price``, ``vbp_price``, ``purchase_price``, ``charge_price``,
    ``price_version_id``.
    """
    return queryset.annotate(
        platform_price=_external_in_force(ExternalPrice.Kind.PLATFORM, at),
        vbp_price=_external_in_force(ExternalPrice.Kind.VBP, at),
        purchase_price=_approved_in_force("purchase_price", at),
        charge_price=_approved_in_force("charge_price", at),
        price_version_id=_approved_in_force("pk", at),
    )


def prices_in_force(consumable_id: int, at: dt.datetime) -> FourPrices:
    """The four prices of one consumable at an instant (one query)."""
    row = (
        with_prices_in_force(Consumable.objects.filter(pk=consumable_id), at)
        .values("platform_price", "vbp_price", "purchase_price", "charge_price")
        .get()
    )
    return FourPrices(
        platform=row["platform_price"],
        vbp=row["vbp_price"],
        purchase=row["purchase_price"],
        charge=row["charge_price"],
    )


def _approved_versions_in_force(consumable, at: dt.datetime) -> QuerySet:
    """Approved versions of ``consumable`` (an id or an ``OuterRef``) in force at ``at``,
    the one that applies first."""
    return PriceVersion.objects.filter(
        consumable_id=consumable,
        status=PriceVersion.Status.APPROVED,
        effective_from__lte=at,
    ).order_by("-effective_from", "-decided_at", "-pk")


def approved_version_in_force(consumable_id: int, at: dt.datetime) -> PriceVersion | None:
    """The approved price version in force at ``at`` (one query)."""
    return _approved_versions_in_force(consumable_id, at).first()


def version_in_force_relation(path: str, at: dt.datetime) -> FilteredRelation:
    """``approved_version_in_force`` as a relation of the rows of a query reaching the
    consumable by ``path`` (see ``resolve.Reads``): read with them, no query of its own."""
    latest = _approved_versions_in_force(OuterRef(consumable_ref(path)), at).values("pk")[:1]
    return FilteredRelation(
        f"{path}price_versions", condition=Q(**{f"{path}price_versions__pk": Subquery(latest)})
    )
