"""Receiving (入库): SUPPLIER -> store, with the hospital's pre-purchase check."""

from __future__ import annotations

from decimal import Decimal

from consumables.models import Consumable, HospitalLabel, take_sequence
from consumables.udi import make_hospital_label
from organisation.models import Department, Location, Supplier

from .. import errors
from ..ledger import NewMove, department_location, post_moves, virtual_location
from ..models import Receipt, ReceiptLine, TrackedUnit
from .common import lot_for, requested_quantity
from .scans import (
    ScanContext,
    ScanResult,
    refuse_if_expired,
    refuse_if_recalled,
    register,
    scan_result,
)

RECEIVING_KINDS = {Department.Kind.STORE, Department.Kind.THEATRE}


def _supplier(code: str | None) -> Supplier:
    if not code:
        raise errors.validation("supplier", "入库须填写供应商", "supplier is required")
    supplier = Supplier.objects.filter(code=code, is_active=True).first()
    if supplier is None:
        raise errors.validation(
            "supplier", f"供应商 {code} 不存在", f"Unknown supplier {code}", reason="UNKNOWN"
        )
    return supplier


def _pre_purchase_check(consumable: Consumable, context: ScanContext):
    """Nothing comes in that cannot be charged correctly (the hospital's pre-purchase check)."""
    version = context.price_in_force()
    if consumable.chargeable:
        if not consumable.charge_code:
            raise errors.DomainError(
                "NO_CHARGE_MAPPING",
                case="receive",
                detail={"material_code": consumable.material_code},
            )
        if version is None or version.charge_price is None:
            raise errors.DomainError(
                "NO_APPROVED_PRICE",
                case="receive",
                detail={"material_code": consumable.material_code},
            )
    return version


def _new_labels(context: ScanContext, lot, quantity: int) -> list[HospitalLabel]:
    start = take_sequence("hospital_label", quantity)
    return HospitalLabel.objects.bulk_create(
        [
            HospitalLabel(
                label=make_hospital_label(start + i),
                consumable=context.consumable,
                lot=lot.lot_no,
                expiry=lot.expiry,
                udi_di=context.resolution.udi_di or "",
            )
            for i in range(quantity)
        ]
    )


def receive(context: ScanContext) -> ScanResult:
    request, consumable, resolution = context.request, context.consumable, context.resolution
    if context.department.kind not in RECEIVING_KINDS:
        raise errors.validation(
            "department", "入库科室必须是库房或手术室", "Receiving department must be a store"
        )
    supplier = _supplier(request.supplier)
    if request.unit_cost is None or request.unit_cost < 0:
        raise errors.validation("unit_cost", "入库须填写单价", "unit_cost is required")
    version = _pre_purchase_check(consumable, context)
    lot_no = resolution.lot or ""
    if consumable.tracking == Consumable.Tracking.LOT and not lot_no:
        raise errors.validation(
            "code",
            "按批号管理的耗材须扫描含批号的条码",
            "A lot is required for this item",
            reason="LOT_REQUIRED",
        )
    refuse_if_expired(resolution.expiry, context.business_date, lot_no)
    refuse_if_recalled(consumable, lot_no)
    quantity = requested_quantity(context)
    lot = lot_for(consumable, lot_no, resolution.expiry, resolution.parsed.production_date)

    serial, labels = None, []
    if consumable.tracking == Consumable.Tracking.UNIT:
        serial = resolution.parsed.serial
        if serial:
            if quantity != 1:
                raise errors.validation(
                    "quantity", "带序列号的单件每次只能入库 1 个", "One serial is one unit"
                )
            if TrackedUnit.objects.filter(consumable=consumable, serial=serial).exists():
                raise errors.DomainError(
                    "ALREADY_RECEIVED", serial=serial, detail={"serial": serial}
                )
        else:
            labels = _new_labels(context, lot, quantity)

    store = department_location(context.department)
    (move,) = post_moves(
        [
            NewMove(
                kind="receive",
                lot=lot,
                quantity=quantity,
                from_location=virtual_location(Location.Usage.SUPPLIER),
                to_location=store,
                occurred_at=context.occurred_at,
                event_id=request.event_id,
                user=context.user,
            )
        ]
    )
    if consumable.tracking == Consumable.Tracking.UNIT:
        identities = [(serial, None)] if serial else [(h.label, h) for h in labels]
        TrackedUnit.objects.bulk_create(
            [
                TrackedUnit(
                    consumable=consumable,
                    lot=lot,
                    serial=ident,
                    udi_di=resolution.udi_di or "",
                    hospital_label=label,
                    location=store,
                    received_at=context.occurred_at,
                )
                for ident, label in identities
            ]
        )

    receipt, _ = Receipt.objects.get_or_create(
        supplier=supplier,
        invoice_no=request.invoice_no or "",
        department=context.department,
        defaults={"ownership": request.ownership or Receipt.Ownership.OWNED},
    )
    unit_cost = Decimal(request.unit_cost).quantize(Decimal("0.0001"))
    mismatch = version is not None and unit_cost != version.purchase_price
    ReceiptLine.objects.create(
        receipt=receipt,
        move=move,
        consumable=consumable,
        lot=lot,
        quantity=quantity,
        unit_cost=unit_cost,
        purchase_price=version.purchase_price if version else None,
        price_mismatch=mismatch,
        received_at=context.occurred_at,
    )
    if mismatch:
        context.warnings.append("PURCHASE_PRICE_MISMATCH")
    return scan_result(
        context,
        quantity=quantity,
        lot=lot,
        serial=serial,
        labels=[h.label for h in labels] or None,
        receipt=receipt,
    )


register("receive", receive)
