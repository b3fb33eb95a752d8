"""Issuing (出库/配送): store -> ward or theatre; also the generic stock-moving scan used by
return-to-store and scrap."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Model

from consumables.models import Consumable
from organisation.models import Department, Location

from .. import errors
from ..ledger import NewMove, department_location, post_moves
from ..models import Lot, StockMove, TrackedUnit
from ..selectors import fefo_allocation
from .common import requested_quantity, unit_required
from .scans import (
    MovedLot,
    ScanContext,
    ScanResult,
    department_by_code,
    refuse_if_expired,
    refuse_if_recalled,
    register,
    scan_result,
)


@dataclass(frozen=True)
class Moved:
    """What a scan moved: [(lot, quantity, move)] and the tracked unit, if any."""

    lines: list[tuple[Lot, int, StockMove]]
    unit: TrackedUnit | None

    @property
    def quantity(self) -> int:
        return sum(q for _, q, _ in self.lines)

    def result(self, context: ScanContext, **extra) -> ScanResult:
        unit = self.unit
        return scan_result(
            context,
            quantity=self.quantity,
            lot=self.lines[0][0],
            serial=unit.serial if unit else None,
            hospital_barcode=unit.serial if unit and unit.hospital_label_id else None,
            moves=[MovedLot(lot.lot_no or None, q) for lot, q, _ in self.lines],
            **extra,
        )


def move_scanned_stock(
    context: ScanContext,
    *,
    kind: str,
    source: Location,
    target: Location,
    allow_unusable: bool = False,
    encounter_no: str = "",
    attach: Callable[[Moved], list[Model]] | None = None,
) -> Moved:
    """Move what the scan names from ``source`` to ``target``.

    One-item-one-code items: the scanned unit. Lot items: the scanned lot, or first-expiry-
    first-out over usable lots when the scan carries no lot. Expired or recalled stock is
    refused unless ``allow_unusable`` (returns to store or supplier, scrap). ``attach``:
    the new rows that hang off the moves (a use, its charge line), given what is moved,
    the moves not yet saved; the ledger writes them with the moves (``post_moves``).
    """
    consumable, resolution = context.consumable, context.resolution
    on = context.business_date
    if not allow_unusable:
        # The label in hand says it is expired: refuse whatever the ledger holds.
        refuse_if_expired(resolution.expiry, on, resolution.lot)
    if consumable.tracking == Consumable.Tracking.UNIT:
        unit = unit_required(context, source)
        if not allow_unusable:
            refuse_if_expired(unit.lot.expiry, on, unit.lot.lot_no)
            if unit.recalled:
                refuse_if_recalled(consumable, unit.lot.lot_no)
        plan = [(unit.lot, 1)]
        unit.location = target if target.is_real else None
        unit.save(update_fields=["location"])
    else:
        quantity = requested_quantity(context)
        unit = None
        if resolution.lot or consumable.tracking == Consumable.Tracking.NONE:
            lot = context.scanned_lot(resolution.lot or "")
            if lot is None:
                raise errors.not_in_stock(source.name, lot=resolution.lot)
            if not allow_unusable:
                refuse_if_expired(lot.expiry or resolution.expiry, on, lot.lot_no)
                if lot.recalled:  # the recall itself is read only to explain the refusal
                    refuse_if_recalled(consumable, lot.lot_no)
            plan = [(lot, quantity)]
        else:
            plan = fefo_allocation(source, consumable.pk, quantity, on)
            if plan is None:
                raise errors.not_in_stock(source.name, requested=quantity, reason="FEFO_SHORT")

    def moved(moves: list[StockMove]) -> Moved:
        return Moved([(lot, qty, move) for (lot, qty), move in zip(plan, moves, strict=True)], unit)

    moves = post_moves(
        [
            NewMove(
                kind=kind,
                lot=lot,
                quantity=qty,
                from_location=source,
                to_location=target,
                occurred_at=context.occurred_at,
                event_id=context.request.event_id,
                encounter_no=encounter_no,
                user=context.user,
                note=context.request.reason or "",
            )
            for lot, qty in plan
        ],
        attach=(lambda moves: attach(moved(moves))) if attach else None,
    )
    return moved(moves)


def issue(context: ScanContext) -> ScanResult:
    source_department = department_by_code(context.request.from_department, "from_department")
    if source_department.kind != Department.Kind.STORE:
        raise errors.validation(
            "from_department", "出库科室必须是库房", "Stock is issued from a store"
        )
    if context.department.pk == source_department.pk:
        raise errors.validation("department", "领用科室不能是库房本身", "Issue to another place")
    moved = move_scanned_stock(
        context,
        kind="issue",
        source=department_location(source_department),
        target=department_location(context.department),
    )
    return moved.result(context, from_department=source_department.code)


register("issue", issue)
