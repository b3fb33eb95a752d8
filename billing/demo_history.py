"""The demo hospital's past: 30 days of activity before today, as it would have happened.

``build_history`` walks the month day by day. Each day the store receives deliveries and
issues what the wards and theatres will need, HIS admits patients and sends their doctor
orders, nurses scan bedside uses (a scan-billed item is charged by the scan), theatres use
implants (orthopaedic ones delivered the same morning on consignment, 跟台), HIS keys in the
charges of the items it bills, patients go home; a few things go wrong as they do in a real
hospital (a planted list, ``INCIDENTS``); twice in the month a count is taken; and every
night the day is reconciled by the service the nightly task calls.

Every write goes through the service a scanner, the bedside page, the stocktake pages or the
HIS feed calls (``scan_record``, ``his_charge_record``, ``charge_refund_record``,
``encounter_upsert``, ``order_upsert``, ``encounter_discharge``, ``consent_record``, the
stocktake services, ``reconciliation_run``), so the ledger and the charges hold the same
invariants as live data: no row is written around them.

The time. Each write happens at its own moment in the month, with the server clock
(``django.utils.timezone.now``) set to that moment while the builder runs
(``SimulatedClock``): the services' event-time window (``config.event_times``) then accepts
the write as a live one, unchanged and unwidened, and what the services stamp themselves
(when a scan was recorded, a count opened or posted, a run finished, a history row written)
reads as the month it belongs to, so the audit trail and the stocktake list show a past.
The clock never runs ahead of the real one.

Deterministic: a seeded ``random.Random`` and event ids derived from the plan, so two
databases built on the same day hold the same history. Idempotent: the history is built
once; ``history_exists`` (its first encounter is on file) makes a second run a no-op.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from billing import reconciliation
from billing.models import Encounter
from billing.services.charges import charge_refund_record, his_charge_record
from billing.services.consent import consent_record
from billing.services.encounters import encounter_discharge, encounter_upsert, order_upsert
from config import roles
from config.business_day import BUSINESS_ZONE, business_day
from consumables import demo_data
from consumables.models import Consumable
from consumables.prices import approved_version_in_force
from inventory.api.scans import scan_answer
from inventory.demo import SUPPLIERS, load_demo_suppliers, scan_code
from inventory.models import TrackedUnit
from inventory.services.scans import ScanRequest, scan_record
from inventory.services.stocktake import (
    stocktake_confirm,
    stocktake_count,
    stocktake_open,
    stocktake_submit,
)
from organisation.models import Department

HISTORY_DAYS = 30
SEED = 20261104
NAMESPACE = uuid.UUID("5c0f9a61-3d2e-4b7a-9c85-20261104d001")
STORE, CATH_LAB, THEATRE = "CK01", "DG01", "SS01"
CONSIGNMENT_SUPPLIER = "GYS03"
HISTORY_EXPIRY = dt.date(2028, 3, 31)
HIS_USER = "his01"

# What each ward uses at the bedside (families of ``demo_data.FAMILIES``).
WARD_FAMILIES: dict[str, tuple[str, ...]] = {
    "XN01": ("iv_cannula", "infusion", "syringe", "nasal_o2", "dressing", "blood_needle"),
    "GK01": ("iv_cannula", "syringe", "dressing", "gauze", "catheter", "drain_bag"),
    "PW01": ("iv_cannula", "infusion", "gastric", "drain_bag", "gauze", "cvc"),
    "SN01": ("iv_cannula", "infusion", "nasal_o2", "gastric", "syringe"),
    "HX01": ("o2_tube", "nasal_o2", "iv_cannula", "infusion", "blood_needle"),
    "MW01": ("catheter", "drain_bag", "iv_cannula", "gauze", "syringe"),
    "XH01": ("gastric", "infusion", "iv_cannula", "syringe", "blood_needle"),
}
DOCTORS: dict[str, tuple[str, ...]] = {
    **{ward: doctors for ward, (doctors, _, _) in demo_data.WARD_CASES.items()},
    "XH01": ("谢晓峰", "罗佳"),
}
# Operations (ward of the patient, room, chance that an admission there has one).
CASES: dict[str, tuple[str, str, float]] = {
    "pci": ("XN01", CATH_LAB, 0.35),
    "pacemaker": ("XN01", CATH_LAB, 0.1),
    "ortho": ("GK01", THEATRE, 0.45),
    "gi": ("PW01", THEATRE, 0.4),
}
# HIS keys in a pack less / more than the ward used, that often.
KEYING_SLIPS = (0.2, 0.06)
USE_CHANCE = 0.3  # that a patient gets one of their ward items on a given day
# The ward counts twice: its two counts bracket a period whose consumption (进销存) the
# nightly run sets against its charges (STOCK_CONSUMPTION_VARIANCE).
STOCKTAKES = {
    4: ("XN01", "nurse_xn", "store01"),
    12: (STORE, "store02", "store01"),
    24: ("XN01", "nurse_xn", "store01"),
}
WEEKLY_DELIVERY = (1, 8, 15, 22, 29)
# Day of the month -> what goes wrong that day (see ``History.incident``).
INCIDENTS: dict[int, tuple[str, ...]] = {
    3: ("his_short", "use_without_order"),
    10: ("his_substitution",),
    14: ("use_over_order",),
    21: ("his_substitution",),
    26: ("use_over_order",),
    5: ("his_duplicate",),
    6: ("return_unused_unit",),
    7: ("his_wrong_price_fixed",),
    8: ("receipt_cost",),
    9: ("his_without_use_fixed",),
    11: ("return_unused_lot",),
    13: ("his_without_order",),
    15: ("scrap",),
    16: ("his_refunds_scan_charge",),
    18: ("his_duplicate",),
    19: ("his_wrong_price",),
    20: ("ward_return",),
    22: ("receipt_cost",),
    23: ("supplier_return",),
    25: ("his_without_use", "his_short"),
    27: ("use_without_order", "his_refunds_scan_charge"),
    28: ("return_unused_unit",),
    29: ("his_without_order",),
    30: ("his_short", "his_duplicate", "his_wrong_price"),
}


def visit_no(n: int) -> str:
    return f"ZY2026{20000 + n * 3:06d}"


def history_exists() -> bool:
    """Whether the month was built already (its first encounter is on file)."""
    return Encounter.objects.filter(visit_no=visit_no(1)).exists()


class SimulatedClock:
    """``timezone.now()`` answers ``at`` inside the block (never later than the real time)."""

    def __init__(self):
        self.real = timezone.now
        self.at: dt.datetime | None = None

    def now(self) -> dt.datetime:
        return self.at if self.at is not None else self.real()

    def set(self, at: dt.datetime) -> dt.datetime:
        self.at = min(at, self.real())
        return self.at

    def __enter__(self) -> SimulatedClock:
        timezone.now = self.now
        return self

    def __exit__(self, *exc) -> None:
        timezone.now = self.real


@dataclass
class Stay:
    """One inpatient of the month, as planned."""

    n: int
    visit_no: str
    patient_id: str
    name: str
    ward: str
    insurance: str
    admitted_at: dt.datetime
    admit_day: int
    discharge_day: int  # > HISTORY_DAYS: still in hospital today
    items: dict[str, str]  # family -> material code, the ward items this patient gets
    case: tuple[str, int] | None = None  # (kind, day)


@dataclass(order=True)
class Intent:
    """A write planned at ``at``; ``needs`` is the stock it takes from (location, item)."""

    at: dt.datetime
    seq: int
    run: Callable[[], None] = field(compare=False)
    needs: tuple[str, str, int] | None = field(default=None, compare=False)


class History:
    def __init__(self, items: list[demo_data.DemoItem], users: dict, today: dt.date):
        self.rng = random.Random(SEED)
        self.users = users
        self.today = today
        self.first = today - dt.timedelta(days=HISTORY_DAYS)
        self.items = {item.material_code: item for item in items}
        self.supplier_of = {
            item.material_code: SUPPLIERS[index % len(SUPPLIERS)][0]
            for index, item in enumerate(items)
        }
        self.by_family: dict[str, list[demo_data.DemoItem]] = defaultdict(list)
        for item in items:
            self.by_family[item.family].append(item)
        self.consumables = {
            c.material_code: c for c in Consumable.objects.filter(material_code__in=self.items)
        }
        self.nurse_of = {}
        for spec in demo_data.DEMO_USERS:
            if spec.role == roles.NURSE and spec.department not in self.nurse_of:
                self.nurse_of[spec.department] = spec.username
        self.counts: Counter = Counter()
        self.lots: dict[tuple[str, str], deque] = defaultdict(deque)  # [lot_no, qty, expiry]
        self.units: dict[tuple[str, str], deque] = defaultdict(deque)  # (serial, lot, expiry)
        self.used: dict[tuple[str, str], list] = defaultdict(list)  # (visit, item) -> takes
        self.charges: dict[str, int] = {}  # label -> charge line id
        self.later: dict[int, list[tuple[dt.time, Callable[[], None]]]] = defaultdict(list)
        self.stays: list[Stay] = []
        self.seq = 0
        self.lot_seq = 0
        self.serial_seq = 0
        self.clock: SimulatedClock | None = None
        self.ward_items = self._ward_items()
        self.case_items = self._case_items()

    # ------------------------------------------------------------------ set-up

    def _usable(self, item: demo_data.DemoItem) -> bool:
        consumable = self.consumables.get(item.material_code)
        return (
            consumable is not None
            and consumable.is_active
            and (not consumable.chargeable or bool(consumable.charge_code))
        )

    def _pick(self, family: str, k: int = 1) -> list[str]:
        pool = [i for i in self.by_family[family] if self._usable(i)]
        return [i.material_code for i in self.rng.sample(pool, min(k, len(pool)))]

    def _ward_items(self) -> dict[str, dict[str, str]]:
        return {
            ward: {family: self._pick(family)[0] for family in families}
            for ward, families in WARD_FAMILIES.items()
        }

    def _case_items(self) -> dict[str, list[str]]:
        wanted = {
            "stent": 6,
            "balloon": 4,
            "guidewire": 2,
            "sheath": 2,
            "pacemaker": 2,
            "lead": 2,
            "plate": 4,
            "screw": 5,
            "stapler_circ": 3,
            "stapler_lin": 3,
            "suture_pga": 2,
        }
        return {family: self._pick(family, k) for family, k in wanted.items()}

    def day(self, n: int) -> dt.date:
        return self.first + dt.timedelta(days=n - 1)

    def at(self, n: int, hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime.combine(self.day(n), dt.time(hour, minute), tzinfo=BUSINESS_ZONE)

    def event_id(self, key: str) -> uuid.UUID:
        return uuid.uuid5(NAMESPACE, key)

    def consumable(self, material_code: str) -> Consumable:
        return self.consumables[material_code]

    # ------------------------------------------------------------------ writes

    def scan(self, user: str, key: str, **fields) -> dict:
        outcome = scan_record(
            request=ScanRequest(event_id=self.event_id(key), **fields),
            user=self.users[user],
            answer=scan_answer,
        )
        self.counts[f"scan:{fields['action']}"] += 1
        return outcome.body

    def his_charge(
        self,
        key: str,
        stay: Stay,
        material_code: str,
        quantity: int,
        *,
        price: Decimal | None = None,
        at: dt.datetime,
    ) -> int:
        consumable = self.consumable(material_code)
        if price is None:
            price = approved_version_in_force(consumable.pk, at).charge_price
        outcome = his_charge_record(
            event_id=self.event_id(key),
            encounter=stay.visit_no,
            charge_code=consumable.charge_code,
            quantity=quantity,
            unit_price=price,
            charged_at=at,
            user=self.users[HIS_USER],
        )
        self.counts["his:charge"] += 1
        return outcome.body["charge"]["id"]

    def his_refund(self, key: str, charge_id: int, quantity: int, at: dt.datetime) -> None:
        charge_refund_record(
            charge_id=charge_id,
            event_id=self.event_id(key),
            quantity=quantity,
            refunded_at=at,
            user=self.users[HIS_USER],
        )
        self.counts["his:refund"] += 1

    # ------------------------------------------------------------------ stock

    def new_lot(self) -> str:
        self.lot_seq += 1
        return f"H{self.lot_seq:05d}"

    def on_hand(self, where: str, material_code: str) -> int:
        if self.items[material_code].tracking == "unit":
            return len(self.units[(where, material_code)])
        return sum(qty for _, qty, _ in self.lots[(where, material_code)])

    def receive(
        self,
        n: int,
        where: str,
        material_code: str,
        quantity: int,
        *,
        supplier: str | None = None,
        invoice: str | None = None,
        ownership: str | None = None,
        cost: Decimal | None = None,
        expiry: dt.date = HISTORY_EXPIRY,
    ) -> None:
        item = self.items[material_code]
        supplier = supplier or self.supplier_of[material_code]
        day = self.day(n)
        common = {
            "action": "receive",
            "department": where,
            "supplier": supplier,
            "invoice_no": invoice or f"FP{day:%Y%m%d}{supplier[-2:]}",
            "unit_cost": cost if cost is not None else item.purchase_price,
            "ownership": ownership,
        }
        lot = self.new_lot()
        if item.tracking == "unit":
            di = item.dis[0][0]
            for _ in range(quantity):
                self.serial_seq += 1
                serial = f"H{self.serial_seq:06d}"
                code = scan_code(di, lot, expiry, serial)
                self.scan("store01", f"receive:{serial}", code=code, **common)
                self.units[(where, material_code)].append((serial, lot, expiry))
            return
        di = item.dis[-1][0]
        if item.tracking == "none":
            lot, code = "", f"01{di}"
        else:
            code = scan_code(di, lot, expiry)
        self.scan(
            "store01", f"receive:{material_code}:{lot}:{n}", code=code, quantity=quantity, **common
        )
        self._add_lot(where, material_code, lot, quantity, expiry)

    def _add_lot(self, where, material_code, lot, quantity, expiry) -> None:
        for entry in self.lots[(where, material_code)]:
            if entry[0] == lot:
                entry[1] += quantity
                return
        self.lots[(where, material_code)].append([lot, quantity, expiry])

    def take_lots(self, where: str, material_code: str, quantity: int) -> list[tuple]:
        """[(lot, qty, expiry)] first in, first out, off the mirror of ``where``."""
        taken, left, shelf = [], quantity, self.lots[(where, material_code)]
        while left:
            entry = shelf[0]
            qty = min(left, entry[1])
            taken.append((entry[0], qty, entry[2]))
            entry[1] -= qty
            left -= qty
            if entry[1] == 0:
                shelf.popleft()
        return taken

    def code(
        self,
        material_code: str,
        lot: str,
        expiry: dt.date,
        *,
        box: bool = False,
        serial: str | None = None,
    ) -> str:
        item = self.items[material_code]
        di = item.dis[-1 if box else 0][0]
        if item.tracking == "none":
            return f"01{di}"
        return scan_code(di, lot, expiry, serial)

    def move(
        self,
        n: int,
        user: str,
        key: str,
        action: str,
        source: str,
        target: str,
        material_code: str,
        quantity: int,
        **extra,
    ) -> None:
        """Issue (store -> ``target``), return up the chain (to the store ``target``, or to
        the supplier when ``target`` is empty) or scrap, taken off the mirror of ``source``."""
        item = self.items[material_code]
        if item.tracking == "unit":
            for k in range(quantity):
                serial, lot, expiry = self.units[(source, material_code)].popleft()
                fields = {"department": target, "from_department": source}
                if action != "issue":
                    fields = {"department": source, "to_department": target or None}
                self.scan(
                    user,
                    f"{key}:{k}",
                    action=action,
                    code=self.code(material_code, lot, expiry, serial=serial),
                    **fields,
                    **extra,
                )
                if target:
                    self.units[(target, material_code)].append((serial, lot, expiry))
            return
        for lot, qty, expiry in self.take_lots(source, material_code, quantity):
            if action == "issue":
                fields = {"department": target, "from_department": source}
            else:
                fields = {"department": source, "to_department": target or None}
            self.scan(
                user,
                f"{key}:{lot}",
                action=action,
                quantity=qty,
                code=self.code(material_code, lot, expiry, box=True),
                **fields,
                **extra,
            )
            if target:
                self._add_lot(target, material_code, lot, qty, expiry)

    def stock_up(self, n: int, intents: list[Intent]) -> None:
        """The morning: deliveries into the store, then what the wards and theatres need today."""
        need: Counter = Counter()
        for intent in intents:
            if intent.needs:
                where, material_code, qty = intent.needs
                need[(where, material_code)] += qty
        issues: list[tuple[str, str, int]] = []
        store_need: Counter = Counter()
        for (where, material_code), qty in sorted(need.items()):
            if where == STORE:
                store_need[material_code] += qty
                continue
            short = qty - self.on_hand(where, material_code)
            if short <= 0:
                continue
            item = self.items[material_code]
            if item.tracking == "unit":
                amount = short
            else:
                box = item.dis[-1][1]
                amount = max(1, math.ceil(short / box)) * box
            issues.append((where, material_code, amount))
            store_need[material_code] += amount
        self.clock.set(self.at(n, 7, 0))
        if n in WEEKLY_DELIVERY:
            self.weekly_delivery(n)
        for material_code, qty in sorted(store_need.items()):
            short = qty - self.on_hand(STORE, material_code)
            if short > 0:
                item = self.items[material_code]
                if item.tracking == "unit":
                    amount = short + 1
                else:
                    box = item.dis[-1][1]
                    amount = (math.ceil(short / box) + 2) * box
                self.receive(n, STORE, material_code, amount)
        for k, (where, material_code, amount) in enumerate(issues):
            self.clock.set(self.at(n, 7, min(59, 30 + k)))
            self.move(
                n,
                "store01",
                f"issue:{n}:{where}:{material_code}",
                "issue",
                STORE,
                where,
                material_code,
                amount,
            )

    def weekly_delivery(self, n: int) -> None:
        """The suppliers' weekly delivery of the low-value items the wards draw on."""
        wanted = sorted(
            {mc for wards in self.ward_items.values() for mc in wards.values()}
            | set(self.case_items["suture_pga"])
        )
        boxes = {}  # what brings the store back to four boxes of each
        for material_code in wanted:
            item = self.items[material_code]
            if item.tracking != "unit":
                box = item.dis[-1][1]
                boxes[material_code] = 4 - self.on_hand(STORE, material_code) // box
        due = [mc for mc, k in boxes.items() if k > 0]
        # One line invoiced at last year's price on some weeks: PURCHASE_PRICE_MISMATCH.
        odd = self.rng.choice(due) if due and n in self._incident_days("receipt_cost") else None
        for material_code in due:
            item = self.items[material_code]
            cost = None
            if material_code == odd:
                cost = (item.purchase_price * Decimal("1.05")).quantize(Decimal("0.01"))
            self.receive(n, STORE, material_code, boxes[material_code] * item.dis[-1][1], cost=cost)

    def _incident_days(self, name: str) -> set[int]:
        return {n for n, names in INCIDENTS.items() if name in names}

    # ------------------------------------------------------------------ patients

    def admit(self, n: int, ward: str, admitted_at: dt.datetime, stay_days: int) -> Stay:
        k = len(self.stays) + 1
        rng = self.rng
        families = list(WARD_FAMILIES[ward])
        chosen = rng.sample(families, rng.randint(2, 3))
        stay = Stay(
            n=k,
            visit_no=visit_no(k),
            patient_id=f"P{10150000 + k * 11:08d}",
            name=rng.choice(demo_data.SURNAMES) + rng.choice(demo_data.GIVEN),
            ward=ward,
            insurance=rng.choice(demo_data.INSURANCE_TYPES),
            admitted_at=admitted_at,
            admit_day=n,
            discharge_day=n + stay_days,
            items={family: self.ward_items[ward][family] for family in chosen},
        )
        for kind, (case_ward, _, chance) in CASES.items():
            if case_ward == ward and stay.case is None and rng.random() < chance:
                stay.case = (kind, min(n + 1, stay.discharge_day - 1, HISTORY_DAYS))
        self.stays.append(stay)
        return stay

    def register(self, stay: Stay, at: dt.datetime) -> None:
        """HIS sends the encounter and its doctor orders."""
        encounter_upsert(
            visit_no=stay.visit_no,
            patient_id=stay.patient_id,
            patient_name=stay.name,
            insurance_type=stay.insurance,
            department=stay.ward,
            admitted_at=stay.admitted_at,
        )
        codes = list(stay.items.values())
        planned: dict[str, int] = {}  # the operation's items, ordered as many as it uses
        if stay.case:
            for mc, units in self.case_plan(stay):
                planned[mc] = planned.get(mc, 0) + units
            codes += list(planned)
        doctor = self.rng.choice(DOCTORS[stay.ward])
        for k, material_code in enumerate(dict.fromkeys(codes), start=1):
            order_upsert(
                order_id=f"{stay.visit_no}-{k:02d}",
                encounter=stay.visit_no,
                order_code=self.items[material_code].order_code,
                quantity=planned.get(material_code) or self._ordered_quantity(material_code),
                ordered_at=at,
                doctor=doctor,
            )
            self.counts["his:order"] += 1
        self.counts["his:encounter"] += 1

    def _ordered_quantity(self, material_code: str) -> int:
        item = self.items[material_code]
        return 1 if item.value_class == "high" else 10

    def case_plan(self, stay: Stay) -> list[tuple[str, int]]:
        """[(material code, units)] an operation uses; the same answer for the same stay."""
        kind = stay.case[0]
        rng = random.Random(SEED * 1000 + stay.n)
        pick = self.case_items
        if kind == "pci":
            plan = [
                (rng.choice(pick["sheath"]), 1),
                (rng.choice(pick["guidewire"]), 1),
                (rng.choice(pick["balloon"]), rng.randint(1, 2)),
                (rng.choice(pick["stent"]), rng.randint(1, 2)),
            ]
        elif kind == "pacemaker":
            plan = [
                (rng.choice(pick["pacemaker"]), 1),
                (rng.choice(pick["lead"]), rng.randint(1, 2)),
            ]
        elif kind == "ortho":
            plan = [(rng.choice(pick["plate"]), 1), (rng.choice(pick["screw"]), rng.randint(3, 4))]
        else:
            stapler = rng.choice(["stapler_circ", "stapler_lin"])
            plan = [
                (rng.choice(pick[stapler]), rng.randint(1, 2)),
                (rng.choice(pick["suture_pga"]), 2),
            ]
        return plan

    def open_stays(self, n: int) -> list[Stay]:
        return [s for s in self.stays if s.admit_day <= n <= s.discharge_day]

    # ------------------------------------------------------------------ the bedside

    def use(
        self, stay: Stay, where: str, material_code: str, quantity: int, key: str
    ) -> dict | None:
        """Scan the use of ``quantity`` of an item at ``where`` for ``stay`` (per unit for
        one-item-one-code items); the scan-billed ones are charged by the scan."""
        item = self.items[material_code]
        nurse = self.nurse_of[where]
        consumable = self.consumable(material_code)
        if consumable.insurance_class != Consumable.InsuranceClass.COVERED:
            consent_record(
                encounter=Encounter.objects.get(visit_no=stay.visit_no),
                consumable=consumable,
                signed_by=stay.name,
                relationship="本人",
                signed_at=timezone.now(),
                recorded_by=self.users[nurse],
            )
        body = None
        if item.tracking == "unit":
            for k in range(quantity):
                serial, lot, expiry = self.units[(where, material_code)].popleft()
                body = self.scan(
                    nurse,
                    f"{key}:{k}",
                    action="use",
                    department=where,
                    encounter=stay.visit_no,
                    code=self.code(material_code, lot, expiry, serial=serial),
                )
                self.used[(stay.visit_no, material_code)].append((serial, lot, expiry, 1))
            return body
        for lot, qty, expiry in self.take_lots(where, material_code, quantity):
            body = self.scan(
                nurse,
                f"{key}:{lot}",
                action="use",
                department=where,
                encounter=stay.visit_no,
                quantity=qty,
                code=self.code(material_code, lot, expiry),
            )
            self.used[(stay.visit_no, material_code)].append((None, lot, expiry, qty))
        return body

    def return_from_patient(
        self, stay: Stay, where: str, material_code: str, quantity: int, key: str
    ) -> None:
        serial, lot, expiry, _ = self.used[(stay.visit_no, material_code)][-1]
        self.scan(
            self.nurse_of[where],
            key,
            action="return",
            department=where,
            encounter=stay.visit_no,
            quantity=None if serial else quantity,
            code=self.code(material_code, lot, expiry, serial=serial),
        )
        if serial:
            self.units[(where, material_code)].append((serial, lot, expiry))
        else:
            self._add_lot(where, material_code, lot, quantity, expiry)

    def intent(
        self,
        intents: list,
        at: dt.datetime,
        run: Callable[[], None],
        needs: tuple[str, str, int] | None = None,
    ) -> None:
        self.seq += 1
        intents.append(Intent(at, self.seq, run, needs))

    def plan_day(self, n: int) -> list[Intent]:
        """Today's bedside uses, operations and HIS charges, not yet in time order."""
        intents: list[Intent] = []
        rng = self.rng
        for stay in self.open_stays(n):
            first = 10 if n == stay.admit_day else 9
            last = 11 if n == stay.discharge_day else 17
            gauze = 0
            for family, material_code in stay.items.items():
                if rng.random() > USE_CHANCE:
                    continue
                quantity = {
                    "syringe": rng.randint(2, 4),
                    "infusion": rng.randint(1, 2),
                    "gauze": rng.randint(1, 3),
                }.get(family, 1)
                at = self.at(n, rng.randint(first, last), rng.randint(0, 59))
                key = f"use:{n}:{stay.visit_no}:{material_code}"
                self.intent(
                    intents,
                    at,
                    self._bind(self.use, stay, stay.ward, material_code, quantity, key),
                    (stay.ward, material_code, quantity),
                )
                if family == "gauze":
                    gauze += quantity
            if gauze:
                self.his_gauze(intents, n, stay, gauze)
            if stay.case and stay.case[1] == n:
                self.plan_case(intents, n, stay)
            if n == stay.discharge_day:
                self.intent(
                    intents,
                    self.at(n, 16, rng.randint(0, 50)),
                    self._bind(self.discharge, stay, self.at(n, 16)),
                )
        return intents

    def his_gauze(self, intents, n: int, stay: Stay, quantity: int) -> None:
        """HIS keys in the day's gauze of ``stay`` in the evening (before a discharge). As
        on a real ward, now and then a pack is forgotten (漏费) or keyed in twice, which is
        the everyday variance the dashboard shows besides the planted incidents."""
        material_code = stay.items["gauze"]
        at = self.at(n, 12, 30) if n == stay.discharge_day else self.at(n, 18, 50)
        slip = self.rng.random()
        if slip < KEYING_SLIPS[0]:
            quantity -= 1
        elif slip < sum(KEYING_SLIPS):
            quantity += 1
        if quantity <= 0:
            return
        self.intent(
            intents,
            at,
            self._bind(
                self.his_charge,
                f"his:{n}:{stay.visit_no}:gauze",
                stay,
                material_code,
                quantity,
                at=at,
            ),
        )

    def plan_case(self, intents, n: int, stay: Stay) -> None:
        kind, _ = stay.case
        room = CASES[kind][1]
        rng = self.rng
        start = self.at(n, rng.randint(10, 14), rng.choice([0, 15, 30]))
        plan = self.case_plan(stay)
        if kind == "ortho":  # the supplier brings the implants that morning, on consignment
            invoice = f"GT{self.day(n):%Y%m%d}{stay.n:03d}"
            for material_code, units in plan:
                self.intent(
                    intents,
                    self.at(n, 9, 30),
                    self._bind(
                        self.receive,
                        n,
                        room,
                        material_code,
                        units,
                        supplier=CONSIGNMENT_SUPPLIER,
                        invoice=invoice,
                        ownership="consignment",
                    ),
                )
        for k, (material_code, units) in enumerate(plan):
            at = start + dt.timedelta(minutes=5 * k)
            needs = None if kind == "ortho" else (room, material_code, units)
            self.intent(
                intents,
                at,
                self._bind(
                    self.use,
                    stay,
                    room,
                    material_code,
                    units,
                    f"case:{stay.visit_no}:{material_code}",
                ),
                needs,
            )
        self.counts[f"case:{kind}"] += 1

    def discharge(self, stay: Stay, at: dt.datetime) -> None:
        encounter_discharge(visit_no=stay.visit_no, discharged_at=at)
        self.counts["his:discharge"] += 1

    @staticmethod
    def _bind(fn, *args, **kwargs) -> Callable[[], None]:
        return lambda: fn(*args, **kwargs)

    # ------------------------------------------------------------------ incidents

    def incident(self, name: str, intents: list[Intent], n: int) -> None:
        """Plant one of the month's mistakes (each reconciliation kind, returns, refunds)."""
        rng = self.rng
        stays = [s for s in self.open_stays(n) if s.admit_day < n < s.discharge_day]
        stays.sort(key=lambda s: s.n)
        pick = rng.choice
        at = self.at

        def ward_stay(*wards: str, having: str | None = None, no_case: bool = False) -> Stay:
            fits = [s for s in stays if s.ward in wards]
            if having:
                fits = [s for s in fits if having in s.items] or fits
            if no_case:
                fits = [s for s in fits if not s.case] or fits
            return pick(fits or stays)

        def scan_billed(stay: Stay) -> str:
            return next(
                mc
                for family, mc in self.ward_items[stay.ward].items()
                if self.items[mc].billed_by == "scan" and family != "cvc"
            )

        def use_now(stay, material_code, quantity, when, key) -> None:
            self.intent(
                intents,
                when,
                self._bind(self.use, stay, stay.ward, material_code, quantity, key),
                (stay.ward, material_code, quantity),
            )

        if name in ("his_short", "his_wrong_price", "his_wrong_price_fixed"):
            # Gauze used on the ward; HIS keys in one pack less (漏费), or at a wrong price.
            stay = ward_stay("GK01", "PW01", "MW01", having="gauze")
            material_code = self.ward_items[stay.ward]["gauze"]
            use_now(stay, material_code, 3, at(n, 10, 5), f"{name}:{n}:use")
            price = approved_version_in_force(
                self.consumable(material_code).pk, at(n, 19)
            ).charge_price
            wrong = name != "his_short"
            quantity = 3 if wrong else 2
            unit_price = (price * Decimal("1.2")).quantize(Decimal("0.01")) if wrong else price
            label = f"{name}:{n}"
            self.intent(
                intents,
                at(n, 19, 5),
                lambda: self.charges.__setitem__(
                    label,
                    self.his_charge(
                        f"{label}:charge",
                        stay,
                        material_code,
                        quantity,
                        price=unit_price,
                        at=at(n, 19, 5),
                    ),
                ),
            )
            if name == "his_wrong_price_fixed":  # next morning: refunded and keyed in again
                self.later[n + 1].append(
                    (
                        dt.time(9, 20),
                        lambda: self.his_refund(
                            f"{label}:refund", self.charges[label], quantity, at(n + 1, 9, 20)
                        ),
                    )
                )
                self.later[n + 1].append(
                    (
                        dt.time(9, 25),
                        lambda: self.his_charge(
                            f"{label}:again", stay, material_code, quantity, at=at(n + 1, 9, 25)
                        ),
                    )
                )
        elif name == "his_duplicate":
            # Charged by the scan, then keyed in again at HIS (重复收费).
            stay = ward_stay("XN01", "SN01", "XH01")
            material_code = scan_billed(stay)
            use_now(stay, material_code, 1, at(n, 9, 40), f"{name}:{n}:use")
            self.intent(
                intents,
                at(n, 18, 55),
                self._bind(
                    self.his_charge, f"{name}:{n}:charge", stay, material_code, 1, at=at(n, 18, 55)
                ),
            )
        elif name in ("his_without_use", "his_without_use_fixed"):
            # A stent keyed in at HIS for a cardiology patient who had none (无使用收费).
            stay = ward_stay("XN01", no_case=True)
            material_code = self.case_items["stent"][0]
            label = f"{name}:{n}"
            self.intent(
                intents,
                at(n, 17, 10),
                lambda: self.charges.__setitem__(
                    label,
                    self.his_charge(f"{label}:charge", stay, material_code, 1, at=at(n, 17, 10)),
                ),
            )
            if name == "his_without_use_fixed":  # found by finance two days later, refunded
                self.later[n + 2].append(
                    (
                        dt.time(10, 30),
                        lambda: self.his_refund(
                            f"{label}:refund", self.charges[label], 1, at(n + 2, 10, 30)
                        ),
                    )
                )
        elif name == "his_without_order":
            # Gauze keyed in for a patient with no gauze order (无医嘱收费).
            stay = ward_stay("HX01", "SN01", "XH01")
            material_code = self.ward_items["GK01"]["gauze"]
            self.intent(
                intents,
                at(n, 18, 40),
                self._bind(
                    self.his_charge, f"{name}:{n}", stay, material_code, 2, at=at(n, 18, 40)
                ),
            )
        elif name == "his_substitution":
            # Gauze used on the ward; HIS keys in a dearer gauze of another maker, of the same
            # generic classification (串换): SUBSTITUTION, and the gauze used is unbilled.
            stay = ward_stay("GK01", "PW01", "MW01", having="gauze")
            used = self.ward_items[stay.ward]["gauze"]
            dear = max(
                (mc for mc, item in self.items.items() if item.family == "gauze" and mc != used),
                key=lambda mc: self.items[mc].charge_price,
            )
            use_now(stay, used, 2, at(n, 10, 15), f"{name}:{n}:use")
            self.intent(
                intents,
                at(n, 19, 15),
                self._bind(self.his_charge, f"{name}:{n}", stay, dear, 2, at=at(n, 19, 15)),
            )
        elif name == "use_over_order":
            # A second central line after the first failed; the order still says one (超医嘱).
            stay = ward_stay("PW01", having="cvc")
            material_code = self.ward_items["PW01"]["cvc"]
            use_now(stay, material_code, 1, at(n, 9, 30), f"{name}:{n}:first")
            use_now(stay, material_code, 1, at(n, 11, 40), f"{name}:{n}:second")
        elif name == "use_without_order":
            # A dressing scanned for a patient the doctor had not ordered it for: charged by
            # the scan with the NO_ORDER warning (无医嘱收费).
            stay = ward_stay("GK01", "XN01")
            material_code = next(
                mc
                for family, mc in self.ward_items[stay.ward].items()
                if family not in stay.items
                and self.items[mc].billed_by == "scan"
                and self.items[mc].tracking != "unit"
            )
            use_now(stay, material_code, 1, at(n, 14, 20), f"{name}:{n}")
        elif name == "his_refunds_scan_charge":
            # HIS refunds a scan's charge while the item stays used (漏费 by refund).
            stay = ward_stay("SN01", "HX01", "XH01")
            material_code = scan_billed(stay)
            label = f"{name}:{n}"

            def use_then_note() -> None:
                body = self.use(stay, stay.ward, material_code, 1, f"{label}:use")
                self.charges[label] = body["charge"]["id"]

            self.intent(intents, at(n, 10, 45), use_then_note, (stay.ward, material_code, 1))
            self.intent(
                intents,
                at(n, 19, 30),
                lambda: self.his_refund(f"{label}:refund", self.charges[label], 1, at(n, 19, 30)),
            )
        elif name == "return_unused_unit":
            # A central line opened for the wrong bed: scanned back, its charge reversed.
            stay = ward_stay("PW01")
            material_code = self.ward_items["PW01"]["cvc"]
            use_now(stay, material_code, 1, at(n, 11, 0), f"{name}:{n}:use")
            self.intent(
                intents,
                at(n, 11, 25),
                self._bind(
                    self.return_from_patient, stay, stay.ward, material_code, 1, f"{name}:{n}:back"
                ),
            )
        elif name == "return_unused_lot":
            stay = ward_stay("XN01", "HX01")
            material_code = self.ward_items[stay.ward]["iv_cannula"]
            use_now(stay, material_code, 2, at(n, 9, 10), f"{name}:{n}:use")
            self.intent(
                intents,
                at(n, 9, 50),
                self._bind(
                    self.return_from_patient, stay, stay.ward, material_code, 1, f"{name}:{n}:back"
                ),
            )
        elif name == "ward_return":
            # The urology ward sends back a box it drew too many of (退库).
            material_code = self.ward_items["MW01"]["catheter"]
            box = self.items[material_code].dis[-1][1]
            self.intent(
                intents,
                at(n, 18, 30),
                lambda: (
                    self.move(
                        n,
                        "nurse_mw",
                        f"{name}:{n}",
                        "return",
                        "MW01",
                        STORE,
                        material_code,
                        min(box, self.on_hand("MW01", material_code)),
                    )
                    if self.on_hand("MW01", material_code)
                    else None
                ),
            )
        elif name == "supplier_return":
            # A damaged box goes back to its supplier (退货).
            material_code = self.ward_items["XH01"]["gastric"]
            box = self.items[material_code].dis[-1][1]
            self.intent(
                intents,
                at(n, 15, 10),
                lambda: (
                    self.move(
                        n,
                        "store01",
                        f"{name}:{n}",
                        "return",
                        STORE,
                        "",
                        material_code,
                        min(box, self.on_hand(STORE, material_code)),
                    )
                    if self.on_hand(STORE, material_code)
                    else None
                ),
            )
        elif name == "scrap":
            material_code = self.ward_items["GK01"]["dressing"]
            self.intent(
                intents,
                at(n, 15, 30),
                lambda: (
                    self.move(
                        n,
                        "nurse_gk",
                        f"{name}:{n}",
                        "scrap",
                        "GK01",
                        "",
                        material_code,
                        min(2, self.on_hand("GK01", material_code)),
                        reason="包装破损污染 / packaging damaged",
                    )
                    if self.on_hand("GK01", material_code)
                    else None
                ),
                ("GK01", material_code, 2),
            )
        elif name == "receipt_cost":
            pass  # in the weekly delivery (``weekly_delivery``)
        else:  # pragma: no cover - a typo in INCIDENTS
            raise ValueError(name)

    # ------------------------------------------------------------------ counts

    def stocktake(self, n: int, where: str, counter: str, confirmer: str) -> None:
        """A count before the day starts: what the book holds is found, but for the biggest
        lot line short by two and the first one over by one; a second person confirms and
        the differences post (each with its reason)."""
        self.clock.set(self.at(n, 6, 0))
        department = Department.objects.select_related("location").get(code=where)
        stocktake = stocktake_open(department=department, user=self.users[counter])
        user = self.users[counter]
        # In the order of what is on them (ids differ from one database to another).
        lines = list(
            stocktake.lines.select_related("consumable", "lot").order_by(
                "consumable__material_code", "lot__lot_no"
            )
        )
        lot_lines = [line for line in lines if line.consumable.tracking != "unit"]
        differences = {}  # line pk -> (difference, reason)
        if lot_lines:
            biggest = max(lot_lines, key=lambda line: line.expected)  # the first of the biggest
            differences[biggest.pk] = (-2, "破损未登记 / damaged, not recorded")
            differences.setdefault(lot_lines[0].pk, (1, "上次配送少记 / under-booked"))
        units = TrackedUnit.objects.filter(location=department.location).order_by("serial")
        units_by_lot = defaultdict(list)
        for unit in units.select_related("lot"):
            units_by_lot[unit.lot_id].append(unit)
        for i, line in enumerate(lines):
            self.clock.set(self.at(n, 6, 1 + i * 50 // len(lines)))
            material_code, lot = line.consumable.material_code, line.lot
            if line.consumable.tracking == "unit":
                for unit in units_by_lot[lot.pk]:
                    stocktake_count(
                        stocktake_id=stocktake.pk,
                        user=user,
                        code=self.code(material_code, lot.lot_no, lot.expiry, serial=unit.serial),
                    )
                continue
            delta = differences.get(line.pk, (0,))[0]
            stocktake_count(
                stocktake_id=stocktake.pk,
                user=user,
                quantity=line.expected + delta,
                code=self.code(material_code, lot.lot_no, lot.expiry),
            )
            for entry in self.lots[(where, material_code)]:
                if entry[0] == lot.lot_no:
                    entry[1] += delta
        self.clock.set(self.at(n, 6, 52))
        stocktake_submit(stocktake_id=stocktake.pk, user=user)
        self.clock.set(self.at(n, 6, 58))
        stocktake_confirm(
            stocktake_id=stocktake.pk,
            user=self.users[confirmer],
            reasons={pk: reason for pk, (_, reason) in differences.items()},
        )
        self.counts["stocktake"] += 1

    # ------------------------------------------------------------------ the month

    def admissions(self, n: int) -> list[tuple[Stay, dt.datetime]]:
        admitted = []
        rng = self.rng
        for ward in WARD_FAMILIES:
            if n == 1:  # the patients already on the ward when the month begins
                count, back = 2, True
            else:
                count, back = rng.choice([0, 1, 1]), False
            for _ in range(count):
                days_before = rng.randint(1, 5) if back else 0
                stay_days = rng.randint(1, 5) if back else rng.randint(2, 6)
                admitted_at = self.at(n - days_before, 8, 0) + dt.timedelta(
                    minutes=rng.randint(0, 90)
                )
                stay = self.admit(n, ward, admitted_at, stay_days)
                if back:
                    stay.admit_day = n - days_before
                    stay.discharge_day = n + stay_days - 1
                    if stay.case:
                        stay.case = (stay.case[0], n)
                admitted.append((stay, max(admitted_at, self.at(n, 8, 0))))
        return admitted

    def cases_for_yesterday(self, n: int) -> list[Stay]:
        """The theatre report opens on yesterday: each room gets an operation then, decided
        that morning for a patient on the ward (returned, for their orders)."""
        decided: list[Stay] = []
        if n != HISTORY_DAYS:
            return decided
        for kind in ("pci", "ortho"):
            ward, room, _ = CASES[kind]
            rooms = [
                s
                for s in self.open_stays(n)
                if s.case and s.case[1] == n and CASES[s.case[0]][1] == room
            ]
            if rooms:
                continue
            candidates = [
                s for s in self.open_stays(n) if s.ward == ward and not s.case and s.admit_day < n
            ]
            candidates.sort(key=lambda s: (s.discharge_day <= n, s.n))
            if candidates:
                stay = candidates[0]
                stay.case = (kind, n)
                decided.append(stay)
        return decided

    def run(self) -> Counter:
        load_demo_suppliers()
        with SimulatedClock() as clock:
            self.clock = clock
            for n in range(1, HISTORY_DAYS + 1):
                self.run_day(n)
        return self.counts

    def run_day(self, n: int) -> None:
        if n in STOCKTAKES:
            self.stocktake(n, *STOCKTAKES[n])
        admitted = self.admissions(n)
        decided = self.cases_for_yesterday(n)
        intents = []
        for k, (stay, at) in enumerate(admitted):
            self.intent(intents, at + dt.timedelta(seconds=k), self._bind(self.register, stay, at))
        for stay in decided:  # an operation decided today: its orders come now
            self.intent(intents, self.at(n, 8, 45), self._bind(self.order_case, stay))
        intents += self.plan_day(n)
        for name in INCIDENTS.get(n, ()):
            self.incident(name, intents, n)
        for time, run in self.later.pop(n, []):
            self.intent(intents, dt.datetime.combine(self.day(n), time, tzinfo=BUSINESS_ZONE), run)
        self.stock_up(n, intents)
        for intent in sorted(intents):
            self.clock.set(intent.at)
            intent.run()
        self.clock.set(self.at(n + 1, 0, 30))
        reconciliation.reconciliation_run(day=self.day(n))
        self.counts["reconciliation"] += 1

    def order_case(self, stay: Stay) -> None:
        at = timezone.now()
        doctor = DOCTORS[stay.ward][0]
        for k, (material_code, units) in enumerate(self.case_plan(stay), start=50):
            order_upsert(
                order_id=f"{stay.visit_no}-{k:02d}",
                encounter=stay.visit_no,
                order_code=self.items[material_code].order_code,
                quantity=units,
                ordered_at=at,
                doctor=doctor,
            )
            self.counts["his:order"] += 1


def build_history(items: list[demo_data.DemoItem], users: dict) -> Counter | None:
    """Build the month before today unless it is there already; what was written, or None."""
    if history_exists():
        return None
    today = business_day(timezone.now())
    return History(items, users, today).run()
