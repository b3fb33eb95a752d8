"""The stock ledger: the only code that writes StockMove and StockBalance rows.

Every physical movement is one immutable move from a location to a location; the balance
of each real location is updated in the same transaction under a row lock and is never
negative. Balances can always be recomputed from the moves (``recompute_balances``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Sum

from config.errors import DomainError

from .models import Department, Location, Lot, StockBalance, StockMove

VIRTUAL_LOCATIONS = {
    Location.Usage.SUPPLIER: ("SUPPLIER", "供应商 / supplier"),
    Location.Usage.PATIENT: ("PATIENT", "患者 / patient"),
    Location.Usage.SCRAP: ("SCRAP", "报损 / scrap"),
    Location.Usage.ADJUSTMENT: ("ADJUSTMENT", "盘点调整 / adjustment"),
}


def virtual_location(usage: str) -> Location:
    code, name = VIRTUAL_LOCATIONS[usage]
    location, _ = Location.objects.get_or_create(code=code, defaults={"name": name, "usage": usage})
    return location


def department_location(department: Department) -> Location:
    location, _ = Location.objects.get_or_create(
        department=department,
        defaults={
            "code": f"DEPT-{department.code}",
            "name": department.name,
            "usage": Location.Usage.INTERNAL,
        },
    )
    return location


@dataclass(frozen=True)
class NewMove:
    kind: str
    lot: Lot
    quantity: int
    from_location: Location
    to_location: Location
    occurred_at: dt.datetime
    event_id: uuid.UUID | None = None
    reverses: StockMove | None = None
    encounter_no: str = ""
    user: object | None = None
    note: str = ""


def _locked_balances(keys: set[tuple[int, int, int]]) -> dict[tuple[int, int, int], StockBalance]:
    """Create missing balance rows, then lock all of them in a fixed order (no deadlocks)."""
    StockBalance.objects.bulk_create(
        [StockBalance(location_id=loc, consumable_id=item, lot_id=lot) for loc, item, lot in keys],
        ignore_conflicts=True,
    )
    balances = {}
    for loc, item, lot in sorted(keys):
        balance = StockBalance.objects.select_for_update().get(
            location_id=loc, consumable_id=item, lot_id=lot
        )
        balances[(loc, item, lot)] = balance
    return balances


def post_moves(moves: list[NewMove]) -> list[StockMove]:
    """Append ``moves`` to the ledger and update the balances of their real locations.

    Must run inside the caller's transaction (one business action = one transaction).
    Raises ``NOT_IN_STOCK`` when a real location would go below zero; then nothing of this
    call is written (the caller's transaction rolls back).
    """
    if not connection.in_atomic_block:
        raise RuntimeError("post_moves must be called inside transaction.atomic()")
    keys: set[tuple[int, int, int]] = set()
    for move in moves:
        if move.quantity <= 0:
            raise ValueError("move quantity must be positive")
        for location in (move.from_location, move.to_location):
            if location.is_real:
                keys.add((location.pk, move.lot.consumable_id, move.lot.pk))
    balances = _locked_balances(keys)
    for move in moves:
        item, lot = move.lot.consumable_id, move.lot.pk
        if move.from_location.is_real:
            balance = balances[(move.from_location.pk, item, lot)]
            if balance.quantity < move.quantity:
                raise DomainError(
                    "NOT_IN_STOCK",
                    f"{move.from_location.name} 库存不足：现有 {balance.quantity}，"
                    f"需要 {move.quantity}",
                    f"Not enough stock at {move.from_location.code}: "
                    f"{balance.quantity} on hand, {move.quantity} needed",
                    detail={
                        "location": move.from_location.code,
                        "on_hand": balance.quantity,
                        "requested": move.quantity,
                        "lot": move.lot.lot_no,
                    },
                    http_status=409,
                )
            balance.quantity -= move.quantity
        if move.to_location.is_real:
            balances[(move.to_location.pk, item, lot)].quantity += move.quantity
    for balance in balances.values():
        balance.save(update_fields=["quantity"])
    return StockMove.objects.bulk_create(
        [
            StockMove(
                kind=move.kind,
                consumable_id=move.lot.consumable_id,
                lot=move.lot,
                quantity=move.quantity,
                from_location=move.from_location,
                to_location=move.to_location,
                occurred_at=move.occurred_at,
                event_id=move.event_id,
                reverses=move.reverses,
                encounter_no=move.encounter_no,
                user=move.user,
                note=move.note,
            )
            for move in moves
        ]
    )


def recompute_balances() -> dict[tuple[int, int, int], int]:
    """On-hand per (real location, consumable, lot) computed from the ledger alone."""
    totals: dict[tuple[int, int, int], int] = {}
    incoming = (
        StockMove.objects.filter(to_location__usage=Location.Usage.INTERNAL)
        .values_list("to_location_id", "consumable_id", "lot_id")
        .annotate(total=Sum("quantity"))
    )
    outgoing = (
        StockMove.objects.filter(from_location__usage=Location.Usage.INTERNAL)
        .values_list("from_location_id", "consumable_id", "lot_id")
        .annotate(total=Sum("quantity"))
    )
    for loc, item, lot, total in incoming:
        totals[(loc, item, lot)] = totals.get((loc, item, lot), 0) + total
    for loc, item, lot, total in outgoing:
        totals[(loc, item, lot)] = totals.get((loc, item, lot), 0) - total
    return totals


@transaction.atomic
def rebuild_balances() -> int:
    """Replace the kept balances by those computed from the ledger; return rows changed."""
    computed = recompute_balances()
    changed = 0
    kept = {
        (b.location_id, b.consumable_id, b.lot_id): b
        for b in StockBalance.objects.select_for_update()
    }
    for key, balance in kept.items():
        want = computed.get(key, 0)
        if balance.quantity != want:
            balance.quantity = want
            balance.save(update_fields=["quantity"])
            changed += 1
    missing = [
        StockBalance(location_id=loc, consumable_id=item, lot_id=lot, quantity=qty)
        for (loc, item, lot), qty in computed.items()
        if (loc, item, lot) not in kept
    ]
    StockBalance.objects.bulk_create(missing)
    return changed + len(missing)


def kept_balances() -> dict[tuple[int, int, int], int]:
    return {
        (loc, item, lot): qty
        for loc, item, lot, qty in StockBalance.objects.values_list(
            "location_id", "consumable_id", "lot_id", "quantity"
        )
        if qty
    }
