"""Data the scan benchmarks share: a small hospital, the measured items, and a ledger grown
to a given number of moves with set-based SQL.

The measured scans always go through the real API; only the history they run against is
made here, in bulk. The history is a believable one: receipts into several stores, issues
to many wards and bedside uses over thousands of consumables, lots and encounters, each use
with its ``Use`` row and its charge line, and the stock balances kept in step with every
move added (checked against the ledger with ``rebuild_balances``'s own comparison).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import uuid
from dataclasses import dataclass
from decimal import Decimal

STORE = "CK01"
WARD = "XN01"
SUPPLIER = "GYS01"
VISIT = "ZY-BENCH-1"
FILLER_STORES = 2  # besides CK01
FILLER_WARDS = 19  # besides XN01
FILLER_ITEMS = 2000
LOTS_PER_ITEM = 5
FILLER_ENCOUNTERS = 3000
GS = "\x1d"


def require_postgres(what: str) -> None:
    """Stop with a clear message unless DATABASE_URL names a PostgreSQL server."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(
            f"{what} needs PostgreSQL (the target database: row locks, the append-only "
            "trigger, set-based bulk loads). Run it with\n"
            "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres "
            f".venv/bin/python {sys.argv[0]}"
        )


def gtin(n: int) -> str:
    from consumables.udi import gtin_check_digit

    body = f"0699{n:09d}"
    return body + gtin_check_digit(body)


def gs1(di: str, lot: str, expiry: dt.date, serial: str | None = None) -> str:
    """What a wedge scanner sends for a GS1 DataMatrix: DI, expiry, lot, serial."""
    code = f"01{di}17{expiry:%y%m%d}10{lot}"
    return code + (f"{GS}21{serial}" if serial else "")


@dataclass
class Hospital:
    keeper: object
    nurse: object
    keeper_token: str
    nurse_token: str


def make_hospital(*, nurses: int = 1) -> Hospital:
    """CK01 store, XN01 ward (plus the filler departments), a supplier, a storekeeper and
    nurses with API tokens (the token of the first nurse is returned; the others are
    ``nurse02``... with tokens readable from ``Token``)."""
    from django.contrib.auth.models import Group, User
    from rest_framework.authtoken.models import Token

    from config import roles
    from inventory.ledger import department_location
    from organisation.models import Department, Supplier

    departments = [(STORE, "中心库房", Department.Kind.STORE), (WARD, "心内科病区", "ward")]
    departments += [(f"CK{n:02d}", f"分库房{n}", "store") for n in range(2, FILLER_STORES + 2)]
    departments += [(f"W{n:03d}", f"病区{n}", "ward") for n in range(2, FILLER_WARDS + 2)]
    for code, name, kind in departments:
        department, _ = Department.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind}
        )
        department_location(department)
    Supplier.objects.get_or_create(code=SUPPLIER, defaults={"name": "四川某医疗器械有限公司"})

    def user(username: str, role: str, *codes: str):
        person, _ = User.objects.get_or_create(username=username)
        person.groups.add(Group.objects.get_or_create(name=role)[0])
        for code in codes:
            Department.objects.get(code=code).members.add(person)
        return person, Token.objects.get_or_create(user=person)[0].key

    keeper, keeper_token = user("store01", roles.STOREKEEPER, STORE, WARD)
    nurse, nurse_token = user("nurse01", roles.NURSE, WARD)
    for n in range(2, nurses + 1):
        user(f"nurse{n:02d}", roles.NURSE, WARD)
    return Hospital(keeper, nurse, keeper_token, nurse_token)


def make_item(
    n: int,
    *,
    tracking: str = "lot",
    price: str = "25.50",
    value_class: str = "low",
    name: str = "一次性使用静脉留置针",
):
    """A scan-billed consumable with its five codes, a DI and an approved price."""
    from consumables.models import Consumable, DeviceIdentifier, PriceVersion

    consumable = Consumable.objects.create(
        material_code=f"WZB{n:06d}",
        name=f"{name} {n}",
        spec="22G",
        unit="支",
        manufacturer="测试医疗器械有限公司",
        value_class=value_class,
        tracking=tracking,
        chargeable=True,
        billed_by="scan",
        charge_code=f"JFB{n:06d}",
        order_code=f"YZB{n:06d}",
        insurance_code=f"C{14010100000:011d}{n:08d}",
    )
    di = DeviceIdentifier.objects.create(
        consumable=consumable, udi_di=gtin(n), issuer="gs1", units_per_package=1
    ).udi_di
    PriceVersion.objects.create(
        consumable=consumable,
        purchase_price=Decimal(price),
        charge_price=Decimal(price),
        effective_from=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        status=PriceVersion.Status.APPROVED,
        origin=PriceVersion.Origin.INITIAL_LOAD,
    )
    return consumable, di


def make_encounter(visit_no: str, *, orders_for=(), department: str = WARD):
    """An open inpatient encounter of ``department`` with a doctor order per consumable."""
    from django.utils import timezone

    from billing.models import DoctorOrder, Encounter, Patient
    from organisation.models import Department

    admitted = timezone.now() - dt.timedelta(days=2)
    encounter, _ = Encounter.objects.get_or_create(
        visit_no=visit_no,
        defaults={
            "patient": Patient.objects.get_or_create(
                patient_id=f"P-{visit_no}", defaults={"name": "张三"}
            )[0],
            "department": Department.objects.get(code=department),
            "admitted_at": admitted,
        },
    )
    for consumable in orders_for:
        DoctorOrder.objects.get_or_create(
            order_id=f"{visit_no}-{consumable.order_code}",
            defaults={
                "encounter": encounter,
                "order_code": consumable.order_code,
                "quantity": 100000,
                "ordered_at": admitted,
            },
        )
    return encounter


def scan(user, **fields) -> dict:
    """One scan through the scan service (set-up only; measured scans use the API)."""
    from inventory.api.scans import scan_answer
    from inventory.services.scans import ScanRequest, scan_record

    outcome = scan_record(
        request=ScanRequest(event_id=uuid.uuid4(), **fields), user=user, answer=scan_answer
    )
    assert outcome.status == 201, outcome.body
    return outcome.body


def stock_units(hospital: Hospital, consumable, di: str, serials: list[str], lot: str) -> None:
    """Receive units with their own serials into CK01 and issue them to XN01, by scan."""
    expiry = dt.date.today() + dt.timedelta(days=400)
    for serial in serials:
        code = gs1(di, lot, expiry, serial)
        scan(hospital.keeper, action="receive", code=code, department=STORE,
             supplier=SUPPLIER, invoice_no="FP-BENCH", unit_cost=Decimal("5800"))  # fmt: skip
        scan(hospital.keeper, action="issue", code=code, department=WARD, from_department=STORE)


def bulk_units(consumable, di: str, *, lot_no: str, serials: list[str], ward: str = WARD):
    """Units tracked one-item-one-code already issued to ``ward``: one receipt move of all
    of them into CK01, one issue move per unit, the units, and the balances to match.

    Written in bulk (a benchmark needs thousands of units); ``balances_agree`` checks the
    result against the ledger like any other history. Returns the scan code of each unit.
    """
    from django.utils import timezone

    from inventory.ledger import department_location, virtual_location
    from inventory.models import Lot, StockBalance, StockMove, TrackedUnit
    from organisation.models import Department, Location

    expiry = dt.date.today() + dt.timedelta(days=400)
    lot = Lot.objects.create(consumable=consumable, lot_no=lot_no, expiry=expiry)
    store = department_location(Department.objects.get(code=STORE))
    target = department_location(Department.objects.get(code=ward))
    at = timezone.now() - dt.timedelta(days=1)
    common = {"consumable": consumable, "lot": lot, "occurred_at": at}
    StockMove.objects.bulk_create(
        [
            StockMove(kind="receive", quantity=len(serials), to_location=store,
                      from_location=virtual_location(Location.Usage.SUPPLIER), **common),
            *[
                StockMove(kind="issue", quantity=1, from_location=store, to_location=target,
                          **common)
                for _ in serials
            ],
        ],
        batch_size=2000,
    )  # fmt: skip
    StockBalance.objects.bulk_create(
        [
            StockBalance(location=store, consumable=consumable, lot=lot, quantity=0),
            StockBalance(location=target, consumable=consumable, lot=lot, quantity=len(serials)),
        ]
    )
    TrackedUnit.objects.bulk_create(
        [
            TrackedUnit(consumable=consumable, lot=lot, serial=serial, udi_di=di,
                        location=target, received_at=at)
            for serial in serials
        ],
        batch_size=2000,
    )  # fmt: skip
    return [gs1(di, lot_no, expiry, serial) for serial in serials]


# ----------------------------------------------------------------------------- the ledger


def _sql(statement: str, params=None) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def _scalar(statement: str, params=None):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone()[0]


def make_filler() -> None:
    """Thousands of other consumables (lot-tracked, priced), their lots and encounters."""
    from django.utils import timezone

    from billing.models import Encounter, Patient
    from consumables.models import Consumable, PriceVersion
    from inventory.models import Lot
    from organisation.models import Department

    items = Consumable.objects.bulk_create(
        [
            Consumable(
                material_code=f"WZF{n:06d}",
                name=f"医用耗材 {n}",
                spec="常规",
                unit="个",
                value_class="low",
                tracking="lot",
                chargeable=True,
                billed_by="scan",
                charge_code=f"JFF{n:06d}",
                order_code=f"YZF{n:06d}",
                insurance_code=f"C{99010100000:011d}{n:08d}",
            )
            for n in range(FILLER_ITEMS)
        ]
    )
    since = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    PriceVersion.objects.bulk_create(
        [
            PriceVersion(
                consumable=item,
                purchase_price=Decimal(f"{1 + n % 300}.50"),
                charge_price=Decimal(f"{1 + n % 300}.50"),
                effective_from=since,
                status=PriceVersion.Status.APPROVED,
                origin=PriceVersion.Origin.INITIAL_LOAD,
            )
            for n, item in enumerate(items)
        ]
    )
    Lot.objects.bulk_create(
        [
            Lot(consumable=item, lot_no=f"F{n:02d}", expiry=dt.date(2028, 1, 1))
            for item in items
            for n in range(LOTS_PER_ITEM)
        ]
    )
    wards = list(Department.objects.filter(kind="ward").exclude(code=WARD))
    patients = Patient.objects.bulk_create(
        [Patient(patient_id=f"PF{n:06d}", name="患者") for n in range(FILLER_ENCOUNTERS)]
    )
    Encounter.objects.bulk_create(
        [
            Encounter(
                visit_no=f"ZYF{n:06d}",
                patient=patient,
                department=wards[n % len(wards)],
                admitted_at=timezone.now() - dt.timedelta(days=400),
            )
            for n, patient in enumerate(patients)
        ]
    )


# One synthetic move per index i: triples (receive SUPPLIER->store 10, issue store->ward 6,
# use ward->PATIENT 2). Balances stay non-negative at every step of the sequence.
_GROW_MOVES = """
WITH lots AS (
    SELECT l.id, l.consumable_id, row_number() OVER (ORDER BY l.id) - 1 AS rn
    FROM inventory_lot l JOIN consumables_consumable c ON c.id = l.consumable_id
    WHERE c.material_code LIKE 'WZF%%'
), stores AS (
    SELECT loc.id, row_number() OVER (ORDER BY loc.id) - 1 AS rn
    FROM organisation_location loc JOIN organisation_department d ON d.id = loc.department_id
    WHERE d.kind = 'store'
), wards AS (
    SELECT loc.id, row_number() OVER (ORDER BY loc.id) - 1 AS rn
    FROM organisation_location loc JOIN organisation_department d ON d.id = loc.department_id
    WHERE d.kind = 'ward'
), moves AS (
    SELECT i, i / 3 AS t, i %% 3 AS phase FROM generate_series(%(start)s, %(stop)s - 1) AS i
)
INSERT INTO inventory_stockmove (kind, consumable_id, lot_id, quantity, from_location_id,
    to_location_id, occurred_at, recorded_at, event_id, encounter_no, note)
SELECT
    (ARRAY['receive', 'issue', 'use'])[m.phase + 1],
    lots.consumable_id,
    lots.id,
    (ARRAY[10, 6, 2])[m.phase + 1],
    CASE m.phase WHEN 0 THEN %(supplier)s WHEN 1 THEN stores.id ELSE wards.id END,
    CASE m.phase WHEN 0 THEN stores.id WHEN 1 THEN wards.id ELSE %(patient)s END,
    %(origin)s + m.i * interval '20 seconds',
    now(),
    gen_random_uuid(),
    CASE m.phase WHEN 2 THEN 'ZYF' || lpad((m.t %% %(encounters)s)::text, 6, '0') ELSE '' END,
    ''
FROM moves m
JOIN lots ON lots.rn = m.t %% (SELECT count(*) FROM lots)
JOIN stores ON stores.rn = m.t %% (SELECT count(*) FROM stores)
JOIN wards ON wards.rn = (m.t / 7) %% (SELECT count(*) FROM wards)
ORDER BY m.i
"""

# A batch may take from a balance an earlier batch filled (its net change is negative), and
# PostgreSQL checks a proposed INSERT row against balance_never_negative before ON CONFLICT:
# so existing rows are updated, and only missing ones inserted.
_GROW_BALANCES = """
WITH changes AS (
    SELECT location_id, consumable_id, lot_id, sum(delta) AS delta FROM (
        SELECT m.to_location_id AS location_id, m.consumable_id, m.lot_id, m.quantity AS delta
        FROM inventory_stockmove m JOIN organisation_location loc ON loc.id = m.to_location_id
        WHERE m.id > %(after)s AND loc.usage = 'internal'
        UNION ALL
        SELECT m.from_location_id, m.consumable_id, m.lot_id, -m.quantity
        FROM inventory_stockmove m JOIN organisation_location loc ON loc.id = m.from_location_id
        WHERE m.id > %(after)s AND loc.usage = 'internal'
    ) AS moved
    GROUP BY location_id, consumable_id, lot_id
), updated AS (
    UPDATE inventory_stockbalance b SET quantity = b.quantity + c.delta
    FROM changes c
    WHERE b.location_id = c.location_id AND b.consumable_id = c.consumable_id
        AND b.lot_id = c.lot_id
    RETURNING b.location_id, b.consumable_id, b.lot_id
)
INSERT INTO inventory_stockbalance (location_id, consumable_id, lot_id, quantity)
SELECT c.location_id, c.consumable_id, c.lot_id, c.delta FROM changes c
WHERE NOT EXISTS (
    SELECT 1 FROM updated u
    WHERE u.location_id = c.location_id AND u.consumable_id = c.consumable_id
        AND u.lot_id = c.lot_id
)
"""

_GROW_USES = """
INSERT INTO billing_use (event_id, quantity, returned_quantity, occurred_at, warnings,
    consumable_id, department_id, encounter_id, lot_id, move_id)
SELECT m.event_id, m.quantity, 0, m.occurred_at, '[]'::jsonb, m.consumable_id,
    loc.department_id, e.id, m.lot_id, m.id
FROM inventory_stockmove m
JOIN organisation_location loc ON loc.id = m.from_location_id
JOIN billing_encounter e ON e.visit_no = m.encounter_no
WHERE m.id > %(after)s AND m.kind = 'use'
"""

_GROW_CHARGES = """
INSERT INTO billing_chargeline (event_id, material_code, charge_code, order_code,
    insurance_code, udi_di, quantity, unit_price, amount, self_pay, source, charged_at,
    refunded_quantity, consumable_id, department_id, encounter_id, price_version_id, use_id)
SELECT u.event_id, c.material_code, c.charge_code, c.order_code, c.insurance_code, '',
    u.quantity, pv.charge_price, round(pv.charge_price * u.quantity, 2), false, 'scan',
    u.occurred_at, 0, c.id, u.department_id, u.encounter_id, pv.id, u.id
FROM billing_use u
JOIN consumables_consumable c ON c.id = u.consumable_id
JOIN consumables_priceversion pv ON pv.consumable_id = c.id AND pv.status = 'approved'
WHERE u.id > %(after)s
"""


@dataclass
class Ledger:
    """How far the synthetic history has gone (``added`` moves so far)."""

    added: int = 0


def grow_ledger(ledger: Ledger, total_moves: int) -> int:
    """Add synthetic moves until the ledger holds ``total_moves`` moves; return how many
    were added. Uses and charge lines follow the use moves, balances follow every move."""
    from django.db import transaction

    from inventory.ledger import virtual_location
    from inventory.models import StockMove
    from organisation.models import Location

    missing = total_moves - StockMove.objects.count()
    if missing <= 0:
        return 0
    supplier = virtual_location(Location.Usage.SUPPLIER).pk
    patient = virtual_location(Location.Usage.PATIENT).pk
    batch = 200_000
    done = 0
    while done < missing:
        size = min(batch, missing - done)
        with transaction.atomic():
            after = _scalar("SELECT coalesce(max(id), 0) FROM inventory_stockmove")
            after_use = _scalar("SELECT coalesce(max(id), 0) FROM billing_use")
            _sql(
                _GROW_MOVES,
                {
                    "start": ledger.added,
                    "stop": ledger.added + size,
                    "supplier": supplier,
                    "patient": patient,
                    "origin": dt.datetime(2024, 6, 1, tzinfo=dt.UTC),
                    "encounters": FILLER_ENCOUNTERS,
                },
            )
            _sql(_GROW_BALANCES, {"after": after})
            _sql(_GROW_USES, {"after": after})
            _sql(_GROW_CHARGES, {"after": after_use})
        ledger.added += size
        done += size
    return done


def vacuum_analyze() -> None:
    """Fresh statistics after a bulk load, so the planner sees the tables as they are."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def balances_agree() -> bool:
    """The kept balances equal those computed from the ledger (rebuild_balances --check)."""
    from inventory.management.commands.rebuild_balances import balance_differences

    return not balance_differences()


def ledger_counts() -> dict[str, int]:
    from billing.models import ChargeLine, Use
    from inventory.models import StockBalance, StockMove

    return {
        "moves": StockMove.objects.count(),
        "balances": StockBalance.objects.count(),
        "uses": Use.objects.count(),
        "charges": ChargeLine.objects.count(),
    }
