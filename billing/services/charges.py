"""Charge lines and refunds: from a bedside use, or keyed in at HIS."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from config.bounds import decimal_max
from config.errors import DomainError
from config.event_times import refuse_unless_in_window
from consumables.models import Consumable, PriceVersion
from consumables.prices import approved_version_in_force
from inventory import errors as stock_errors
from inventory.services.idempotency import WriteOutcome, fingerprint, run_once

from .. import errors, rules
from ..models import ChargeLine, ChargeRefund, DoctorOrder, Encounter, HisChargeCheck, Use
from .consent import has_consent
from .encounters import encounter_for_write
from .insurance_types import encounter_is_insured

CENT = Decimal("0.01")


def money(unit_price: Decimal, quantity: int) -> Decimal:
    """The amount of ``quantity`` at ``unit_price``; VALIDATION_ERROR when it would not fit
    the amount column (beyond it the insert is a DataError, a 500). Every charge line's
    amount comes through here: a scanned use, an HIS charge and a refund alike."""
    amount = (unit_price * quantity).quantize(CENT, rounding=ROUND_HALF_UP)
    largest = decimal_max(ChargeLine, "amount")
    if amount > largest:
        raise stock_errors.validation(
            "quantity",
            f"数量×单价超出金额上限 {largest}",
            f"quantity × unit price exceeds the largest amount, {largest}",
            reason="AMOUNT_TOO_LARGE",
        )
    return amount


def is_self_pay(encounter: Encounter, consumable: Consumable) -> bool:
    """Whether a charge of ``consumable`` for ``encounter`` is self-pay (自费), not billed to
    the fund: the patient's insurance type is not insured, or the item is a self-pay item,
    or a restricted-payment (限定支付) item the patient consented to pay himself (the
    consent says the 限定 condition is not met). A restricted item charged without a
    consent (HIS keyed it in; a scan is refused CONSENT_REQUIRED) stays with the fund."""
    if not encounter_is_insured(encounter):
        return True
    if consumable.insurance_class == Consumable.InsuranceClass.SELF_PAY:
        return True
    if consumable.insurance_class == Consumable.InsuranceClass.RESTRICTED:
        return has_consent(encounter, consumable)
    return False


def charge_price_in_force(consumable: Consumable, version: PriceVersion | None) -> PriceVersion:
    """``version``, the approved version in force at the time of charging (a scan reads it
    with the code: ``ScanContext.price_in_force``), if its charge price applies; refusals
    otherwise."""
    if not consumable.charge_code:
        raise errors.no_charge_mapping(consumable.material_code)
    # A version without a charge price belongs to an item that was not separately
    # chargeable when it was approved: it prices nothing at the bedside or at HIS.
    if version is None or version.charge_price is None:
        raise errors.no_approved_price(consumable.material_code)
    return version


def charge_payload(charge: ChargeLine, *, quantity: int | None = None, amount=None) -> dict:
    return {
        "id": charge.pk,
        "quantity": charge.quantity if quantity is None else quantity,
        "unit_price": str(charge.unit_price),
        "amount": str(charge.amount if amount is None else amount),
        "self_pay": charge.self_pay,
    }


@dataclass(frozen=True)
class ChargeSummary:
    """The charge a scan made (a use) or reversed (a return from a patient), as the scan's
    answer states it: the first charge line's id, price and payer, the quantity and amount
    of them all (negative for a reversal)."""

    id: int
    quantity: int
    unit_price: Decimal
    amount: Decimal
    self_pay: bool

    @classmethod
    def of(cls, charge: ChargeLine, *, quantity: int, amount: Decimal) -> ChargeSummary:
        return cls(charge.pk, quantity, charge.unit_price, amount, charge.self_pay)


def charge_for_use(*, use: Use, version: PriceVersion, udi_di: str | None) -> ChargeLine:
    """The charge line of a scan-billed use, five codes copied, not saved yet: the caller
    inserts it with the use, in the use's transaction (invariant 5)."""
    consumable, encounter = use.consumable, use.encounter
    return ChargeLine(
        event_id=use.event_id,
        encounter=encounter,
        consumable=consumable,
        use=use,
        active_unit=use.active_unit,
        material_code=consumable.material_code,
        charge_code=consumable.charge_code,
        order_code=consumable.order_code or "",
        insurance_code=consumable.insurance_code or "",
        udi_di=udi_di or "",
        quantity=use.quantity,
        unit_price=version.charge_price,
        amount=money(version.charge_price, use.quantity),
        price_version=version,
        self_pay=is_self_pay(encounter, consumable),
        source=ChargeLine.Source.SCAN,
        order_id=use.order_id,
        department=use.department,
        charged_at=use.occurred_at,
        user=use.user,
    )


def refund_quantity(
    *,
    charge: ChargeLine,
    quantity: int,
    event_id: uuid.UUID,
    at: dt.datetime,
    user,
    reason: str = "",
) -> ChargeRefund:
    """Refund part or all of a charge line (the caller holds the transaction)."""
    charge = ChargeLine.objects.select_for_update().get(pk=charge.pk)
    left = charge.quantity - charge.refunded_quantity
    if quantity > left:
        raise DomainError(
            "REFUND_EXCEEDS_CHARGE",
            quantity=quantity,
            left=left,
            detail={"charge": charge.pk, "refundable": left},
        )
    charge.refunded_quantity += quantity
    if charge.refunded_quantity == charge.quantity:
        charge.active_unit = None
    charge.save(update_fields=["refunded_quantity", "active_unit"])
    return ChargeRefund.objects.create(
        event_id=event_id,
        charge=charge,
        quantity=quantity,
        amount=money(charge.unit_price, quantity),
        refunded_at=at,
        reason=reason,
        user=user if getattr(user, "pk", None) else None,
    )


def refund_on_return(
    *,
    charge: ChargeLine,
    quantity: int,
    still_used: int,
    event_id: uuid.UUID,
    at: dt.datetime,
    user,
    reason: str = "",
) -> ChargeRefund | None:
    """The refund a return of ``quantity`` unused units owes: the charge brought down to
    the ``still_used`` units the patient keeps, never more than the units returned. HIS
    may have refunded them already (its own refund, before the nurse scans the item
    back): then less, or nothing, is left to refund, and None is returned, so the return
    still moves the stock back instead of failing with REFUND_EXCEEDS_CHARGE."""
    charge = ChargeLine.objects.select_for_update().get(pk=charge.pk)
    owed = min(quantity, charge.quantity - charge.refunded_quantity - still_used)
    if owed <= 0:
        return None
    return refund_quantity(
        charge=charge, quantity=owed, event_id=event_id, at=at, user=user, reason=reason
    )


# The rules' cut-off is half-open: a new line is seen by a cut-off just after its time.
JUST_AFTER = dt.timedelta(microseconds=1)


def boundary_findings(charge: ChargeLine) -> list[rules.Finding]:
    """The findings the HIS boundary (事中) answers for the new line ``charge``: the rules'
    own statements (``billing.rules``, as the audit and the nightly run apply them), scoped
    to the line (``rules.LINE_SCOPE`` kinds) or to its encounter and item
    (``rules.ENCOUNTER_SCOPE`` kinds), counting every event up to just after the charge.
    Only the kinds of ``rules.BOUNDARY_CHECKS``; a line the rules find nothing wrong with
    costs one statement."""
    until = charge.charged_at + JUST_AFTER
    scopes = set(rules.BOUNDARY_CHECKS.values())
    found = []
    if rules.LINE_SCOPE in scopes:
        found += rules.charge_line_findings(charge.pk, until=until)
    if rules.ENCOUNTER_SCOPE in scopes:
        found += [
            f
            for f in rules.matching_findings([charge.encounter_id], until=until)
            if rules.BOUNDARY_CHECKS.get(f.kind) == rules.ENCOUNTER_SCOPE
            and f.material_code == charge.material_code
        ]
    return [f for f in found if f.kind in rules.BOUNDARY_CHECKS]


def refused_kinds(found: list[rules.Finding]) -> list[str]:
    """The kinds among ``found`` the hospital refuses at the boundary (``HIS_CHARGE_REFUSE``);
    every other kind is a warning."""
    return sorted({f.kind for f in found} & set(settings.HIS_CHARGE_REFUSE))


def his_charge_record(
    *,
    event_id: uuid.UUID,
    encounter: str,
    charge_code: str,
    quantity: int,
    unit_price: Decimal,
    charged_at: dt.datetime,
    order: str | None = None,
    user=None,
) -> WriteOutcome:
    """A charge keyed in at HIS (not from a scan): idempotent on ``event_id``.

    The unit price is recorded as HIS sent it. After the line is inserted, in its
    transaction, the boundary checks run (``boundary_findings``): each finding is a warning
    in the answer (``warnings``, ``findings``, kept on the line's ``HisChargeCheck``), or,
    for a kind in ``HIS_CHARGE_REFUSE``, the refusal CHARGE_REFUSED (409): the line is
    rolled back and the refusal recorded (``HisChargeCheck`` without a line). A replay gets
    the first answer; a refused event_id may be sent again once the cause is fixed.
    """
    request = {
        "encounter": encounter,
        "charge_code": charge_code,
        "quantity": quantity,
        "unit_price": unit_price,
        "charged_at": charged_at,
        "order": order,
    }

    def work(actor) -> dict:
        refuse_unless_in_window(charged_at, field="charged_at")
        visit = encounter_for_write(encounter)
        consumable = Consumable.objects.filter(charge_code=charge_code, is_active=True).first()
        if consumable is None:
            raise DomainError(
                "UNKNOWN_CODE",
                case="charge_code",
                charge_code=charge_code,
                detail={"charge_code": charge_code},
            )
        doctor_order = (
            DoctorOrder.objects.filter(order_id=order, encounter=visit).first() if order else None
        )
        price = Decimal(unit_price).quantize(Decimal("0.0001"))
        charge = ChargeLine.objects.create(
            event_id=event_id,
            encounter=visit,
            consumable=consumable,
            material_code=consumable.material_code,
            charge_code=consumable.charge_code,
            order_code=consumable.order_code or "",
            insurance_code=consumable.insurance_code or "",
            quantity=quantity,
            unit_price=price,
            amount=money(price, quantity),
            price_version=approved_version_in_force(consumable.pk, charged_at),
            self_pay=is_self_pay(visit, consumable),
            source=ChargeLine.Source.HIS,
            order=doctor_order,
            department=visit.department,
            charged_at=charged_at,
            user=actor,
        )
        found = boundary_findings(charge)
        rows = [f.as_row() for f in found]
        kinds = list(dict.fromkeys(f.kind for f in found))
        refused = refused_kinds(found)
        if refused:
            for row in rows:
                row.pop("ref")  # the line is rolled back: it has no id to name
            raise DomainError(
                "CHARGE_REFUSED",
                kinds="、".join(refused),
                detail={"refused": refused, "kinds": kinds, "findings": rows},
            )
        if found:
            HisChargeCheck.objects.create(
                event_id=event_id,
                charge=charge,
                outcome=HisChargeCheck.Outcome.WARNED,
                encounter=visit.visit_no,
                charge_code=charge_code,
                kinds=kinds,
                findings=rows,
                user=actor,
            )
        return {
            "event_id": str(event_id),
            "charge": charge_payload(charge),
            "encounter": visit.visit_no,
            "material_code": consumable.material_code,
            "warnings": kinds,
            "findings": rows,
        }

    try:
        return run_once(
            event_id=event_id, action="charge", digest=fingerprint(request), user=user, work=work
        )
    except DomainError as error:
        if error.code == "CHARGE_REFUSED":
            # Written after the refused transaction rolled back: what HIS was told stays.
            HisChargeCheck.objects.create(
                event_id=event_id,
                outcome=HisChargeCheck.Outcome.REFUSED,
                encounter=encounter,
                charge_code=charge_code,
                kinds=error.detail["kinds"],
                findings=error.detail["findings"],
                user=user if getattr(user, "pk", None) else None,
            )
        raise


def charge_refund_record(
    *, charge_id: int, event_id: uuid.UUID, quantity: int, refunded_at: dt.datetime, user=None
) -> WriteOutcome:
    """``POST /api/v1/charges/{id}/refund``: idempotent on ``event_id``."""
    request = {"charge": charge_id, "quantity": quantity, "refunded_at": refunded_at}

    def work(actor) -> dict:
        charge = ChargeLine.objects.filter(pk=charge_id).first()
        if charge is None:
            raise DomainError("NOT_FOUND", case="charge")
        refuse_unless_in_window(refunded_at, field="refunded_at", not_before=charge.charged_at)
        refund = refund_quantity(
            charge=charge, quantity=quantity, event_id=event_id, at=refunded_at, user=actor
        )
        return {
            "event_id": str(event_id),
            "charge": charge_id,
            "refund": refund.pk,
            "quantity": quantity,
            "amount": str(refund.amount),
        }

    return run_once(
        event_id=event_id, action="refund", digest=fingerprint(request), user=user, work=work
    )
