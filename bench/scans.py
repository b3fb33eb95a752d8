#!/usr/bin/env python
"""Benchmark of the scan path: server time and SQL queries per scan, at growing ledger sizes.

For each ledger size (default 10,000 and 1,000,000 moves) it grows the stock ledger with
set-based SQL (receipts, issues and bedside uses over 2,000 other consumables, 10,000 lots,
3 stores and 20 wards, each use with its Use row and charge line, balances kept in step and
checked against the ledger), runs VACUUM ANALYZE, then sends through the real API
(``POST /api/v1/scans``, token auth, Django's test client in-process) repeated scans, each
with a new event_id:

- receive: 10 units of a lot-tracked item into the central store;
- issue: 2 units of it, store -> ward;
- use (lot): 1 unit at the bedside, charged in the same transaction;
- use (unit): one unit tracked one-item-one-code (a serial), charged.

It prints the median and 95th percentile server time (from the request entering Django to
the response, no network) and the SQL query count of each scan, then whether each count
is the same at every size. PostgreSQL only; creates and drops ``wuma_bench_scans``.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/scans.py
    ... bench/scans.py --sizes 10000,100000 --repeat 20     # quicker
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
import uuid

from common import count_queries, django_setup, throwaway_database
from scan_data import (
    STORE,
    SUPPLIER,
    VISIT,
    WARD,
    Ledger,
    balances_agree,
    grow_ledger,
    gs1,
    ledger_counts,
    make_encounter,
    make_filler,
    make_hospital,
    make_item,
    require_postgres,
    stock_units,
    vacuum_analyze,
)

BENCH_DB = "wuma_bench_scans"
WARM_UP = 3


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


class Scanner:
    """Posts scans to the API as one user (token auth) and records time and queries."""

    def __init__(self, token: str):
        from django.test import Client

        self.client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Token {token}")

    def post(self, **fields) -> tuple[float, int]:
        body = {"event_id": str(uuid.uuid4()), **fields}
        with count_queries() as queries:
            started = time.perf_counter()
            response = self.client.post("/api/v1/scans", body, content_type="application/json")
            elapsed = time.perf_counter() - started
        assert response.status_code == 201, (response.status_code, response.content[:500])
        return elapsed, queries["n"]


def measure(key: str, name: str, repeat: int, send) -> dict:
    for _ in range(WARM_UP):
        send()
    times, counts = [], []
    for n in range(repeat):
        elapsed, queries = send(n)
        times.append(elapsed)
        counts.append(queries)
    return {
        "key": key,
        "name": name,
        "median_ms": statistics.median(times) * 1000,
        "p95_ms": percentile(times, 95) * 1000,
        "queries": sorted(set(counts)),
    }


def queries_text(counts: list[int]) -> str:
    if len(counts) == 1:
        return f"{counts[0]} (every scan)"
    return f"{counts[0]}-{counts[-1]} (varies)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,1000000", help="ledger sizes in moves")
    parser.add_argument("--repeat", type=int, default=50, help="measured scans of each kind")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    require_postgres("bench/scans.py")

    label, cleanup = throwaway_database(BENCH_DB)
    try:
        django_setup("bench_settings")
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        hospital = make_hospital()
        lot_item, lot_di = make_item(1)
        unit_item, unit_di = make_item(
            2, tracking="unit", price="5800", value_class="high", name="药物洗脱冠脉支架"
        )
        make_encounter(VISIT, orders_for=[lot_item, unit_item])
        make_filler()
        expiry = dt.date.today() + dt.timedelta(days=400)
        lot_code = gs1(lot_di, "BL001", expiry)
        per_size = args.repeat + WARM_UP
        serials = [f"SN{n:06d}" for n in range(per_size * len(sizes))]
        stock_units(hospital, unit_item, unit_di, serials, lot="BU001")
        keeper, nurse = Scanner(hospital.keeper_token), Scanner(hospital.nurse_token)
        unit_codes = iter(gs1(unit_di, "BU001", expiry, s) for s in serials)

        def receive(n=0):
            return keeper.post(action="receive", code=lot_code, department=STORE,
                               supplier=SUPPLIER, invoice_no="FP-BENCH", unit_cost="25.50",
                               quantity=10)  # fmt: skip

        def issue(n=0):
            return keeper.post(
                action="issue", code=lot_code, department=WARD, from_department=STORE, quantity=2
            )

        def use_lot(n=0):
            return nurse.post(
                action="use", code=lot_code, department=WARD, encounter=VISIT, quantity=1
            )

        def use_unit(n=0):
            return nurse.post(action="use", code=next(unit_codes), department=WARD, encounter=VISIT)

        print(f"database: {label}, {connection.cursor().connection.info.server_version}")
        print(
            f"scans through POST /api/v1/scans (token auth, in-process), {args.repeat} of each "
            f"kind after {WARM_UP} warm-up scans, each with a new event_id"
        )
        ledger = Ledger()
        results = {}
        for size in sizes:
            started = time.perf_counter()
            grow_ledger(ledger, size)
            vacuum_analyze()
            grown = time.perf_counter() - started
            assert balances_agree(), "stock balances disagree with the ledger"
            counts = ledger_counts()
            print(
                f"\nledger {counts['moves']:,} moves (grown in {grown:.0f} s; balance rows "
                f"{counts['balances']:,}, uses {counts['uses']:,}, charge lines "
                f"{counts['charges']:,}; balances agree with the ledger)"
            )
            rows = [
                measure(
                    "receive", "receive (lot item, 10 units into the store)", args.repeat, receive
                ),  # fmt: skip
                measure("issue", "issue (2 units, store -> ward)", args.repeat, issue),
                measure("use/lot", "use (lot item, 1 unit, charged)", args.repeat, use_lot),
                measure("use/unit", "use (unit with serial, charged)", args.repeat, use_unit),
            ]
            for row in rows:
                print(
                    f"  {row['name']:<46} median {row['median_ms']:6.1f} ms  "
                    f"p95 {row['p95_ms']:6.1f} ms  queries {queries_text(row['queries'])}"
                )
            results[counts["moves"]] = rows
        print()
        constant = True
        for index, first in enumerate(next(iter(results.values()))):
            per_size = {size: rows[index]["queries"] for size, rows in results.items()}
            same = len({tuple(q) for q in per_size.values()}) == 1 and len(first["queries"]) == 1
            constant &= same
            shown = ", ".join(f"{q[0] if len(q) == 1 else q} at {s:,}" for s, q in per_size.items())
            verdict = "constant" if same else "NOT constant"
            print(f"queries per {first['key']:<8} scan: {shown}: {verdict}")
        assert balances_agree(), "stock balances disagree with the ledger after the scans"
        return 0 if constant else 1
    finally:
        cleanup()


if __name__ == "__main__":
    sys.exit(main())
