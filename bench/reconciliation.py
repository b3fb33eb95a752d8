#!/usr/bin/env python
"""Reconciliation benchmark: one day of 50,000 uses on a ledger of 1M and of 10M moves.

For each ledger size, in a throwaway database of its own (``wuma_bench_recon_<size>``,
dropped afterwards unless ``--keep``): the synthetic hospital of ``bench/generate.py`` with
as many days as make the ledger (the last day is the one measured), then, interleaved so
both see the same machine, ``--repeat`` times each:

- the full run, ``reconciliation_run(day=...)`` (lock, status, every variance row and
  exception computed and stored, committed), after one warm-up run;
- the baseline: one hand-written SQL ``GROUP BY`` over the same day's moves, charges and
  refunds giving the same per-department/item received, issued, used and billed, fetched.

It prints best and median times, their ratio, the run's SQL statement count, a check that
the stored quantities equal the baseline's, and EXPLAIN notes on the run's statements (any
sequential scan of a ledger table would make the cost follow the history). Last, the two
sizes side by side: the day's run should cost the same on either (target: within 30%), and
the run should stay within 3x the baseline.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/reconciliation.py
    .venv/bin/python bench/reconciliation.py --sizes 1000000 --repeat 3   # 1M only
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from dataclasses import asdict

if __package__:  # imported as bench.reconciliation (the tests check BASELINE_SQL)
    from .common import count_queries, django_setup, throwaway_database
    from .generate import Shape, generate, print_progress
else:
    from common import count_queries, django_setup, throwaway_database
    from generate import Shape, generate, print_progress

# Same quantities as the run's variance rows (CONTRACT.md), by department and consumable:
# receipts into, issues out of and into, uses out of minus returns from patients into the
# department, charges minus refunds by the line's department.
BASELINE_SQL = """
SELECT dept, item, SUM(received), SUM(issued), SUM(used), SUM(billed)
FROM (
    SELECT l.department_id AS dept, m.consumable_id AS item,
           CASE WHEN m.kind = 'receive' THEN m.quantity ELSE 0 END AS received,
           CASE WHEN m.kind = 'issue' THEN m.quantity ELSE 0 END AS issued,
           CASE WHEN m.kind = 'return' AND m.encounter_no <> '' THEN -m.quantity ELSE 0 END
               AS used,
           0 AS billed
    FROM inventory_stockmove m JOIN inventory_location l ON l.id = m.to_location_id
    WHERE m.occurred_at >= %(since)s AND m.occurred_at < %(until)s
      AND l.department_id IS NOT NULL
    UNION ALL
    SELECT l.department_id, m.consumable_id, 0,
           CASE WHEN m.kind = 'issue' THEN m.quantity ELSE 0 END,
           CASE WHEN m.kind = 'use' THEN m.quantity ELSE 0 END, 0
    FROM inventory_stockmove m JOIN inventory_location l ON l.id = m.from_location_id
    WHERE m.occurred_at >= %(since)s AND m.occurred_at < %(until)s
      AND l.department_id IS NOT NULL
    UNION ALL
    SELECT c.department_id, c.consumable_id, 0, 0, 0, c.quantity
    FROM billing_chargeline c
    WHERE c.charged_at >= %(since)s AND c.charged_at < %(until)s
    UNION ALL
    SELECT c.department_id, c.consumable_id, 0, 0, 0, -f.quantity
    FROM billing_chargerefund f JOIN billing_chargeline c ON c.id = f.charge_id
    WHERE f.refunded_at >= %(since)s AND f.refunded_at < %(until)s
) flows
GROUP BY dept, item
HAVING SUM(received) <> 0 OR SUM(issued) <> 0 OR SUM(used) <> 0 OR SUM(billed) <> 0
"""

LEDGER_TABLES = (
    "inventory_stockmove",
    "billing_use",
    "billing_chargeline",
    "billing_chargerefund",
    "billing_doctororder",
    "billing_encounter",
    "inventory_receiptline",
    "billing_variancerow",
    "billing_exceptionrow",
)


def baseline(day) -> list[tuple]:
    from django.db import connection

    from billing.rules import business_day_bounds, sql_params

    since, until = business_day_bounds(day)
    with connection.cursor() as cursor:
        cursor.execute(BASELINE_SQL, sql_params(since=since, until=until))
        return cursor.fetchall()


def stored_quantities(run) -> set[tuple]:
    from billing.models import VarianceRow

    return set(
        VarianceRow.objects.filter(run=run).values_list(
            "department_id", "consumable_id", "received", "issued", "used", "billed"
        )
    )


def explain_notes(day) -> list[str]:
    """EXPLAIN every statement of one run (in a rolled-back transaction, with the run's
    session settings): scans of the ledger tables, and any sequential one."""
    from django.db import connection

    from billing import reconciliation

    statements = []

    def capture(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        reconciliation.reconciliation_run(day=day)
    notes, seq = [], []
    scans = {}
    for sql, params in statements:
        head = sql.lstrip().upper()
        if not head.startswith(("WITH", "SELECT", "INSERT")) or "pg_locks" in sql:
            continue
        if head.startswith("INSERT") and " VALUES " in head:
            continue  # bulk_create of the exceptions: reads nothing
        with connection.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute("EXPLAIN " + sql, params)
            plan = [row[0] for row in cursor.fetchall()]
            cursor.execute("ROLLBACK")
        label = " ".join(sql.split())[:60]
        for line in plan:
            match = re.search(
                r"(Seq Scan|Index Only Scan|Index Scan|Bitmap Heap Scan)"
                r"(?: Backward)?(?: using (\S+))? on (\S+)",
                line,
            )
            if match and match.group(3) in LEDGER_TABLES:
                kind, index, table = match.groups()
                scans[(table, kind, index)] = scans.get((table, kind, index), 0) + 1
                if kind == "Seq Scan":
                    seq.append(f"{table} in: {label}")
    notes.append(f"{len(statements)} statements, of which EXPLAINed the reading ones:")
    for (table, kind, index), n in sorted(scans.items()):
        notes.append(f"  {table}: {kind}{' ' + index if index else ''} x{n}")
    notes.append("sequential scans of ledger tables: " + ("; ".join(seq) if seq else "none"))
    return notes


def measure(size: int, shape: Shape, repeat: int, keep: bool) -> dict:
    name = (
        f"wuma_bench_recon_{size // 1_000_000}m"
        if size >= 1_000_000
        else f"wuma_bench_recon_{size}"
    )
    label, cleanup = throwaway_database(name)
    if not label.startswith("PostgreSQL"):
        cleanup()
        raise SystemExit("bench/reconciliation.py needs DATABASE_URL=postgres://...")
    try:
        from django.core.management import call_command
        from django.db import connection, connections

        connections.close_all()
        connection.settings_dict["NAME"] = name
        call_command("migrate", verbosity=0)
        print(f"\n== ledger of ~{size:,} moves: {label}", flush=True)
        shape, counts = generate(shape, moves=size, progress=_every(10))
        day = shape.last_day
        print(
            f"generated {counts['moves']:,} moves over {shape.days} days in "
            f"{counts['seconds']:.0f} s; measured day {day} ({shape.uses_per_day:,} uses)"
        )
        from billing import reconciliation

        with count_queries() as counter:
            run = reconciliation.reconciliation_run(day=day)  # warm-up
        assert run.status == "succeeded", run.error
        queries = counter["n"]
        run_times, base_times = [], []
        for _ in range(repeat):
            started = time.perf_counter()
            run = reconciliation.reconciliation_run(day=day)
            run_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            rows = baseline(day)
            base_times.append(time.perf_counter() - started)
        same = stored_quantities(run) == {tuple(int(v) for v in row) for row in rows}
        result = {
            "size": size,
            "moves": counts["moves"],
            "days": shape.days,
            "run_best": min(run_times),
            "run_median": statistics.median(run_times),
            "base_best": min(base_times),
            "base_median": statistics.median(base_times),
            "queries": queries,
            "variance_rows": run.totals["rows"],
            "exceptions": run.totals["exceptions"],
            "by_kind": run.totals["exceptions_by_kind"],
            "same": same,
        }
        print(
            f"full run   best {result['run_best'] * 1000:7.0f} ms   median "
            f"{result['run_median'] * 1000:7.0f} ms   ({queries} SQL statements; "
            f"{result['variance_rows']:,} variance rows, {result['exceptions']:,} exceptions)"
        )
        print(
            f"baseline   best {result['base_best'] * 1000:7.0f} ms   median "
            f"{result['base_median'] * 1000:7.0f} ms   (one GROUP BY, {len(rows):,} rows)"
        )
        print(
            f"ratio run / baseline: best {result['run_best'] / result['base_best']:.2f}x, "
            f"median {result['run_median'] / result['base_median']:.2f}x   (target: within 3x)"
        )
        print(f"stored quantities equal the baseline's: {'yes' if same else 'NO'}")
        print(f"exceptions by kind: {result['by_kind']}")
        for note in explain_notes(day):
            print(note)
        return result
    finally:
        if keep:
            print(f"(kept {name})")
        else:
            cleanup()


def _every(n: int):
    def progress(day, days, moves, seconds):
        if day == 1 or day % n == 0 or day == days:
            print_progress(day, days, moves, seconds)

    return progress


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = Shape()
    parser.add_argument("--sizes", default="1000000,10000000", help="ledger sizes, moves")
    parser.add_argument("--consumables", type=int, default=default.consumables)
    parser.add_argument("--departments", type=int, default=default.departments)
    parser.add_argument("--uses-per-day", type=int, default=default.uses_per_day)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    args = parser.parse_args(argv)
    shape = Shape(
        consumables=args.consumables,
        departments=args.departments,
        uses_per_day=args.uses_per_day,
    )
    django_setup()
    print(f"shape: {asdict(shape)}")
    results = [measure(int(size), shape, args.repeat, args.keep) for size in args.sizes.split(",")]
    if len(results) > 1:
        small, large = results[0], results[-1]
        print("\n== cost follows the day, not the history")
        for r in results:
            print(
                f"{r['moves']:>12,} moves: run best {r['run_best'] * 1000:7.0f} ms, median "
                f"{r['run_median'] * 1000:7.0f} ms; baseline best {r['base_best'] * 1000:6.0f}"
                f" ms; ratio {r['run_best'] / r['base_best']:.2f}x"
            )
        for key in ("run_best", "run_median"):
            change = large[key] / small[key] - 1
            print(
                f"{key.replace('_', ' ')}: {large['moves']:,} vs {small['moves']:,} moves: "
                f"{change:+.0%} (target: within 30%)"
            )
    return 0 if all(r["same"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
