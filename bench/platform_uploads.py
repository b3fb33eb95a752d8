#!/usr/bin/env python
"""National platform uploads: one day of 50,000 uses, prepared and sent to the platform double.

In a throwaway database (``wuma_bench_platform``, dropped afterwards), a ward, an insured
inpatient and a lot-tracked item; the day's uses are written straight into the ledger's
tables in bulk (as ``bench/generate.py`` does), first a sample with the outbox trigger
switched off and then the day with it on, so the trigger's own cost per move is measured
against a baseline in the same run. Then the sender (``send_due``) takes the day's records
in batches, prepares each batch (``prepare``) and posts it to the platform double, a real
HTTP server on this machine, which checks every record against the specification's table.

It prints, per 1,000 records: the insert with and without the trigger, prepare, the whole
send (claim + prepare + HTTP + answers stored), and the SQL statements per batch; then the
daily completeness check's time, and that every record was accepted exactly once.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/platform_uploads.py
    .venv/bin/python bench/platform_uploads.py --uses 5000   # quicker
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
import uuid

if __package__:
    from .common import count_queries, django_setup, throwaway_database
else:
    from common import count_queries, django_setup, throwaway_database

BATCH = 1000


def world():
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from billing.models import Encounter, InsuranceType, Patient
    from inventory.ledger import department_location, virtual_location
    from inventory.models import Lot
    from organisation.models import Location
    from tests.factories import ConsumableFactory, DepartmentFactory, DeviceIdentifierFactory

    InsuranceType.objects.get_or_create(name="职工医保", defaults={"insured": True})
    department = DepartmentFactory(code="XNK")
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
    nurse = get_user_model().objects.create_user("nurse", last_name="李", first_name="护士")
    return {
        "department": department,
        "ward": department_location(department),
        "patient": virtual_location(Location.Usage.PATIENT),
        "consumable": consumable,
        "lot": lot,
        "encounter": encounter,
        "nurse": nurse,
        "start": timezone.now().replace(hour=0, minute=0, second=0, microsecond=0),
    }


def moves(w, n: int, visit_no: str):
    from inventory.models import StockMove

    return [
        StockMove(
            kind="use",
            consumable=w["consumable"],
            lot=w["lot"],
            quantity=1,
            from_location=w["ward"],
            to_location=w["patient"],
            occurred_at=w["start"] + dt.timedelta(seconds=i % 80000),
            event_id=uuid.uuid4(),
            encounter_no=visit_no,
            user=w["nurse"],
        )
        for i in range(n)
    ]


def insert_day(w, n: int) -> tuple[float, float, int]:
    """Seconds per 1,000 moves without and with the outbox trigger (same inserts)."""
    from django.db import connection, transaction

    from billing.models import Use
    from inventory.models import StockMove

    sample = min(n, 10_000)
    with transaction.atomic(), connection.cursor() as cursor:
        # Foreign keys checked per statement in both parts (ALTER TABLE wants no pending
        # deferred checks).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE inventory_stockmove DISABLE TRIGGER insurance_outbox_move")
        t = time.perf_counter()
        StockMove.objects.bulk_create(moves(w, sample, "NONE"), batch_size=BATCH)
        without = (time.perf_counter() - t) / sample * 1000
        cursor.execute("ALTER TABLE inventory_stockmove ENABLE TRIGGER insurance_outbox_move")
    with transaction.atomic():
        t = time.perf_counter()
        made = StockMove.objects.bulk_create(moves(w, n, "ZY001"), batch_size=BATCH)
        with_trigger = (time.perf_counter() - t) / n * 1000
        Use.objects.bulk_create(
            [
                Use(
                    event_id=m.event_id,
                    encounter=w["encounter"],
                    move=m,
                    department=w["department"],
                    consumable=w["consumable"],
                    lot=w["lot"],
                    quantity=1,
                    occurred_at=m.occurred_at,
                    user=w["nurse"],
                )
                for m in made
            ],
            batch_size=BATCH,
        )
    return without, with_trigger, len(made)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uses", type=int, default=50_000, help="uses in the day")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database")
    args = parser.parse_args()

    label, cleanup = throwaway_database("wuma_bench_platform")
    django_setup()
    try:
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection

        if connection.vendor != "postgresql":
            print("the outbox is written by PostgreSQL triggers: set DATABASE_URL=postgres://...")
            return 2
        call_command("migrate", verbosity=0)
        from config.business_day import business_day
        from insurance_platform.double import PlatformDouble
        from insurance_platform.models import UploadRecord
        from insurance_platform.selectors.completeness import daily_check
        from insurance_platform.services import send

        w = world()
        without, with_trigger, n = insert_day(w, args.uses)
        print(f"database: {label}; {n:,} uses in one day; batches of {BATCH:,}")
        print(
            f"  insert a move: {with_trigger:.3f} s per 1,000 with the outbox trigger, "
            f"{without:.3f} s without (x{with_trigger / without:.2f})"
        )
        assert UploadRecord.objects.filter(txn="3505").count() == n

        settings.INSURANCE_FIXMEDINS_CODE = "H51010600001"
        settings.INSURANCE_PLATFORM_SECRET = "bench-secret"
        double = PlatformDouble(fixmedins_code="H51010600001", secret="bench-secret").start()
        settings.INSURANCE_PLATFORM_URL = double.url
        try:
            statements, prepare_s, batches = [], 0.0, 0
            original_prepare = send.prepare

            def timed_prepare(ids):
                nonlocal prepare_s
                t = time.perf_counter()
                done = original_prepare(ids)
                prepare_s += time.perf_counter() - t
                return done

            send.prepare = timed_prepare
            t = time.perf_counter()
            while True:
                with count_queries() as counter:
                    result = send.send_due(batch_size=BATCH)
                if not result.claimed:
                    break
                assert result.accepted == result.claimed, result
                statements.append(counter["n"])
                batches += 1
            sent_s = time.perf_counter() - t
        finally:
            send.prepare = original_prepare
            double.stop()
        print(
            f"  prepare: {prepare_s / n * 1000:.3f} s per 1,000 records; whole send (claim, "
            f"prepare, HTTP to the double, answers stored): {sent_s / n * 1000:.3f} s per 1,000"
        )
        print(
            f"  SQL statements per batch of {BATCH:,}: {max(statements)} "
            f"(min {min(statements)}, {batches} batches)"
        )
        t = time.perf_counter()
        report = daily_check(business_day(w["start"]))
        print(
            f"  daily completeness check: {time.perf_counter() - t:.2f} s, complete: "
            f"{report.complete} ({report.expected:,} expected, {report.recorded:,} recorded)"
        )
        accepted = UploadRecord.objects.filter(status="accepted").count()
        once = set(double.deliveries.values()) == {1}
        print(f"  accepted: {accepted:,} of {n:,}; each taken once by the platform: {once}")
        return 0 if accepted == n and once and report.complete else 1
    finally:
        if not args.keep:
            cleanup()


if __name__ == "__main__":
    sys.exit(main())
