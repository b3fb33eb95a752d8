#!/usr/bin/env python
"""进销存 on a stocktake day: the periods between two counts of every ward, and the run of the
day the closing counts were posted.

The synthetic hospital of ``bench/generate.py`` (a ledger of ``--moves``, 1M by default, in
``wuma_bench_stock``; dropped afterwards unless ``--keep``, reused with ``--reuse``) gets,
for every ward and theatre, a posted stocktake early on its second day and another on the
evening of its last day, each counting the items the ward was issued. The last day is then
what a hospital's monthly count day is: ``stock_periods`` has a period for every ward
(``billing.selectors.stock_side``, read by the nightly STOCK_CONSUMPTION_VARIANCE and by the
finance page 进销存). On a warmed-up session, each round times

- ``stock_periods`` of the last day for all wards, and for one ward;
- the baseline: one hand-written ``GROUP BY`` of the same fortnight's moves per location and
  item through the time index, the least any reading of the periods' moves costs;
- the nightly run of that day (``reconciliation_run``), with its STOCK_CONSUMPTION_VARIANCE.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/stock_periods.py [--moves 1000000] [--repeat 5] [--keep|--reuse]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from decimal import Decimal

if __package__:
    from .common import django_setup, throwaway_database
    from .generate import Shape, generate
    from .reconciliation import _every, generated
else:
    from common import django_setup, throwaway_database
    from generate import Shape, generate
    from reconciliation import _every, generated

NAME = "wuma_bench_stock"

# Two posted counts of every ward and theatre (its one location), of what it was issued.
STOCKTAKES_SQL = (
    """INSERT INTO inventory_stocktake (id, status, opened_at, submitted_at, posted_at,
           drift_accepted, confirmed_by_id, counted_by_id, department_id, location_id)
       SELECT 100000 + d.id * 2 + v.k, 'posted', v.at, v.at, v.at, false,
              (SELECT max(id) FROM auth_user), (SELECT min(id) FROM auth_user), d.id, l.id
       FROM organisation_department d JOIN organisation_location l ON l.department_id = d.id,
            (VALUES (0, %(opening)s::timestamptz), (1, %(closing)s::timestamptz)) v(k, at)
       WHERE d.kind <> 'store'""",
    """INSERT INTO inventory_stocktakeline (expected, counted, on_hand_at_post, adjusted, reason,
           consumable_id, lot_id, stocktake_id)
       SELECT 10, 10, 10, 0, '', i.consumable_id, i.consumable_id, s.id
       FROM inventory_stocktake s
       JOIN (SELECT DISTINCT to_location_id, consumable_id FROM inventory_stockmove
             WHERE kind = 'issue') i ON i.to_location_id = s.location_id
       WHERE s.id >= 100000""",
)

# The fortnight's moves per location and item, read once through the time index.
BASELINE_SQL = """
SELECT from_location_id, to_location_id, consumable_id, SUM(quantity)
FROM inventory_stockmove
WHERE occurred_at > %(opening)s AND occurred_at <= %(closing)s
GROUP BY from_location_id, to_location_id, consumable_id
"""


def plant(shape: Shape) -> dict:
    """The two counts of every ward (written as the hospital's code would leave them, in
    replica mode like the rest of the synthetic hospital); their instants."""
    import datetime as dt

    from django.db import connection, transaction

    bounds = {
        "opening": shape.day_start(1) + dt.timedelta(hours=1),
        "closing": shape.day_start(shape.days - 1) + dt.timedelta(hours=20),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM inventory_stocktake WHERE id >= 100000")
        if cursor.fetchone()[0]:
            return bounds
        cursor.execute("SET LOCAL session_replication_role = replica")
        for sql in STOCKTAKES_SQL:
            cursor.execute(sql, bounds)
        cursor.execute("ANALYZE inventory_stocktake")
        cursor.execute("ANALYZE inventory_stocktakeline")
    return bounds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--moves", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--reuse", action="store_true", help="measure the kept database again")
    args = parser.parse_args(argv)
    label, cleanup = throwaway_database(NAME, reuse=args.reuse)
    if not label.startswith("PostgreSQL"):
        cleanup()
        raise SystemExit("bench/stock_periods.py needs DATABASE_URL=postgres://...")
    django_setup()
    from django.core.management import call_command
    from django.db import connection

    from billing import reconciliation
    from billing.rules import sql_params
    from billing.selectors import stock_side
    from config.business_day import business_day_bounds
    from organisation.models import Department

    try:
        call_command("migrate", verbosity=0)
        found = generated(Shape()) if args.reuse else None
        shape, counts = found or generate(Shape(), moves=args.moves, progress=_every(5))
        bounds = plant(shape)
        day = shape.last_day
        since, until = business_day_bounds(day)
        wards = Department.objects.exclude(kind="store").count()
        one = [Department.objects.exclude(kind="store").order_by("code").first().pk]
        print(f"{label}: {counts['moves']:,} moves over {shape.days} days; {wards} wards")

        def periods(departments=None):
            return stock_side.stock_periods(
                since=since, until=until, threshold_pct=Decimal("5"), department_ids=departments
            )

        def baseline():
            with connection.cursor() as cursor:
                cursor.execute(BASELINE_SQL, sql_params(**bounds))
                return cursor.fetchall()

        rows, base_rows = periods(), baseline()
        run = reconciliation.reconciliation_run(day=day)
        found = run.totals["exceptions_by_kind"].get("STOCK_CONSUMPTION_VARIANCE", 0)
        print(
            f"{len(rows):,} period rows (department x item), {len(base_rows):,} baseline rows; "
            f"the day's run: {found:,} STOCK_CONSUMPTION_VARIANCE of "
            f"{run.totals['exceptions']:,} findings"
        )
        times = {"all wards": [], "one ward": [], "baseline": [], "run": []}
        for _ in range(args.repeat):
            for name, work in (
                ("all wards", periods),
                ("one ward", lambda: periods(one)),
                ("baseline", baseline),
                ("run", lambda: reconciliation.reconciliation_run(day=day)),
            ):
                started = time.perf_counter()
                work()
                times[name].append(time.perf_counter() - started)
        base = statistics.median(times["baseline"])
        print(f"\n== {args.repeat} rounds, medians")
        for name, spent in times.items():
            median = statistics.median(spent)
            print(f"  {name:9s} {median * 1000:7.0f} ms = {median / base:5.2f}x the baseline")
    finally:
        if args.keep or args.reuse:
            print(f"(kept {NAME})")
        else:
            cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
