#!/usr/bin/env python
"""The use scan in-process, one request at a time: a quick loop for tuning the bedside path.

No gunicorn and no concurrent clients (``bench/use_throughput.py`` gives the figures the
issue asks for); the same data and the same three endpoints through Django's test client
against a throwaway PostgreSQL database (``wuma_bench_use_inprocess``): ms per request of
the baseline (one row, one transaction), the scan API before the service, and a charged use
of a lot item, their ratios (as throughputs: the baseline's and the floor's time over the
use's), then the SQL statements of one use scan.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/use_inprocess.py [--requests 200] [--rounds 2] [--profile [--cpu]]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid

import use_throughput
from common import django_setup, throwaway_database
from scan_data import WARD, require_postgres


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="timed requests per endpoint")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="cProfile the use scans")
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="profile CPU time, not wall time (waits on PostgreSQL left out: a steadier "
        "picture of the Python cost on a busy machine)",
    )
    parser.add_argument("--full-sql", action="store_true", help="print each statement whole")
    args = parser.parse_args()
    require_postgres("bench/use_inprocess.py")
    label, cleanup = throwaway_database("wuma_bench_use_inprocess")
    try:
        os.environ["DJANGO_SETTINGS_MODULE"] = "bench_settings"
        django_setup("bench_settings")
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        call_command("migrate", verbosity=0)
        data = use_throughput.prepare(argparse.Namespace(units=500))
        client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Token {data['nurse_token']}")
        print(f"database: {label}")

        def use_body() -> dict:
            return {"event_id": str(uuid.uuid4()), "action": "use", "code": data["lot_code"],
                    "department": WARD, "encounter": "ZY-TP-000", "quantity": 1}  # fmt: skip

        def baseline_body() -> dict:
            return {"event_id": str(uuid.uuid4()), "note": "baseline"}

        cpu_ms = {}

        def ms_per_request(path: str, body) -> float:
            """Wall ms per request; the CPU ms of this process go to ``cpu_ms[path]``."""
            for _ in range(20):  # warm-up
                client.post(path, body(), content_type="application/json")
            started, cpu = time.perf_counter(), time.process_time()
            for _ in range(args.requests):
                response = client.post(path, body(), content_type="application/json")
                assert response.status_code == 201, response.content[:300]
            cpu_ms[path] = (time.process_time() - cpu) / args.requests * 1000
            return (time.perf_counter() - started) / args.requests * 1000

        for _ in range(args.rounds):
            base = ms_per_request("/bench/baseline", baseline_body)
            floor = ms_per_request("/bench/scan-floor", use_body)
            use = ms_per_request("/api/v1/scans", use_body)
            print(
                f"baseline {base:6.2f} ms | scan API before the service {floor:6.2f} ms "
                f"(baseline/it {base / floor:.2f}) | use {use:6.2f} ms (baseline/it "
                f"{base / use:.2f}, scan API before the service/it {floor / use:.2f})"
            )
            cpu = [cpu_ms[p] for p in ("/bench/baseline", "/bench/scan-floor", "/api/v1/scans")]
            print(
                f"  CPU of this process (PostgreSQL's not counted): baseline {cpu[0]:.2f} ms, "
                f"scan API before the service {cpu[1]:.2f} ms, use {cpu[2]:.2f} ms "
                f"(scan API before the service/it {cpu[1] / cpu[2]:.2f})"
            )
        statements = []

        def capture(execute, sql, params, many, context):
            statements.append(" ".join(sql.split()))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(capture):
            client.post("/api/v1/scans", use_body(), content_type="application/json")
        print(f"one use scan, {len(statements)} SQL statements (target <= 7):")
        for sql in statements:
            print(f"  {sql if args.full_sql else sql[:140]}")
        if args.profile:
            import cProfile
            import pstats

            profile = cProfile.Profile(time.process_time) if args.cpu else cProfile.Profile()
            profile.runcall(ms_per_request, "/api/v1/scans", use_body)
            pstats.Stats(profile).sort_stats("cumulative" if args.cpu else "tottime").print_stats(
                60 if args.cpu else 25
            )
        connection.close()
    finally:
        cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
