"""Issuing (出库/配送): store -> ward or theatre; also the generic stock-moving scan used by
return-to-store and scrap."""

from __future__ import annotations

from consumables.models import Consumable

from .. import errors
from ..ledger import NewMove, department_location, post_moves
from ..models import Department, Location, Lot
from ..selectors import fefo_allocation
from .common import requested_quantity, scan_body, unit_required
from .scans import (
    ScanContext,
    department_by_code,
    refuse_if_expired,
    refuse_if_recalled,
    register,
)


def move_scanned_stock(
    context: ScanContext,
    *,
    kind: str,
    source: Location,
    target: Location,
    allow_unusable: bool = False,
) -> dict:
    """Move what the scan names from ``source`` to ``target``.

    One-item-one-code items: the scanned unit. Lot items: the scanned lot, or first-expiry-
    first-out over usable lots when the scan carries no lot. Expired or recalled stock is
    refused unless ``allow_unusable`` (returns to store or supplier, scrap).
    """
    consumable, resolution = context.consumable, context.resolution
    on = context.business_date
    if consumable.tracking == Consumable.Tracking.UNIT:
        unit = unit_required(context, source)
        if not allow_unusable:
            refuse_if_expired(unit.lot.expiry, on, unit.lot.lot_no)
            refuse_if_recalled(consumable, unit.lot.lot_no)
        plan = [(unit.lot, 1)]
        unit.location = target if target.is_real else None
        unit.save(update_fields=["location"])
        serial, barcode = unit.serial, (unit.serial if unit.hospital_label_id else None)
    else:
        quantity = requested_quantity(context)
        serial = barcode = None
        if resolution.lot or consumable.tracking == Consumable.Tracking.NONE:
            lot = Lot.objects.filter(consumable=consumable, lot_no=resolution.lot or "").first()
            if lot is None:
                raise errors.not_in_stock(source.name, lot=resolution.lot)
            if not allow_unusable:
                refuse_if_expired(lot.expiry or resolution.expiry, on, lot.lot_no)
                refuse_if_recalled(consumable, lot.lot_no)
            plan = [(lot, quantity)]
        else:
            plan = fefo_allocation(source, consumable.pk, quantity, on)
            if plan is None:
                raise errors.not_in_stock(source.name, requested=quantity, reason="FEFO_SHORT")
    post_moves(
        [
            NewMove(
                kind=kind,
                lot=lot,
                quantity=qty,
                from_location=source,
                to_location=target,
                occurred_at=context.occurred_at,
                event_id=context.request.event_id,
                user=context.user,
                note=context.request.reason or "",
            )
            for lot, qty in plan
        ]
    )
    first_lot = plan[0][0]
    return scan_body(
        context,
        quantity=sum(q for _, q in plan),
        lot=first_lot,
        serial=serial,
        hospital_barcode=barcode,
        moves=[{"lot": lot.lot_no or None, "quantity": qty} for lot, qty in plan],
    )


def issue(context: ScanContext) -> dict:
    source_department = department_by_code(context.request.from_department, "from_department")
    if source_department.kind != Department.Kind.STORE:
        raise errors.validation(
            "from_department", "出库科室必须是库房", "Stock is issued from a store"
        )
    if context.department.pk == source_department.pk:
        raise errors.validation("department", "领用科室不能是库房本身", "Issue to another place")
    body = move_scanned_stock(
        context,
        kind="issue",
        source=department_location(source_department),
        target=department_location(context.department),
    )
    body["from_department"] = source_department.code
    return body


register("issue", issue)
