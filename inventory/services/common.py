"""Pieces shared by the scan handlers: lots, quantities, stock look-ups."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, Q

from config.prepared import PreparedQuery
from consumables.models import Consumable
from organisation.models import Location

from .. import errors
from ..models import Lot, Recall, TrackedUnit
from .scans import ScanContext


def lot_for(
    consumable: Consumable,
    lot_no: str,
    expiry: dt.date | None,
    production_date: dt.date | None = None,
) -> Lot:
    """The lot, created on its first receipt with the dates the label gives (the
    production date is what the national platform's records name ``manu_date``)."""
    lot, created = Lot.objects.get_or_create(
        consumable=consumable,
        lot_no=lot_no or "",
        defaults={"expiry": expiry, "production_date": production_date},
    )
    if not created:
        fill = {"expiry": expiry, "production_date": production_date}
        fill = {k: v for k, v in fill.items() if v and getattr(lot, k) is None}
        if fill:
            for k, v in fill.items():
                setattr(lot, k, v)
            lot.save(update_fields=list(fill))
    return lot


def requested_quantity(context: ScanContext) -> int:
    quantity = context.request.quantity
    if quantity is None:
        quantity = context.resolution.units_per_package or 1
    if quantity <= 0:
        raise errors.validation("quantity", "数量必须大于 0", "quantity must be positive")
    return quantity


def tracked_unit_of(context: ScanContext, *, lock: bool = True) -> TrackedUnit | None:
    """The unit a scan names (DI + serial, or in-hospital label), locked for update.

    Read once per scan: the locked row is kept on the context for the later steps. It
    carries ``recalled``: whether a recall covers its lot.
    """
    if "unit" in context.memo:
        return context.memo["unit"]
    resolution = context.resolution
    if resolution.hospital_label is not None:
        unit = _UNIT_READS[("label", lock)].first(label=resolution.hospital_label.pk)
    elif resolution.parsed.serial:
        unit = _UNIT_READS[("serial", lock)].first(
            consumable=context.consumable.pk, serial=resolution.parsed.serial
        )
    else:
        unit = None
    if lock:
        context.memo["unit"] = unit
    return unit


def _units(*, lock: bool):
    recalls = Recall.objects.filter(
        Q(lot_no="") | Q(lot_no=OuterRef("lot__lot_no")), consumable=OuterRef("consumable")
    )
    units = TrackedUnit.objects.select_related("lot").annotate(recalled=Exists(recalls))
    return units.select_for_update(of=("self",)) if lock else units


def _unit_read(by: str, lock: bool) -> PreparedQuery:
    if by == "label":
        return PreparedQuery(
            lambda label: _units(lock=lock).filter(hospital_label_id=label).order_by("pk")[:1],
            label=int,
        )
    return PreparedQuery(
        lambda consumable, serial: (
            _units(lock=lock).filter(consumable_id=consumable, serial=serial).order_by("pk")[:1]
        ),
        consumable=int,
        serial=str,
    )


# Compiled once per process (config.prepared): by in-hospital label or by serial, locked or
# not.
_UNIT_READS = {
    (by, lock): _unit_read(by, lock) for by in ("label", "serial") for lock in (True, False)
}


def unit_required(context: ScanContext, location: Location) -> TrackedUnit:
    """For one-item-one-code items: the scanned unit, which must be at ``location``."""
    unit = tracked_unit_of(context)
    if unit is None:
        if context.resolution.parsed.serial or context.resolution.hospital_label:
            raise errors.not_in_stock(location.name, reason="UNIT_NOT_RECEIVED")
        raise errors.validation(
            "code",
            "高值耗材须扫描带序列号的条码或院内码（一物一码）",
            "Items tracked per unit need a code with a serial or an in-hospital label",
            reason="SERIAL_REQUIRED",
        )
    if unit.location_id != location.pk:
        raise errors.not_in_stock(
            location.name,
            reason="UNIT_NOT_HERE",
            serial=unit.serial,
            where=unit.location.name if unit.location_id else None,
        )
    return unit
