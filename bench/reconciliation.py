#!/usr/bin/env python
"""Reconciliation benchmark: one day of 50,000 uses on a ledger of 1M and of 10M moves.

For each ledger size, a throwaway database of its own (``wuma_bench_recon_1m``,
``wuma_bench_recon_10m``; dropped afterwards unless ``--keep``) gets the synthetic hospital
of ``bench/generate.py`` with as many days as make the ledger; its last day is the one
measured. After a first run (its SQL statement count, a check that the stored quantities
equal the baseline's, EXPLAIN notes on its statements: a sequential scan of a ledger table
would make the cost follow the history), ``--repeat`` rounds alternate between the ledgers,
so that both sizes see the same machine; each round, on a warmed-up session, times

- the full run, ``reconciliation_run(day=...)``: lock, status, every variance row and
  exception computed and stored, committed (the matching read on a second connection
  beside the writes, ``config.beside``), and the same run inside a transaction of the
  bench's, where it reads every statement in turn on one connection;
- the baseline measured in the same round: one hand-written SQL ``GROUP BY`` over the same
  day's moves, charges and refunds giving the same per-department/item received, issued,
  used and billed, fetched;
- the matching floor (``MATCHING_FLOOR_SQL``), also in the same round: the least the
  per-encounter matching has to read, since it matches each pair on the whole stay so far.

It prints best and median times, the full run against baseline + floor of the same round
(target: within 3x), and the full run on the large ledger against the small one (target:
within 30%). ``--keep`` keeps the databases; ``--reuse`` measures the kept ones again
instead of generating them (the 10M ledger takes about ten minutes to make).

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

# Same quantities as the run's variance rows (docs/contract.md), by department and consumable:
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
    FROM inventory_stockmove m JOIN organisation_location l ON l.id = m.to_location_id
    WHERE m.occurred_at >= %(since)s AND m.occurred_at < %(until)s
      AND l.department_id IS NOT NULL
    UNION ALL
    SELECT l.department_id, m.consumable_id, 0,
           CASE WHEN m.kind = 'issue' THEN m.quantity ELSE 0 END,
           CASE WHEN m.kind = 'use' THEN m.quantity ELSE 0 END, 0
    FROM inventory_stockmove m JOIN organisation_location l ON l.id = m.from_location_id
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

# The least the per-encounter matching must read (docs/contract.md matches each encounter and
# item on all its events up to the day's end, for the encounters touched that day): the
# uses and the charges of those encounters summed per encounter and item, by the same
# (encounter, consumable, time, quantity) index-only scans the run uses; no returns, no
# refunds, no judging, nothing written. Timed beside the baseline, it shows how much of the
# 3x target the matching alone takes.
MATCHING_FLOOR_SQL = """
WITH enc AS MATERIALIZED (
    SELECT encounter_id FROM billing_use
    WHERE occurred_at >= %(since)s AND occurred_at < %(until)s
    UNION
    SELECT encounter_id FROM billing_chargeline
    WHERE charged_at >= %(since)s AND charged_at < %(until)s
)
SELECT encounter_id, consumable_id, SUM(used), SUM(charged)
FROM (
    SELECT encounter_id, consumable_id, quantity AS used, 0 AS charged FROM billing_use
    WHERE encounter_id IN (SELECT encounter_id FROM enc) AND occurred_at < %(until)s
    UNION ALL
    SELECT encounter_id, consumable_id, 0, quantity FROM billing_chargeline
    WHERE encounter_id IN (SELECT encounter_id FROM enc) AND charged_at < %(until)s
) events
GROUP BY encounter_id, consumable_id
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


def baseline(day, sql: str = BASELINE_SQL) -> list[tuple]:
    from django.db import connection

    from billing.rules import sql_params
    from config.business_day import business_day_bounds

    since, until = business_day_bounds(day)
    with connection.cursor() as cursor:
        cursor.execute(sql, sql_params(since=since, until=until))
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
    from django.db import connection, transaction

    from billing import reconciliation

    statements = []

    def capture(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    # Inside a transaction of ours the run reads nothing beside it (config.beside): every
    # statement goes through this connection, where the wrapper sees it.
    with connection.execute_wrapper(capture), transaction.atomic():
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


STEPS = (
    ("INSERT INTO billing_variancerow", "variance rows, INSERT ... SELECT"),
    ("WITH enc AS", "matching per encounter and item"),
    ("WITH lines AS", "charge-line checks"),
    ("external_spans", "four-price audit"),
    ("FROM inventory_receiptline rl", "receipt costs"),
    ("FROM billing_variancerow v JOIN", "variance exceptions"),
    ("INSERT INTO billing_exceptionrow", "exceptions written (one statement)"),
    ("DELETE FROM", "previous rows deleted"),
    ("COUNT(*) AS rows", "totals"),
)


def print_breakdown(day) -> None:
    """Where a warm run's time goes, statement by statement (the matching, which the run
    reads beside its writes, taken in turn here so that it is timed too)."""
    from django.db import connection, transaction

    from billing import reconciliation

    spent: dict[str, float] = {}

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            label = next((name for sign, name in STEPS if sign in sql), "run bookkeeping")
            spent[label] = spent.get(label, 0) + time.perf_counter() - started

    started = time.perf_counter()
    with connection.execute_wrapper(timed), transaction.atomic():  # serial, as above
        reconciliation.reconciliation_run(day=day)
    total = time.perf_counter() - started
    print(f"one warm run with every statement in turn on one connection, {total * 1000:.0f} ms:")
    for label, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {seconds * 1000:6.0f} ms  {label}")
    print(f"  {(total - sum(spent.values())) * 1000:6.0f} ms  Python, and the commit")


def _use(name: str) -> None:
    """Point the default connection at database ``name`` (a fresh session)."""
    from django.db import connection, connections

    connections.close_all()
    connection.settings_dict["NAME"] = name


def generated(shape: Shape) -> tuple[Shape, dict] | None:
    """The shape and counts of the hospital already in the default database (a database
    kept by ``--keep``), or None when it holds none."""
    from dataclasses import replace

    from django.db import connection

    from config.business_day import business_day

    with connection.cursor() as cursor:
        cursor.execute("SELECT MAX(occurred_at) FROM billing_use")
        (last,) = cursor.fetchone()
        if last is None:
            return None
        cursor.execute("SELECT COUNT(*) FROM inventory_stockmove")
        (moves,) = cursor.fetchone()
    days = (business_day(last) - shape.first_day).days + 1
    return replace(shape, days=days), {"moves": moves, "seconds": 0}


def prepare(size: int, shape: Shape, reuse: bool = False) -> tuple[dict, callable]:
    """A throwaway database with a ledger of about ``size`` moves (with ``reuse``, the one a
    ``--keep`` left, if any, migrated); its facts and cleanup."""
    from django.core.management import call_command

    from billing import reconciliation

    name = f"wuma_bench_recon_{size // 1_000_000}m" if size >= 10**6 else f"wuma_bench_recon_{size}"
    label, cleanup = throwaway_database(name, reuse=reuse)
    if not label.startswith("PostgreSQL"):
        cleanup()
        raise SystemExit("bench/reconciliation.py needs DATABASE_URL=postgres://...")
    _use(name)
    call_command("migrate", verbosity=0)
    print(f"\n== ledger of ~{size:,} moves: {label}", flush=True)
    found = generated(shape) if reuse else None
    if found:
        shape, counts = found
        print(f"reused the {counts['moves']:,} moves over {shape.days} days already there")
    else:
        shape, counts = generate(shape, moves=size, progress=_every(10))
        print(
            f"generated {counts['moves']:,} moves over {shape.days} days in "
            f"{counts['seconds']:.0f} s"
        )
    day = shape.last_day
    print(f"measured day {day} ({shape.uses_per_day:,} uses)")
    with count_queries() as counter:
        run = reconciliation.reconciliation_run(day=day)
    assert run.status == "succeeded", run.error
    print_breakdown(day)
    rows = baseline(day)
    same = stored_quantities(run) == {tuple(int(v) for v in row) for row in rows}
    print(
        f"{counter['n']} SQL statements; {run.totals['rows']:,} variance rows "
        f"(baseline: {len(rows):,}), {run.totals['exceptions']:,} exceptions "
        f"{run.totals['exceptions_by_kind']}"
    )
    print(f"stored quantities equal the baseline's: {'yes' if same else 'NO'}")
    for note in explain_notes(day):
        print(note)
    facts = {
        "name": name,
        "size": size,
        "moves": counts["moves"],
        "days": shape.days,
        "day": day,
        "queries": counter["n"],
        "same": same,
        "run": [],
        "in_turn": [],
        "base": [],
        "floor": [],
    }
    return facts, cleanup


def time_once(facts: dict) -> None:
    """One timed full run (and the same run in turn on one connection) and one timed
    baseline and floor, on a warmed-up session."""
    from django.db import transaction

    from billing import reconciliation

    _use(facts["name"])
    reconciliation.reconciliation_run(day=facts["day"])  # the session's caches, untimed
    baseline(facts["day"])
    baseline(facts["day"], MATCHING_FLOOR_SQL)
    started = time.perf_counter()
    reconciliation.reconciliation_run(day=facts["day"])
    facts["run"].append(time.perf_counter() - started)
    started = time.perf_counter()
    with transaction.atomic():  # every statement in turn on this connection (config.beside)
        reconciliation.reconciliation_run(day=facts["day"])
    facts["in_turn"].append(time.perf_counter() - started)
    started = time.perf_counter()
    baseline(facts["day"])
    facts["base"].append(time.perf_counter() - started)
    started = time.perf_counter()
    baseline(facts["day"], MATCHING_FLOOR_SQL)
    facts["floor"].append(time.perf_counter() - started)


def report(facts: dict) -> None:
    run, base = facts["run"], facts["base"]
    best, median = min(run) / min(base), statistics.median(run) / statistics.median(base)
    print(
        f"{facts['moves']:>11,} moves: full run best {min(run) * 1000:6.0f} ms, median "
        f"{statistics.median(run) * 1000:6.0f} ms | baseline best {min(base) * 1000:5.0f} ms, "
        f"median {statistics.median(base) * 1000:5.0f} ms | run/baseline best {best:5.2f}x, "
        f"median {median:5.2f}x"
    )
    floor = statistics.median(facts["floor"])
    print(
        f"{'':>11}  matching floor (uses and charges of the day's encounters summed per "
        f"encounter and item, nothing judged or written) median {floor * 1000:6.0f} ms = "
        f"{floor / statistics.median(base):4.2f}x the baseline; baseline + floor = "
        f"{1 + floor / statistics.median(base):4.2f}x before any row is written"
    )
    # The target: the full run within 3x of baseline + floor, each timed in the same round.
    ratios = [r / (b + f) for r, b, f in zip(run, base, facts["floor"], strict=True)]
    print(
        f"{'':>11}  full run / (baseline + floor), round by round: "
        f"{', '.join(f'{r:.2f}' for r in ratios)}; best {min(ratios):.2f}x, median "
        f"{statistics.median(ratios):.2f}x (target: within 3x)"
    )
    in_turn = [r / (b + f) for r, b, f in zip(facts["in_turn"], base, facts["floor"], strict=True)]
    print(
        f"{'':>11}  the same run with the matching read in turn, not beside the writes: median "
        f"{statistics.median(facts['in_turn']) * 1000:6.0f} ms, "
        f"{statistics.median(in_turn):.2f}x baseline + floor"
    )


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
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the databases a --keep left, if there, instead of generating them",
    )
    args = parser.parse_args(argv)
    shape = Shape(
        consumables=args.consumables,
        departments=args.departments,
        uses_per_day=args.uses_per_day,
    )
    django_setup()
    print(f"shape: {asdict(shape)}")
    prepared, cleanups = [], []
    try:
        for size in args.sizes.split(","):
            facts, cleanup = prepare(int(size), shape, reuse=args.reuse)
            prepared.append(facts)
            cleanups.append(cleanup)
        # Rounds alternate between the ledgers, so every size sees the same machine.
        for _ in range(args.repeat):
            for facts in prepared:
                time_once(facts)
        print(f"\n== one day of {shape.uses_per_day:,} uses, {args.repeat} rounds each")
        for facts in prepared:
            report(facts)
        if len(prepared) > 1:
            small, large = prepared[0], prepared[-1]
            for pick, name in ((min, "best"), (statistics.median, "median")):
                change = pick(large["run"]) / pick(small["run"]) - 1
                print(
                    f"full run {name}, {large['moves']:,} vs {small['moves']:,} moves: "
                    f"{change:+.0%} (target: within 30%: cost follows the day, not the history)"
                )
    finally:
        if args.keep or args.reuse:
            print("(kept " + ", ".join(f["name"] for f in prepared) + ")")
        else:
            for cleanup in cleanups:
                cleanup()
    return 0 if all(f["same"] for f in prepared) else 1


if __name__ == "__main__":
    sys.exit(main())
