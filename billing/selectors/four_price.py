"""四价统一 report for the pricing office (物价办).

Two lists: the consumables whose prices in force now break the four-price rule, and the
platform (挂网价) or volume-procurement (集采价) prices the provincial platform has published to
take effect in the next days, each with whether the hospital's approved prices will still
satisfy the rule on that date (if not, a price proposal must be made and approved by a
second person before then). The rule is ``consumables.prices.four_price_violations``, the
one every other check uses; SQL fetches the prices, Python applies the rule.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Exists, OuterRef, Subquery

from consumables.models import Consumable, ExternalPrice, PriceVersion
from consumables.prices import (
    PRICE_FIELD,
    PRICE_PLACES,
    FourPrices,
    four_price_violations,
    with_prices_in_force,
)

UPCOMING_DAYS = 30


def _q(value) -> Decimal | None:
    # SQLite hands a subquery's decimal back without its scale.
    return None if value is None else Decimal(value).quantize(PRICE_PLACES)


def _pending_proposal():
    return Exists(
        PriceVersion.objects.filter(
            consumable_id=OuterRef("pk"), status=PriceVersion.Status.PROPOSED
        )
    )


def misaligned_now(at: dt.datetime) -> list[dict]:
    """Live consumables whose prices in force at ``at`` break the rule (one query).

    Never-priced consumables are left out, as in the nightly run: nothing is in force to be
    misaligned, and their receipts and uses are refused or flagged where they happen.
    """
    rows = (
        with_prices_in_force(Consumable.objects.filter(is_active=True), at)
        .annotate(pending=_pending_proposal())
        .order_by("material_code")
        .values(
            "pk",
            "material_code",
            "name",
            "spec",
            "unit",
            "charge_code",
            "insurance_code",
            "platform_price",
            "vbp_price",
            "purchase_price",
            "charge_price",
            "pending",
        )
    )
    found = []
    for row in rows.iterator(chunk_size=5000):
        if row["purchase_price"] is None:
            continue
        prices = FourPrices(
            *(_q(row[f"{k}_price"]) for k in ("platform", "vbp", "purchase", "charge"))
        )
        violations = four_price_violations(prices)
        if violations:
            found.append(
                {
                    **row,
                    "platform_price": prices.platform,
                    "vbp_price": prices.vbp,
                    "purchase_price": prices.purchase,
                    "charge_price": prices.charge,
                    "violations": [v.code for v in violations],
                    "messages": "；".join(v.message for v in violations),
                }
            )
    return found


def _external_at(kind: str, when):
    """The external price of ``kind`` in force at ``when`` (an expression), as a subquery."""
    return Subquery(
        ExternalPrice.objects.filter(
            consumable_id=OuterRef("consumable_id"), kind=kind, effective_from__lte=when
        )
        .order_by("-effective_from")
        .values("price")[:1],
        output_field=PRICE_FIELD,
    )


def _approved_at(field: str, when):
    return Subquery(
        PriceVersion.objects.filter(
            consumable_id=OuterRef("consumable_id"),
            status=PriceVersion.Status.APPROVED,
            effective_from__lte=when,
        )
        .order_by("-effective_from", "-decided_at", "-pk")
        .values(field)[:1],
        output_field=PRICE_FIELD,
    )


def upcoming_changes(at: dt.datetime, days: int = UPCOMING_DAYS) -> list[dict]:
    """Platform and VBP prices taking effect in (``at``, ``at`` + ``days``], with the price
    they replace and the four-price check on their date (one query)."""
    then = OuterRef("effective_from")
    current = Subquery(
        ExternalPrice.objects.filter(
            consumable_id=OuterRef("consumable_id"), kind=OuterRef("kind"), effective_from__lte=at
        )
        .order_by("-effective_from")
        .values("price")[:1],
        output_field=PRICE_FIELD,
    )
    rows = (
        ExternalPrice.objects.filter(
            effective_from__gt=at,
            effective_from__lte=at + dt.timedelta(days=days),
            consumable__is_active=True,
        )
        .annotate(
            current_price=current,
            platform_then=_external_at(ExternalPrice.Kind.PLATFORM, then),
            vbp_then=_external_at(ExternalPrice.Kind.VBP, then),
            purchase_then=_approved_at("purchase_price", then),
            charge_then=_approved_at("charge_price", then),
            pending=Exists(
                PriceVersion.objects.filter(
                    consumable_id=OuterRef("consumable_id"), status=PriceVersion.Status.PROPOSED
                )
            ),
        )
        .order_by("effective_from", "consumable__material_code", "kind")
        .values(
            "pk",
            "kind",
            "price",
            "effective_from",
            "source",
            "consumable_id",
            "consumable__material_code",
            "consumable__name",
            "consumable__spec",
            "current_price",
            "platform_then",
            "vbp_then",
            "purchase_then",
            "charge_then",
            "pending",
        )
    )
    found = []
    for row in rows:
        prices = FourPrices(
            _q(row["platform_then"]),
            _q(row["vbp_then"]),
            _q(row["purchase_then"]),
            _q(row["charge_then"]),
        )
        violations = four_price_violations(prices) if prices.purchase is not None else []
        found.append(
            {
                **row,
                "price": _q(row["price"]),
                "current_price": _q(row["current_price"]),
                "purchase_then": prices.purchase,
                "charge_then": prices.charge,
                "vbp_ends": row["kind"] == ExternalPrice.Kind.VBP and row["price"] is None,
                "will_break": bool(violations),
                "violations": [v.code for v in violations],
                "messages": "；".join(v.message for v in violations),
            }
        )
    return found
