"""The stock ledger: the only code that writes StockMove and StockBalance rows.

Every physical movement is one immutable move from a location to a location; the balance
of each real location is updated in the same transaction under a row lock and is never
negative. Balances can always be recomputed from the moves (``recompute_balances``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Model, Sum

from config.error_codes import Both
from config.errors import DomainError
from config.insert_chain import insert_chain
from organisation.models import Department, Location

from .models import Lot, StockBalance, StockMove

VIRTUAL_LOCATIONS = {
    Location.Usage.SUPPLIER: ("SUPPLIER", "供应商 / supplier"),
    Location.Usage.PATIENT: ("PATIENT", "患者 / patient"),
    Location.Usage.SCRAP: ("SCRAP", "报损 / scrap"),
    Location.Usage.ADJUSTMENT: ("ADJUSTMENT", "盘点调整 / adjustment"),
}


# The virtual locations are fixed data: migration inventory 0009 seeds them, and after a flush
# (which sends post_migrate) apps.py seeds them again and forgets the ids kept here. So a
# process reads each virtual location once, not once per move (a use scan read PATIENT
# every time: one statement of thirteen). Only the id is kept, and every caller gets a
# Location of its own: nothing mutable is shared between requests. An id is kept once the
# transaction that read it has committed: a row seen only inside a transaction that is
# rolled back (a test's) is never remembered.
_virtual_ids: dict[str, int] = {}


def virtual_location(usage: str) -> Location:
    code, name = VIRTUAL_LOCATIONS[usage]
    pk = _virtual_ids.get(usage)
    if pk is None:
        location, _ = Location.objects.get_or_create(
            code=code, defaults={"name": name, "usage": usage}
        )
        transaction.on_commit(lambda: _virtual_ids.setdefault(usage, location.pk))
        return location
    location = Location(pk=pk, code=code, name=name, usage=usage)
    location._state.adding = False
    return location


def forget_virtual_locations() -> None:
    """Forget the ids kept by ``virtual_location`` (their rows were replaced)."""
    _virtual_ids.clear()


def ensure_virtual_locations(using: str = "default") -> None:
    """Every virtual location exists (after a flush), and the ids kept before are forgotten."""
    forget_virtual_locations()
    for usage, (code, name) in VIRTUAL_LOCATIONS.items():
        Location.objects.using(using).get_or_create(
            code=code, defaults={"name": name, "usage": usage}
        )


def department_location(department: Department) -> Location:
    try:
        # No query when the department was loaded with select_related("location").
        return department.location
    except Location.DoesNotExist:
        pass
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


Key = tuple[int, int, int]  # (location, consumable, lot)

# One statement per balance row, which also takes its row lock: a decrease only where the
# row holds enough (``need``: the least on hand for every move of this call to pass in
# order), an increase creating the row if missing.
_TAKE = (
    "UPDATE inventory_stockbalance SET quantity = quantity + %s "
    "WHERE location_id = %s AND consumable_id = %s AND lot_id = %s AND quantity >= %s "
    "RETURNING quantity"
)
_ADD = (
    "INSERT INTO inventory_stockbalance (location_id, consumable_id, lot_id, quantity) "
    "VALUES (%s, %s, %s, %s) ON CONFLICT (location_id, consumable_id, lot_id) "
    "DO UPDATE SET quantity = inventory_stockbalance.quantity + EXCLUDED.quantity"
)


def _steps(moves: list[NewMove]) -> dict[Key, list[tuple[NewMove, int]]]:
    """Signed quantity changes per real-location balance, in the order of the moves."""
    steps: dict[Key, list[tuple[NewMove, int]]] = {}
    for move in moves:
        item, lot = move.lot.consumable_id, move.lot.pk
        if move.from_location.is_real:
            steps.setdefault((move.from_location.pk, item, lot), []).append((move, -move.quantity))
        if move.to_location.is_real:
            steps.setdefault((move.to_location.pk, item, lot), []).append((move, move.quantity))
    return steps


def _not_in_stock(key: Key, changes: list[tuple[NewMove, int]]) -> DomainError:
    """The refusal for the first move that the balance ``key`` cannot cover."""
    row = StockBalance.objects.filter(
        location_id=key[0], consumable_id=key[1], lot_id=key[2]
    ).values_list("quantity", flat=True)
    on_hand = next(iter(row), 0)
    for move, change in changes:
        if change < 0 and on_hand < -change:
            return DomainError(
                "NOT_IN_STOCK",
                case="short",
                location=Both(move.from_location.name, move.from_location.code),
                on_hand=on_hand,
                requested=move.quantity,
                detail={
                    "location": move.from_location.code,
                    "on_hand": on_hand,
                    "requested": move.quantity,
                    "lot": move.lot.lot_no,
                },
            )
        on_hand += change
    raise AssertionError(f"balance {key} was expected to be short")  # pragma: no cover


def _take_needed(changes: list[tuple[NewMove, int]]) -> tuple[int, int]:
    """The net change of one balance and ``need``: the least it must hold for every move
    of this call to pass in order."""
    running, need = 0, 0
    for _, change in changes:
        running += change
        need = max(need, -running)
    return running, need


def _apply_to_balances(steps: dict[Key, list[tuple[NewMove, int]]]) -> None:
    """Update every real-location balance the moves touch, one statement each, in a fixed
    key order (concurrent posts lock rows in the same order: no deadlocks)."""
    with connection.cursor() as cursor:
        for key in sorted(steps):
            running, need = _take_needed(steps[key])
            if need == 0:
                cursor.execute(_ADD, [*key, running])
                continue
            cursor.execute(_TAKE, [running, *key, need])
            if cursor.fetchone() is None:
                raise _not_in_stock(key, steps[key])


def post_moves(
    moves: list[NewMove], *, attach: Callable[[list[StockMove]], list[Model]] | None = None
) -> list[StockMove]:
    """Append ``moves`` to the ledger and update the balances of their real locations.

    Must run inside the caller's transaction (one business action = one transaction).
    Raises ``NOT_IN_STOCK`` when a real location would go below zero; then nothing of this
    call is written (the caller's transaction rolls back).

    ``attach``: the caller's new rows that hang off these moves (a bedside use and its
    charge line), given the moves before they are saved; they are inserted with the moves
    in one statement (``config.insert_chain``): a bedside use sends one statement for its
    move, use and charge line where it sent three, each a round trip to PostgreSQL. When
    the moves take from one balance only (a use: the ward's), its decrease goes first in
    that same statement (the chain's guard) and nothing is inserted if it is short.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("post_moves must be called inside transaction.atomic()")
    for move in moves:
        if move.quantity <= 0:
            raise ValueError("move quantity must be positive")
    steps = _steps(moves)
    taken = _single_take(steps) if attach is not None else None
    if taken is None:
        _apply_to_balances(steps)
    new = [
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
    if attach is None:
        return StockMove.objects.bulk_create(new)
    guard = (_TAKE, taken[1]) if taken else None
    if not insert_chain([*new, *attach(new)], guard=guard):
        raise _not_in_stock(taken[0], steps[taken[0]])
    return new


def _single_take(steps: dict[Key, list[tuple[NewMove, int]]]) -> tuple[Key, list] | None:
    """The balance and the parameters of ``_TAKE`` when the moves change one balance only
    and take from it; else None. One row lock only: in a ``WITH`` the order of several
    statements is PostgreSQL's, and two posts locking rows in different orders could
    deadlock."""
    if len(steps) != 1:
        return None
    ((key, changes),) = steps.items()
    running, need = _take_needed(changes)
    return (key, [running, *key, need]) if need else None


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
