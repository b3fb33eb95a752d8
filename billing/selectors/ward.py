"""Reads of the billing app for pages and the API: joins and aggregates done in SQL,
a bounded number of queries per page."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db.models import DecimalField, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import errors, rules
from billing.models import ChargeLine, ChargeRefund, DoctorOrder, Encounter, InsuranceType, Use
from billing.services.encounters import encounter_for_write
from billing.services.insurance_types import insured_expression
from config import roles
from config.business_day import business_day, business_day_bounds
from config.permissions import has_role
from consumables.models import Consumable, DeviceIdentifier
from organisation.models import Department
from organisation.selectors import visible_departments

# audit and daily list
# ---------------------------------------------------------------------------------------------

AMOUNT_FIELD = DecimalField(max_digits=16, decimal_places=2)
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def may_see_patient_name(user) -> bool:
    """Ward staff, the insurance office and administrators need the name; finance does not."""
    return has_role(user, roles.NURSE, roles.INSURANCE_OFFICE, roles.ADMINISTRATOR)


def masked_name(name: str) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧***: the surname's first character stays."""
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def patient_name_for(user, name: str) -> str:
    return name if may_see_patient_name(user) else masked_name(name)


def may_read_encounter(user, encounter: Encounter) -> bool:
    return visible_departments(user).filter(pk=encounter.department_id).exists()


def encounter_for_reader(*, visit_no: str, user) -> Encounter:
    """The encounter ``visit_no`` if ``user`` may read it: UNKNOWN_ENCOUNTER (404) when there
    is none, PermissionDenied (403) when it is not on one of the user's wards."""
    encounter = (
        Encounter.objects.select_related("patient", "department").filter(visit_no=visit_no).first()
    )
    if encounter is None:
        raise errors.unknown_encounter(visit_no)
    if not may_read_encounter(user, encounter):
        raise PermissionDenied(_("该患者不在您的病区 / This patient is not on your ward"))
    return encounter


def wards_for(user) -> QuerySet[Department]:
    """Wards and theatres whose inpatients ``user`` may list."""
    return visible_departments(user).exclude(kind=Department.Kind.STORE).order_by("code")


@dataclass
class EncounterAudit:
    """The pre-discharge audit (出院预审核) of one encounter at ``until``."""

    encounter: Encounter
    until: dt.datetime
    items: list[dict]
    findings: list[rules.Finding]

    @property
    def material_codes_with_findings(self) -> set[str]:
        return {f.material_code for f in self.findings}


def encounter_items(*, encounter: Encounter, until: dt.datetime) -> list[dict]:
    """Per item used, charged or ordered in the encounter before ``until``: used, returned,
    charged, refunded, ordered quantities and the orders themselves. Two queries."""
    item = OuterRef("pk")
    orders = DoctorOrder.objects.filter(encounter=encounter, ordered_at__lt=until)
    touched = (
        Q(Exists(Use.objects.filter(encounter=encounter, consumable=item, occurred_at__lt=until)))
        | Q(
            Exists(
                ChargeLine.objects.filter(
                    encounter=encounter, consumable=item, charged_at__lt=until
                )
            )
        )
        | Q(Exists(orders.filter(order_code=OuterRef("order_code"))))
    )
    rows = (
        Consumable.objects.filter(touched)
        .annotate(
            **rules.pair_figures(
                encounter=encounter.pk, visit_no=encounter.visit_no, item=item, until=until
            ),
            ordered=rules.subquery_sum(
                orders.filter(order_code=OuterRef("order_code")), "order_code"
            ),
        )
        .order_by("material_code")
        .values(
            "pk",
            "material_code",
            "name",
            "spec",
            "unit",
            "charge_code",
            "order_code",
            "insurance_code",
            "tracking",
            "billed_by",
            "chargeable",
            "used",
            "returned",
            "charged",
            "refunded",
            "ordered",
        )
    )
    by_code: dict[str, list[dict]] = defaultdict(list)
    for order in orders.order_by("ordered_at", "order_id").values(
        "order_id", "order_code", "quantity", "ordered_at", "doctor"
    ):
        by_code[order["order_code"]].append(order)
    items = []
    for row in rows:
        row["net_used"] = row["used"] - row["returned"]
        row["net_charged"] = row["charged"] - row["refunded"]
        row["orders"] = by_code.get(row["order_code"], []) if row["order_code"] else []
        items.append(row)
    return items


def encounter_audit(*, encounter: Encounter, until: dt.datetime | None = None) -> EncounterAudit:
    """Items and findings of ``encounter`` counting every event before ``until`` (default
    now): the rules the nightly reconciliation applies (billing.rules). Six queries."""
    until = until or timezone.now()
    return EncounterAudit(
        encounter=encounter,
        until=until,
        items=encounter_items(encounter=encounter, until=until),
        findings=rules.findings([encounter.pk], until=until),
    )


@dataclass
class DailyLine:
    kind: str  # "charge" | "refund"
    at: dt.datetime
    material_code: str
    charge_code: str
    insurance_code: str
    name: str
    spec: str
    unit: str
    quantity: int  # negative for a refund
    unit_price: Decimal
    amount: Decimal  # negative for a refund
    self_pay: bool
    ref: str

    @property
    def unit_price_text(self) -> str:
        """12.5000 -> 12.50, 3.1416 -> 3.1416: two decimal places at least, four at most."""
        places = max(2, min(4, -self.unit_price.normalize().as_tuple().exponent))
        return f"{self.unit_price:.{places}f}"


@dataclass
class DailyList:
    """The itemised consumables list of one inpatient for one business day (一日清单)."""

    encounter: Encounter
    day: dt.date
    lines: list[DailyLine] = field(default_factory=list)
    self_pay_total: Decimal = ZERO
    insured_total: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.self_pay_total + self.insured_total


def _amount_split(queryset: QuerySet, prefix: str = "") -> tuple[Decimal, Decimal]:
    """(self-pay, insured) sums of ``amount`` over ``queryset``: one aggregate query."""
    totals = queryset.aggregate(
        self_pay_amount=Sum("amount", filter=Q(**{f"{prefix}self_pay": True})),
        insured_amount=Sum("amount", filter=Q(**{f"{prefix}self_pay": False})),
    )
    return (totals["self_pay_amount"] or ZERO, totals["insured_amount"] or ZERO)


def daily_list(*, encounter: Encounter, day: dt.date) -> DailyList:
    """The day's charge lines of ``encounter`` and, as negative lines, the day's refunds
    (by business day of ``charged_at`` / ``refunded_at``), with self-pay and insured
    subtotals aggregated in SQL. Four queries."""
    start, end = business_day_bounds(day)
    charges = ChargeLine.objects.filter(
        encounter=encounter, charged_at__gte=start, charged_at__lt=end
    )
    refunds = ChargeRefund.objects.filter(
        charge__encounter=encounter, refunded_at__gte=start, refunded_at__lt=end
    )
    lines = [
        DailyLine(
            kind="charge",
            at=row["charged_at"],
            material_code=row["material_code"],
            charge_code=row["charge_code"],
            insurance_code=row["insurance_code"],
            name=row["consumable__name"],
            spec=row["consumable__spec"],
            unit=row["consumable__unit"],
            quantity=row["quantity"],
            unit_price=row["unit_price"],
            amount=row["amount"],
            self_pay=row["self_pay"],
            ref=f"charge:{row['pk']}",
        )
        for row in charges.values(
            "pk",
            "charged_at",
            "material_code",
            "charge_code",
            "insurance_code",
            "consumable__name",
            "consumable__spec",
            "consumable__unit",
            "quantity",
            "unit_price",
            "amount",
            "self_pay",
        )
    ]
    lines += [
        DailyLine(
            kind="refund",
            at=row["refunded_at"],
            material_code=row["charge__material_code"],
            charge_code=row["charge__charge_code"],
            insurance_code=row["charge__insurance_code"],
            name=row["charge__consumable__name"],
            spec=row["charge__consumable__spec"],
            unit=row["charge__consumable__unit"],
            quantity=-row["quantity"],
            unit_price=row["charge__unit_price"],
            amount=-row["amount"],
            self_pay=row["charge__self_pay"],
            ref=f"refund:{row['pk']}",
        )
        for row in refunds.values(
            "pk",
            "refunded_at",
            "charge__material_code",
            "charge__charge_code",
            "charge__insurance_code",
            "charge__consumable__name",
            "charge__consumable__spec",
            "charge__consumable__unit",
            "quantity",
            "amount",
            "charge__unit_price",
            "charge__self_pay",
        )
    ]
    lines.sort(key=lambda line: (line.at, line.kind, line.ref))
    charged_self, charged_insured = _amount_split(charges)
    refunded_self, refunded_insured = _amount_split(refunds, "charge__")
    return DailyList(
        encounter=encounter,
        day=day,
        lines=lines,
        self_pay_total=charged_self - refunded_self,
        insured_total=charged_insured - refunded_insured,
    )


def insurance_type_en() -> Subquery:
    """The English name of an encounter's insurance type, read with the encounter (the
    ``insurance_type`` template filter uses it on an English page)."""
    types = InsuranceType.objects.filter(name=OuterRef("insurance_type")).values("name_en")
    return Subquery(types[:1])


def ward_inpatients(*, department: Department, day: dt.date) -> QuerySet[Encounter]:
    """Encounters of ``department`` in hospital at some time on ``day``, with the day's
    consumables amounts (``day_charged``, ``day_refunded``, net ``day_amount``): one query."""
    start, end = business_day_bounds(day)
    charged = ChargeLine.objects.filter(
        encounter=OuterRef("pk"), charged_at__gte=start, charged_at__lt=end
    )
    refunded = ChargeRefund.objects.filter(
        charge__encounter=OuterRef("pk"), refunded_at__gte=start, refunded_at__lt=end
    )
    return (
        Encounter.objects.filter(department=department, admitted_at__lt=end)
        .filter(Q(discharged_at__isnull=True) | Q(discharged_at__gte=start))
        .select_related("patient")
        .annotate(
            day_charged=rules.subquery_sum(charged, "encounter_id", "amount", AMOUNT_FIELD),
            day_refunded=rules.subquery_sum(
                refunded, "charge__encounter_id", "amount", AMOUNT_FIELD
            ),
            insurance_type_en=insurance_type_en(),
        )
        .annotate(day_amount=F("day_charged") - F("day_refunded"))
        .order_by("visit_no")
    )


# bedside
# ---------------------------------------------------------------------------------------------
# The nurse's page 床旁扫码: her wards, the ward's open encounters, the patient she scanned
# and what was used on him today. Writes go through POST /api/v1/scans, never through here.

BEDSIDE_KINDS = (Department.Kind.WARD, Department.Kind.THEATRE)
GTIN14 = re.compile(r"\d{14}")


def bedside_wards(user) -> QuerySet[Department]:
    """Wards and theatres where ``user`` may scan at the bedside: her own (administrators:
    every active one)."""
    return visible_departments(user).filter(kind__in=BEDSIDE_KINDS).order_by("code")


def bedside_roster(*, department: Department) -> list[dict]:
    """The open encounters of a ward (``visit_no``, ``name``, ``insurance_type`` and whether
    it is ``insured``), so the page can tell a wristband from an item and check a wristband
    while the network is down. One query. A theatre has no roster: its patients belong to
    every ward."""
    if department.kind != Department.Kind.WARD:
        return []
    return list(
        Encounter.objects.filter(department=department, discharged_at__isnull=True)
        .order_by("visit_no")
        .values("visit_no", "insurance_type", name=F("patient__name"), insured=insured_expression())
    )


def bedside_encounter(*, visit_no: str, department: Department) -> Encounter:
    """The open encounter ``visit_no`` a nurse may scan for in ``department``: on that ward
    (a theatre takes the patients of every ward). Refusals: UNKNOWN_ENCOUNTER (404),
    ENCOUNTER_CLOSED (409), ENCOUNTER_NOT_ON_WARD (409), decided by the same rule as the scan
    service (``services.encounters.encounter_for_write``). One query, which also reads
    ``insured`` and the type's English name (``insurance_type_en``) for the panel."""
    return encounter_for_write(
        visit_no, on_ward=department, annotate={"insurance_type_en": insurance_type_en()}
    )


@dataclass
class BedsideUse:
    """One use on the bedside list, with the code that scans it back (撤销 = return)."""

    pk: int
    event_id: str
    occurred_at: dt.datetime
    department: str
    material_code: str
    name: str
    spec: str
    unit: str
    lot: str
    serial: str
    quantity: int
    returned_quantity: int
    amount: Decimal | None
    refunded_amount: Decimal | None
    self_pay: bool
    warnings: list[str]
    return_code: str | None

    @property
    def returnable(self) -> int:
        return self.quantity - self.returned_quantity

    @property
    def net_amount(self) -> Decimal | None:
        return None if self.amount is None else self.amount - (self.refunded_amount or ZERO)


def _gs1_text(di: str | None, *, expiry, lot: str = "", serial: str = "") -> str | None:
    """A GS1 element string in brackets (no GS characters to carry through HTML)."""
    if not di or not GTIN14.fullmatch(di):
        return None
    text = f"(01){di}"
    if expiry:
        text += f"(17){expiry:%y%m%d}"
    if lot:
        text += f"(10){lot}"
    if serial:
        text += f"(21){serial}"
    return text


def bedside_return_code(use: Use, first_di: str | None = None) -> str | None:
    """Text that, scanned as a ``return`` with the encounter, names what ``use`` took: the
    unit's in-hospital label, or DI + serial for a unit; DI + lot (or the material code)
    for other items. None when nothing short of the item's own barcode would do."""
    charge = getattr(use, "charge", None)
    lot = use.lot
    unit = use.tracked_unit
    if unit is not None:
        if unit.hospital_label_id:
            return unit.hospital_label.label
        di = unit.udi_di or (charge.udi_di if charge else "") or first_di
        return _gs1_text(di, expiry=lot.expiry, lot=lot.lot_no, serial=unit.serial)
    di = (charge.udi_di if charge else "") or first_di
    return _gs1_text(di, expiry=lot.expiry, lot=lot.lot_no) or use.consumable.material_code


def bedside_uses_today(*, encounter: Encounter, day: dt.date | None = None) -> list[BedsideUse]:
    """The uses of ``encounter`` on business day ``day`` (default today), newest first, with
    item, quantity, charge amount, what was returned and refunded, and the code to undo
    each. One query, whatever the number of rows."""
    day = day or business_day(timezone.now())
    start, end = business_day_bounds(day)
    first_di = (
        DeviceIdentifier.objects.filter(consumable=OuterRef("consumable_id"), is_active=True)
        .order_by("units_per_package", "pk")
        .values("udi_di")[:1]
    )
    uses = (
        Use.objects.filter(encounter=encounter, occurred_at__gte=start, occurred_at__lt=end)
        .select_related("consumable", "lot", "department", "charge", "tracked_unit__hospital_label")
        .annotate(first_di=Subquery(first_di))
        .order_by("-occurred_at", "-pk")
    )
    rows = []
    for use in uses:
        charge = getattr(use, "charge", None)
        rows.append(
            BedsideUse(
                pk=use.pk,
                event_id=str(use.event_id),
                occurred_at=use.occurred_at,
                department=use.department.code,
                material_code=use.consumable.material_code,
                name=use.consumable.name,
                spec=use.consumable.spec,
                unit=use.consumable.unit,
                lot=use.lot.lot_no,
                serial=use.tracked_unit.serial if use.tracked_unit else "",
                quantity=use.quantity,
                returned_quantity=use.returned_quantity,
                amount=charge.amount if charge else None,
                refunded_amount=(
                    (charge.unit_price * charge.refunded_quantity).quantize(CENT)
                    if charge
                    else None
                ),
                self_pay=charge.self_pay if charge else False,
                warnings=list(use.warnings or []),
                return_code=bedside_return_code(use, use.first_di),
            )
        )
    return rows
