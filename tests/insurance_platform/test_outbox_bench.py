"""The outbox at a day's volume: what the trigger costs a move, what ``prepare`` costs per
1,000 records (time and SQL statements per batch), what the daily check costs.

Skipped unless asked for (it writes a day of uses straight into the ledger's tables):

    OUTBOX_BENCH=50000 DATABASE_URL=postgres://... python -m pytest -q -s -p no:cacheprovider \
        --create-db tests/insurance_platform/test_outbox_bench.py
"""

import datetime as dt
import os
import time
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import Encounter, InsuranceType, Patient, Use
from config.business_day import business_day
from insurance_platform.models import UploadRecord
from insurance_platform.selectors.completeness import daily_check
from insurance_platform.services.prepare import prepare
from insurance_platform.spec import field_errors
from inventory.ledger import department_location, virtual_location
from inventory.models import Lot, StockMove
from organisation.models import Location
from tests.factories import ConsumableFactory, DepartmentFactory, DeviceIdentifierFactory

N = int(os.environ.get("OUTBOX_BENCH", "0"))
BATCH = 1000

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db,
    pytest.mark.skipif(not N, reason="set OUTBOX_BENCH=<uses> to run the benchmark"),
]


def _moves(n, consumable, lot, ward, patient, visit_no, start, user=None):
    return [
        StockMove(
            kind="use",
            consumable=consumable,
            lot=lot,
            quantity=1,
            from_location=ward,
            to_location=patient,
            occurred_at=start + dt.timedelta(seconds=i % 80000),
            event_id=uuid.uuid4(),
            encounter_no=visit_no,
            user=user,
        )
        for i in range(n)
    ]


def test_a_day_of_uses(django_user_model):
    InsuranceType.objects.get_or_create(name="职工医保", defaults={"insured": True})
    department = DepartmentFactory(code="XNK")
    ward = department_location(department)
    patient_location = virtual_location(Location.Usage.PATIENT)
    consumable = ConsumableFactory(registration_no="国械注准20153140001")
    DeviceIdentifierFactory(consumable=consumable)
    lot = Lot.objects.create(
        consumable=consumable,
        lot_no="L1",
        production_date=dt.date(2026, 1, 1),
        expiry=dt.date(2028, 1, 1),
    )
    encounter = Encounter.objects.create(
        visit_no="ZY001",
        patient=Patient.objects.create(patient_id="P1", name="张三"),
        department=department,
        admitted_at=timezone.now() - dt.timedelta(days=1),
        psn_no="PSN1",
    )
    nurse = django_user_model.objects.create_user("nurse", last_name="李", first_name="护士")
    start = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    day = business_day(start)

    # The trigger's cost: the same inserts with and without it.
    sample = min(N, 10000)
    with connection.cursor() as cursor:
        # Foreign keys checked per statement in both runs (ALTER TABLE needs no pending
        # deferred checks).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE inventory_stockmove DISABLE TRIGGER insurance_outbox_move")
    t = time.perf_counter()
    StockMove.objects.bulk_create(
        _moves(sample, consumable, lot, ward, patient_location, "NONE", start),
        batch_size=BATCH,
    )
    without = time.perf_counter() - t
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE inventory_stockmove ENABLE TRIGGER insurance_outbox_move")

    t = time.perf_counter()
    moves = StockMove.objects.bulk_create(
        _moves(N, consumable, lot, ward, patient_location, "ZY001", start, nurse),
        batch_size=BATCH,
    )
    with_trigger = time.perf_counter() - t
    Use.objects.bulk_create(
        [
            Use(
                event_id=m.event_id,
                encounter=encounter,
                move=m,
                department=department,
                consumable=consumable,
                lot=lot,
                quantity=1,
                occurred_at=m.occurred_at,
                user=nurse,
            )
            for m in moves
        ],
        batch_size=BATCH,
    )
    ids = list(UploadRecord.objects.filter(txn="3505").values_list("pk", flat=True))
    assert len(ids) == N

    t = time.perf_counter()
    statements = []
    for i in range(0, N, BATCH):
        with CaptureQueriesContext(connection) as captured:
            assert prepare(ids[i : i + BATCH]) == len(ids[i : i + BATCH])
        statements.append(len(captured))
    prepared = time.perf_counter() - t

    t = time.perf_counter()
    report = daily_check(day)
    checked = time.perf_counter() - t
    assert report.complete and report.expected == N

    payload = UploadRecord.objects.filter(pk=ids[-1]).values_list("payload", flat=True)[0]
    assert field_errors("3505", payload) == []
    print(
        f"\n{N} uses: insert {with_trigger / N * 1000:.3f} s per 1,000 with the outbox "
        f"trigger, {without / sample * 1000:.3f} s per 1,000 without; "
        f"prepare {prepared / N * 1000:.3f} s per 1,000 records, "
        f"{max(statements)} SQL statements per batch of {BATCH}; "
        f"daily check {checked:.2f} s"
    )
