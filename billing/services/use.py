"""Bedside use (使用) and the return of an unused item from a patient.

Registered with the scan dispatcher as ``use`` and ``return_from_patient``. A use moves
the stock ward -> PATIENT and, for a scan-billed chargeable item, creates its charge line in
the same transaction at the charge price in force at the time of use (invariant 5). The
bedside path touches only the database: no Redis, no Celery (invariant 7).
"""

from __future__ import annotations

from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from config.errors import DomainError
from config.prepared import PreparedQuery
from consumables.models import Consumable
from inventory import errors as stock_errors
from inventory.ledger import NewMove, department_location, post_moves, virtual_location
from inventory.services.common import requested_quantity, tracked_unit_of
from inventory.services.issue import Moved, move_scanned_stock
from inventory.services.returns import PATIENT_RETURN
from inventory.services.scans import ScanContext, ScanResult, register, scan_result
from organisation.models import Location

from .. import errors as billing_errors
from ..models import ChargeLine, Consent, DoctorOrder, Use
from .approvals import high_value_approval_exists, high_value_use_check, is_high_value
from .charges import ChargeSummary, charge_for_use, charge_price_in_force, refund_on_return
from .encounters import (
    encounter_for_write,
    encounters_for_write,
    refuse_unless_open,
    usable_at_bedside,
)
from .insurance_types import encounter_is_insured
from .kits import kit_order_for_use


def _bedside_department(context: ScanContext):
    if not usable_at_bedside(context.department):
        raise stock_errors.validation(
            "department", "使用科室必须是病区或手术室", "Use happens in a ward or theatre"
        )
    return context.department


SELF_PAY_CLASSES = (Consumable.InsuranceClass.SELF_PAY, Consumable.InsuranceClass.RESTRICTED)


def _encounter_read(visit_no, order=None, consumable=None, *, by, self_pay, high_value):
    """The encounter ``visit_no`` as a use reads it: with the doctor order it fulfils
    (``order_pk``: the order ``order`` by its id, ``by="order_id"``, or the first by order
    code, ``by="order_code"``), for a self-pay item the consent, for a high-value one whether
    an approval covers it (``consumable``: the item's id)."""
    orders = DoctorOrder.objects.filter(encounter=OuterRef("pk"))
    if by == "order_id":
        orders = orders.filter(order_id=order)
    elif by == "order_code":
        orders = orders.filter(order_code=order).order_by("ordered_at", "pk")
    else:
        orders = orders.none()
    annotations = {"order_pk": Subquery(orders.values("pk")[:1])}
    if self_pay:
        consents = Consent.objects.filter(encounter=OuterRef("pk"), consumable_id=consumable)
        annotations["consented"] = Exists(consents)
    if high_value:
        annotations["high_value_approved"] = high_value_approval_exists(consumable)
    return encounters_for_write(annotate=annotations).filter(visit_no=visit_no).order_by("pk")[:1]


# One compiled read per shape (config.prepared): which order, self-pay or not, high-value
# or not. Building and compiling it took more CPU than all the scan's statements together.
_ENCOUNTER_READS: dict[tuple, PreparedQuery] = {}


def _open_encounter(context: ScanContext, consumable, version):
    """The encounter of a use, read with what the use needs of it in the same query
    (``_encounter_read``); refused unless open and on the ward."""
    visit_no = context.request.encounter
    by = "order_id" if context.request.order else ("order_code" if consumable.order_code else None)
    self_pay = consumable.insurance_class in SELF_PAY_CLASSES
    high_value = is_high_value(version)
    shape = (by, self_pay, high_value)
    values = {"visit_no": str}
    if by:
        values["order"] = str
    if self_pay or high_value:
        values["consumable"] = int
    if shape not in _ENCOUNTER_READS:
        build = partial(_encounter_read, by=by, self_pay=self_pay, high_value=high_value)
        _ENCOUNTER_READS[shape] = PreparedQuery(build, **values)
    encounter = None
    if visit_no:
        given = {
            "visit_no": visit_no,
            "order": context.request.order or consumable.order_code,
            "consumable": consumable.pk,
        }
        encounter = _ENCOUNTER_READS[shape].first(**{name: given[name] for name in values})
    return refuse_unless_open(encounter, visit_no, on_ward=context.department)


def _order_id_for(context: ScanContext, encounter, consumable) -> int | None:
    if encounter.order_pk is not None or context.request.order:
        return encounter.order_pk
    # A component of an order kit (医嘱套包) is covered by the kit's order: kits are split,
    # each component charged on its own when used.
    order = kit_order_for_use(encounter=encounter, consumable=consumable)
    return order.pk if order else None


def _refuse_without_consent(encounter, consumable) -> None:
    # A patient who is not insured pays everything himself: no consent to ask for.
    needs = consumable.insurance_class in SELF_PAY_CLASSES and encounter_is_insured(encounter)
    if needs and not encounter.consented:
        raise DomainError(
            "CONSENT_REQUIRED",
            detail={
                "encounter": encounter.visit_no,
                "material_code": consumable.material_code,
                "insurance_class": consumable.insurance_class,
                "restriction": consumable.insurance_restriction,
            },
            http_status=409,
        )


def _refuse_if_already_used(context: ScanContext) -> None:
    unit = tracked_unit_of(context)
    if unit is not None and unit.location_id is None:
        use = Use.objects.filter(active_unit=unit).select_related("encounter").first()
        if use is not None:
            raise DomainError(
                "ALREADY_USED",
                used_at=timezone.localtime(use.occurred_at),
                detail={"serial": unit.serial, "used_at": use.occurred_at.isoformat()},
            )


def use(context: ScanContext) -> ScanResult:
    consumable = context.consumable
    ward = _bedside_department(context)
    scan_billed = consumable.chargeable and consumable.billed_by == Consumable.BilledBy.SCAN
    # Read with the code; refused below, in the order the refusals have always come.
    in_force = context.price_in_force() if scan_billed else None
    encounter = _open_encounter(context, consumable, in_force)
    per_package = context.resolution.units_per_package or 1
    if per_package > 1 and context.request.quantity is None:
        raise billing_errors.package_code(
            consumable, udi_di=context.resolution.udi_di, units_per_package=per_package
        )
    if consumable.chargeable and not consumable.charge_code:
        raise billing_errors.no_charge_mapping(consumable.material_code)
    version = charge_price_in_force(consumable, in_force) if scan_billed else None
    _refuse_without_consent(encounter, consumable)
    if consumable.tracking == Consumable.Tracking.UNIT:
        _refuse_if_already_used(context)
    context.warnings += high_value_use_check(
        encounter=encounter,
        consumable=consumable,
        at=context.occurred_at,
        version=version,
        approved=getattr(encounter, "high_value_approved", None),
    )
    order_id = _order_id_for(context, encounter, consumable)
    if order_id is None:
        if settings.BILLING_REFUSE_USE_WITHOUT_ORDER:
            raise DomainError("NO_ORDER", detail={"order_code": consumable.order_code})
        context.warnings.append("NO_ORDER")

    charges: list[ChargeLine] = []

    def uses_and_charges(moved: Moved) -> list:
        """The use of each move and its charge line, written with the moves."""
        rows = []
        for lot, quantity, move in moved.lines:
            record = Use(
                event_id=context.request.event_id,
                encounter=encounter,
                move=move,
                department=ward,
                consumable=consumable,
                lot=lot,
                tracked_unit=moved.unit,
                active_unit=moved.unit,
                quantity=quantity,
                order_id=order_id,
                occurred_at=context.occurred_at,
                user=context.user,
                warnings=sorted(set(context.warnings)),
            )
            rows.append(record)
            if version is not None:
                charge = charge_for_use(
                    use=record, version=version, udi_di=context.resolution.udi_di
                )
                charges.append(charge)
                rows.append(charge)
        return rows

    moved = move_scanned_stock(
        context,
        kind="use",
        source=department_location(ward),
        target=virtual_location(Location.Usage.PATIENT),
        encounter_no=encounter.visit_no,
        attach=uses_and_charges,
    )
    charge = None
    if charges:
        charge = ChargeSummary.of(
            charges[0],
            quantity=sum(c.quantity for c in charges),
            amount=sum(c.amount for c in charges),
        )
    return moved.result(context, charge=charge, encounter=encounter.visit_no)


def _uses_to_reverse(context: ScanContext, encounter, quantity: int) -> list[tuple[Use, int]]:
    """Which uses of this encounter the returned stock undoes, newest first."""
    consumable = context.consumable
    if consumable.tracking == Consumable.Tracking.UNIT:
        unit = tracked_unit_of(context)
        use = (
            Use.objects.select_for_update().filter(active_unit=unit, encounter=encounter).first()
            if unit
            else None
        )
        if use is None:
            raise stock_errors.validation(
                "code",
                "该单件未在此患者使用，不能退回",
                "This unit was not used by this patient",
                reason="NOT_USED_BY_PATIENT",
            )
        return [(use, 1)]
    uses = Use.objects.select_for_update().filter(encounter=encounter, consumable=consumable)
    if context.resolution.lot:
        uses = uses.filter(lot__lot_no=context.resolution.lot)
    plan, left = [], quantity
    for use in uses.order_by("-occurred_at", "-pk"):
        take = min(left, use.quantity - use.returned_quantity)
        if take > 0:
            plan.append((use, take))
            left -= take
        if left == 0:
            return plan
    raise stock_errors.validation(
        "quantity",
        "退回数量超过该患者的使用数量",
        "More returned than this patient used",
        reason="MORE_THAN_USED",
        returnable=quantity - left,
    )


def return_from_patient(context: ScanContext) -> ScanResult:
    """An unused item comes back from the patient: PATIENT -> ward, and its charge is
    reversed in the same transaction, as far as HIS has not refunded it already (the stock
    moves back either way)."""
    ward = _bedside_department(context)
    encounter = encounter_for_write(context.request.encounter, on_ward=ward)
    quantity = (
        1
        if context.consumable.tracking == Consumable.Tracking.UNIT
        else requested_quantity(context)
    )
    plan = _uses_to_reverse(context, encounter, quantity)
    ward_location = department_location(ward)
    moves = post_moves(
        [
            NewMove(
                kind="return",
                lot=use.lot,
                quantity=qty,
                from_location=virtual_location(Location.Usage.PATIENT),
                to_location=ward_location,
                occurred_at=context.occurred_at,
                event_id=context.request.event_id,
                reverses=use.move,
                encounter_no=encounter.visit_no,
                user=context.user,
            )
            for use, qty in plan
        ]
    )
    refunded = []
    charges = []
    unit = None
    for (use, qty), _move in zip(plan, moves, strict=True):
        use.returned_quantity += qty
        if use.active_unit_id:
            unit = use.active_unit
            unit.location = ward_location
            unit.save(update_fields=["location"])
            use.active_unit = None
        use.save(update_fields=["returned_quantity", "active_unit"])
        charge = getattr(use, "charge", None)
        if charge is not None:
            charges.append(charge)
            refund = refund_on_return(
                charge=charge,
                quantity=qty,
                still_used=use.quantity - use.returned_quantity,
                event_id=context.request.event_id,
                at=context.occurred_at,
                user=context.user,
                reason="患者未使用退回 / returned unused",
            )
            if refund is not None:  # None: HIS refunded it already
                refunded.append(refund)
    charge = None
    if charges:
        amount = sum((r.amount for r in refunded), Decimal("0.00"))
        charge = ChargeSummary.of(
            charges[0],
            quantity=-sum(r.quantity for r in refunded),
            amount=-amount if amount else amount,  # "0.00", not "-0.00"
        )
    return scan_result(
        context,
        quantity=quantity,
        lot=plan[0][0].lot,
        serial=unit.serial if unit else None,
        hospital_barcode=unit.serial if unit and unit.hospital_label_id else None,
        charge=charge,
        encounter=encounter.visit_no,
    )


register("use", use)
register(PATIENT_RETURN, return_from_patient)
