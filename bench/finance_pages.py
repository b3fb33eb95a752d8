#!/usr/bin/env python
"""Benchmark of the finance pages over stored reconciliation runs: time and SQL queries.

For each size (departments x days x items per department; default 2x30x20 and 40x90x100,
that is 1,200 and 360,000 variance rows) it stores succeeded runs with set-based SQL: a
variance row per department, item and day, and per department and day a 漏费 naming its
nurse, a 收费价格不符, a variance over threshold, plus a four-price finding per day for 50
consumables (hospital-wide). Then it opens the dashboard (30 and 90 days), the month view,
a department, an item, and the people report as a finance user (Django's test client,
in-process), and prints the median server time and the SQL query count of each, the ratio
of the large size's time to the small one's, and whether every query count is the same at
both sizes. PostgreSQL only; creates and drops ``wuma_bench_finance``.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/finance_pages.py
    ... bench/finance_pages.py --sizes 2x30x20,20x90x50 --repeat 5     # quicker
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time

from common import count_queries, django_setup, throwaway_database
from scan_data import require_postgres, vacuum_analyze

from config.business_day import business_day

BENCH_DB = "wuma_bench_finance"


def parse_size(text: str) -> tuple[int, int, int]:
    departments, days, items = (int(x) for x in text.lower().split("x"))
    return departments, days, items


def store(departments: int, days: int, items: int, end: dt.date) -> dict:
    """Replace every stored run with ``days`` days ending ``end`` over the given counts."""
    from django.contrib.auth.models import Group, User
    from django.db import connection

    from billing.models import ExceptionRow, ReconciliationRun, VarianceRow
    from config import roles
    from consumables.models import Consumable
    from organisation.models import Department

    ExceptionRow.objects.all().delete()
    VarianceRow.objects.all().delete()
    ReconciliationRun.objects.all().delete()
    have = Department.objects.filter(code__startswith="BW").count()
    Department.objects.bulk_create(
        Department(code=f"BW{n:03d}", name=f"病区{n:03d}", kind="ward")
        for n in range(have, departments)
    )
    have = Consumable.objects.filter(material_code__startswith="BM").count()
    Consumable.objects.bulk_create(
        Consumable(material_code=f"BM{n:06d}", name=f"耗材{n}", charge_code=f"BJ{n:06d}")
        for n in range(have, items)
    )
    nurses = Group.objects.get_or_create(name=roles.NURSE)[0]
    for n in range(User.objects.filter(username__startswith="bnurse").count(), departments):
        nurses.user_set.add(User.objects.create_user(f"bnurse{n:03d}"))
    ReconciliationRun.objects.bulk_create(
        ReconciliationRun(date=end - dt.timedelta(days=n), status="succeeded", totals={})
        for n in range(days)
    )
    params = {"departments": departments, "items": items}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH d AS (SELECT id, code FROM organisation_department WHERE code LIKE 'BW%%'
                       ORDER BY code LIMIT %(departments)s),
                 c AS (SELECT id, material_code, row_number() OVER (ORDER BY material_code) AS n
                       FROM consumables_consumable WHERE material_code LIKE 'BM%%'
                       ORDER BY material_code LIMIT %(items)s)
            INSERT INTO billing_variancerow (run_id, department_id, consumable_id,
                department_code, material_code, received, issued, used, billed, variance_qty,
                variance_amount, variance_pct)
            SELECT r.id, d.id, c.id, d.code, c.material_code, 0, 10, 10, 10 - (c.n %% 3),
                   c.n %% 3, (c.n %% 3) * 2.5, (c.n %% 3) * 10
            FROM billing_reconciliationrun r CROSS JOIN d CROSS JOIN c
            """,
            params,
        )
        cursor.execute(
            """
            WITH d AS (SELECT id, code, row_number() OVER (ORDER BY code) AS n
                       FROM organisation_department WHERE code LIKE 'BW%%'
                       ORDER BY code LIMIT %(departments)s),
                 u AS (SELECT id, row_number() OVER (ORDER BY username) AS n
                       FROM auth_user WHERE username LIKE 'bnurse%%')
            INSERT INTO billing_exceptionrow (run_id, kind, department_code, material_code,
                encounter_no, quantity, ref, detail, user_id)
            SELECT r.id, k.kind, d.code, 'BM000001', 'ZY' || d.n || '-' || r.id, 1,
                   CASE k.kind WHEN 'UNBILLED_USE' THEN 'use:' || (900000 + d.n)
                               WHEN 'PRICE_MISMATCH' THEN 'charge:' || (800000 + r.id)
                               ELSE 'variance:' || d.code || ':BM000002' END,
                   '{}'::jsonb,
                   CASE k.kind WHEN 'UNBILLED_USE' THEN u.id END
            FROM billing_reconciliationrun r CROSS JOIN d JOIN u ON u.n = d.n
            CROSS JOIN (VALUES ('UNBILLED_USE'), ('PRICE_MISMATCH'),
                               ('VARIANCE_OVER_THRESHOLD')) AS k(kind)
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO billing_exceptionrow (run_id, kind, department_code, material_code,
                encounter_no, quantity, ref, detail)
            SELECT r.id, 'FOUR_PRICE_MISALIGNED', '', c.material_code, '', NULL,
                   'consumable:' || c.material_code, '{}'::jsonb
            FROM billing_reconciliationrun r CROSS JOIN (
                SELECT material_code FROM consumables_consumable
                WHERE material_code LIKE 'BM%%' ORDER BY material_code LIMIT 50) c
            """
        )
    vacuum_analyze()
    return {
        "variance rows": VarianceRow.objects.count(),
        "exception rows": ExceptionRow.objects.count(),
    }


def measure(client, url: str, repeat: int) -> tuple[float, int]:
    client.get(url)  # warm-up
    times, counts = [], set()
    for _ in range(repeat):
        with count_queries() as queries:
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
        counts.add(queries["n"])
    assert len(counts) == 1, (url, counts)
    return statistics.median(times), counts.pop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="2x30x20,40x90x100", help="departments x days x items")
    parser.add_argument("--repeat", type=int, default=9, help="measured requests per page")
    args = parser.parse_args()
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    require_postgres("bench/finance_pages.py")

    label, cleanup = throwaway_database(BENCH_DB)
    try:
        django_setup("bench_settings")
        from django.contrib.auth.models import Group, User
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        from config import roles

        call_command("migrate", verbosity=0)
        end = business_day(dt.datetime.now(dt.UTC)) - dt.timedelta(days=1)
        user = User.objects.create_user("bench-finance")
        user.groups.add(Group.objects.get_or_create(name=roles.FINANCE)[0])
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        print(f"database: {label}, {connection.cursor().connection.info.server_version}")
        results = {}
        for departments, days, items in sizes:
            started = time.perf_counter()
            counts = store(departments, days, items, end)
            print(
                f"\n{departments} departments x {days} days x {items} items: "
                f"{counts['variance rows']:,} variance rows, {counts['exception rows']:,} "
                f"exception rows (stored in {time.perf_counter() - started:.0f} s)"
            )
            pages = {
                "dashboard, 30 days": "/billing/finance/?days=30",
                "dashboard, 90 days": "/billing/finance/?days=90",
                "month view": f"/billing/finance/month/?month={end:%Y-%m}",
                "department": "/billing/finance/departments/BW000/?days=90",
                "item": "/billing/finance/departments/BW000/items/BM000001/?days=90",
                "people report, 90 days": "/billing/finance/people/?days=90",
            }
            for name, url in pages.items():
                seconds, queries = measure(client, url, args.repeat)
                results.setdefault(name, []).append((seconds, queries))
                print(f"  {name:<24} {seconds * 1000:8.1f} ms  {queries:3d} queries")
        print("\nlarge / small (time), queries the same at every size:")
        for name, figures in results.items():
            same = len({q for _, q in figures}) == 1
            ratio = figures[-1][0] / figures[0][0]
            print(f"  {name:<24} x{ratio:6.1f}   {'yes' if same else 'NO'}")
        return 0
    finally:
        cleanup()


if __name__ == "__main__":
    sys.exit(main())
