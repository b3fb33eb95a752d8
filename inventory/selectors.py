"""Reads for pages, reports and the scan handlers."""

from __future__ import annotations

import datetime as dt

from django.db.models import F, Q

from .models import Location, Lot, Recall, StockBalance


def usable_lots(consumable_id: int, on: dt.date):
    """Lots of an item that may be issued or used on ``on``: not expired, not recalled."""
    recalled = list(
        Recall.objects.filter(consumable_id=consumable_id).values_list("lot_no", flat=True)
    )
    lots = Lot.objects.filter(consumable_id=consumable_id).filter(
        Q(expiry__isnull=True) | Q(expiry__gte=on)
    )
    if "" in recalled:  # a recall without a lot covers every lot
        return lots.none()
    return lots.exclude(lot_no__in=recalled)


def fefo_balances(location: Location, consumable_id: int, on: dt.date):
    """Usable stock of an item at a location, first-expiry-first-out (no expiry last)."""
    return (
        StockBalance.objects.select_related("lot")
        .filter(location=location, consumable_id=consumable_id, quantity__gt=0)
        .filter(lot__in=usable_lots(consumable_id, on).values("pk"))
        .order_by(F("lot__expiry").asc(nulls_last=True), "lot__lot_no", "lot_id")
    )


def fefo_allocation(location: Location, consumable_id: int, quantity: int, on: dt.date):
    """[(lot, quantity)] covering ``quantity`` first-expiry-first-out, or None if short."""
    plan, left = [], quantity
    for balance in fefo_balances(location, consumable_id, on):
        take = min(left, balance.quantity)
        plan.append((balance.lot, take))
        left -= take
        if left == 0:
            return plan
    return None
