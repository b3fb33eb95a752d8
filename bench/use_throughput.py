#!/usr/bin/env python
"""Throughput of the bedside use scan under concurrent clients, against a baseline measured
in the same run by the same server.

Serves the project with gunicorn (sync workers, as in the Dockerfile; persistent database
connections, as in compose.yaml) against a throwaway PostgreSQL database
(``wuma_bench_scans_tp``), with a ledger grown to ``--moves`` moves. A separate client
process opens ``--clients`` concurrent connections and alternates, for ``--rounds`` rounds
of ``--seconds`` each:

- baseline: ``POST /bench/baseline``, a minimal Django view (no DRF, no auth) inserting one
  row in one transaction (bench/bench_urls.py);
- scan API, no service: ``POST /bench/scan-floor``, the scan API's steps before the service
  call (DRF, token auth, role check, scan throttle, validation, department check), fixed 201;
- use: ``POST /api/v1/scans`` ``action=use`` with a nurse's API token and a new event_id per
  request: lot-tracked items (supermarket billing) and, for ``--unit-share`` of the scans,
  units tracked one-item-one-code with their own serial, each charged in the same
  transaction.

Prints requests/s of each, the ratio use / scan API before the service (target: at least
0.5) and both against the baseline, p50/p95 latency, clients and workers; then checks that
every 201 answer left exactly one Use and one charge line (none lost, none doubled) and that
the stock balances still agree with the ledger. Also prints the use scan's SQL statement
count, in-process, before and after the load (target: at most 7).
PostgreSQL only.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/use_throughput.py
    ... bench/use_throughput.py --workers 3 --clients 6 --seconds 10 --rounds 2 --moves 100000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from common import ROOT, count_queries, django_setup, throwaway_database
from scan_data import (
    STORE,
    SUPPLIER,
    WARD,
    Ledger,
    balances_agree,
    bulk_units,
    grow_ledger,
    gs1,
    make_encounter,
    make_filler,
    make_hospital,
    make_item,
    require_postgres,
    scan,
    vacuum_analyze,
)

BENCH_DB = "wuma_bench_scans_tp"
EVENT = "0" * 8 + "-0000" * 3 + "-" + "0" * 12  # as long as a UUID: Content-Length holds
LOT_ITEMS = 40
UNIT_ITEMS = 5
ENCOUNTERS = 30
NURSES = 6
# Issue 15: a use scan in at most 7 statements, at least half the throughput of the scan API
# before its service (the floor: what any scan costs before it records anything).
FLOOR_TARGET = 0.5
STATEMENTS_TARGET = 7


# ----------------------------------------------------------------------------- the client


def _request(path: str, body: str, token: str | None) -> bytes:
    auth = f"Authorization: Token {token}\r\n" if token else ""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body.encode())}\r\n{auth}Connection: close\r\n\r\n"
    )
    return (head + body).encode()


def _post(port: int, request: bytes) -> tuple[int, bytes]:
    """One request on a new connection (gunicorn's sync workers close it after each)."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request)
        chunks = [sock.recv(65536)]
        while chunks[-1]:
            chunks.append(sock.recv(65536))
    answer = b"".join(chunks)
    return int(answer[9:12]), answer


def _phase(port: int, clients: int, seconds: float, next_request) -> dict:
    """``clients`` threads posting back to back for ``seconds``; statuses and latencies."""
    deadline = time.perf_counter() + seconds
    results: list[list[tuple[int, float]]] = [[] for _ in range(clients)]
    refusals: list[str] = []

    def worker(out):
        while time.perf_counter() < deadline:
            request = next_request()
            started = time.perf_counter()
            status, answer = _post(port, request)
            out.append((status, time.perf_counter() - started))
            if status != 201 and len(refusals) < 3:
                refusals.append(answer.split(b"\r\n\r\n", 1)[-1][:300].decode(errors="replace"))

    threads = [threading.Thread(target=worker, args=(out,)) for out in results]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    flat = [r for out in results for r in out]
    statuses: dict[int, int] = {}
    for status, _ in flat:
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "elapsed": elapsed,
        "statuses": statuses,
        "latencies": [latency for status, latency in flat if status == 201],
        "refusals": refusals,
    }


def client_main(pipe, plan: dict) -> None:
    """The load generator, in its own process: runs the phases and sends back the results."""
    port, clients = plan["port"], plan["clients"]
    lot_templates = [t.encode() for t in plan["lot_templates"]]
    unit_templates = iter([t.encode() for t in plan["unit_templates"]])
    lock = threading.Lock()
    rng = random.Random(7)
    used = {"lot": 0, "unit": 0}

    def baseline_request() -> bytes:
        body = json.dumps({"event_id": str(uuid.uuid4()), "note": "baseline"})
        return _request("/bench/baseline", body, None)

    def use_request() -> bytes:
        with lock:
            template = None
            if rng.random() < plan["unit_share"]:
                template = next(unit_templates, None)
            kind = "unit" if template else "lot"
            template = template or rng.choice(lot_templates)
            used[kind] += 1
        return template.replace(EVENT.encode(), str(uuid.uuid4()).encode())

    floor_templates = [
        t.replace(b"POST /api/v1/scans ", b"POST /bench/scan-floor ") for t in lot_templates
    ]

    def floor_request() -> bytes:
        with lock:
            template = rng.choice(floor_templates)
        return template.replace(EVENT.encode(), str(uuid.uuid4()).encode())

    requests = {"baseline": baseline_request, "floor": floor_request, "use": use_request}
    out = []
    for kind in plan["phases"]:
        result = _phase(port, clients, plan["seconds"], requests[kind])
        result["kind"] = kind
        out.append(result)
    pipe.send({"phases": out, "used": used})
    pipe.close()


# ----------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_url() -> str:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            if sock.recv(16).startswith(b"+PONG"):
                return "redis://127.0.0.1:6379/15"
    except OSError:
        pass
    return ""


def start_gunicorn(port: int, workers: int, cache_url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "DJANGO_CONN_MAX_AGE": "60",
        "DJANGO_LOG_LEVEL": "ERROR",
    }
    if cache_url:
        env["DJANGO_CACHE_URL"] = cache_url
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [
            str(gunicorn), "config.wsgi:application",
            "--pythonpath", f"{ROOT},{ROOT / 'bench'}",
            "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
            "--backlog", "2048", "--log-level", "warning",
        ],
        env=env,
    )  # fmt: skip
    for _ in range(300):
        try:
            request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            if _post(port, request)[0] == 200:
                return process
        except OSError:
            pass
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited during start-up")
        time.sleep(0.1)
    process.terminate()
    raise RuntimeError("gunicorn did not answer /healthz")


# ----------------------------------------------------------------------------- the data


def prepare(args) -> dict:
    """Items with stock on XN01, encounters with orders, nurses with tokens; templates of
    the use requests (``EVENT`` stands for the event_id)."""
    from decimal import Decimal

    from bench_urls import BASELINE_TABLE
    from django.db import connection
    from rest_framework.authtoken.models import Token

    with connection.cursor() as cursor:
        cursor.execute(BASELINE_TABLE)
    hospital = make_hospital(nurses=NURSES)
    tokens = list(
        Token.objects.filter(user__username__startswith="nurse").values_list("key", flat=True)
    )
    lot_items = [make_item(100 + n) for n in range(LOT_ITEMS)]
    unit_items = [
        make_item(200 + n, tracking="unit", price="5800", value_class="high", name="冠脉支架")
        for n in range(UNIT_ITEMS)
    ]
    encounters = [
        make_encounter(f"ZY-TP-{n:03d}", orders_for=[c for c, _ in lot_items + unit_items])
        for n in range(ENCOUNTERS)
    ]
    expiry_codes = []
    for _, di in lot_items:
        code = gs1(di, "TL001", dt.date.today() + dt.timedelta(days=400))
        scan(hospital.keeper, action="receive", code=code, department=STORE, supplier=SUPPLIER,
             invoice_no="FP-TP", unit_cost=Decimal("25.50"), quantity=100000)  # fmt: skip
        scan(hospital.keeper, action="issue", code=code, department=WARD,
             from_department=STORE, quantity=100000)  # fmt: skip
        expiry_codes.append(code)
    per_item = args.units // UNIT_ITEMS
    unit_codes = []
    for n, (consumable, di) in enumerate(unit_items):
        serials = [f"S{n}{k:07d}" for k in range(per_item)]
        unit_codes += bulk_units(consumable, di, lot_no=f"TU{n:03d}", serials=serials)
    random.Random(3).shuffle(unit_codes)

    def template(code: str, index: int) -> str:
        body = {
            "event_id": EVENT,
            "action": "use",
            "code": code,
            "department": WARD,
            "encounter": encounters[index % ENCOUNTERS].visit_no,
            "quantity": 1,
        }
        return _request("/api/v1/scans", json.dumps(body), tokens[index % len(tokens)]).decode()

    lot_templates = [template(code, n) for n, code in enumerate(expiry_codes * ENCOUNTERS)]
    unit_templates = [template(code, n) for n, code in enumerate(unit_codes)]
    return {
        "lot_templates": lot_templates,
        "unit_templates": unit_templates,
        "nurse_token": hospital.nurse_token,
        "lot_code": expiry_codes[0],
        "unit_codes": unit_codes,
    }


def use_queries(token: str, code: str, visit_no: str) -> int:
    """SQL queries of one use scan through the API, in-process."""
    from django.test import Client

    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Token {token}")
    body = {"event_id": str(uuid.uuid4()), "action": "use", "code": code,
            "department": WARD, "encounter": visit_no, "quantity": 1}  # fmt: skip
    with count_queries() as queries:
        response = client.post("/api/v1/scans", body, content_type="application/json")
    assert response.status_code == 201, response.content[:300]
    return queries["n"]


def table_counts() -> dict:
    from django.db import connection

    from billing.models import ChargeLine, Use

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bench_baseline")
        (baseline,) = cursor.fetchone()
    return {
        "baseline": baseline,
        "uses": Use.objects.count(),
        "charges": ChargeLine.objects.count(),
    }


def throttle_text() -> str:
    """The scan API's throttles and the cache each counts in (as configured, not assumed)."""
    from inventory.api.scans import ScanApi

    return ", ".join(
        f"{cls.__name__} ({type(getattr(cls, 'cache', None)).__name__})"
        for cls in ScanApi.throttle_classes
    )


def summarise(phases: list[dict], kind: str) -> dict:
    chosen = [p for p in phases if p["kind"] == kind]
    elapsed = sum(p["elapsed"] for p in chosen)
    statuses: dict[int, int] = {}
    for p in chosen:
        for status, n in p["statuses"].items():
            statuses[int(status)] = statuses.get(int(status), 0) + n
    latencies = sorted(x for p in chosen for x in p["latencies"])
    ok = statuses.get(201, 0)
    return {
        "ok": ok,
        "statuses": statuses,
        "rps": ok / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p95": latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))] * 1000,
        "per_round": [p["statuses"].get(201, 0) / p["elapsed"] for p in chosen],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (Dockerfile: 3)")
    parser.add_argument("--clients", type=int, default=6, help="concurrent client connections")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--rounds", type=int, default=2, help="baseline/use rounds, alternated")
    parser.add_argument("--moves", type=int, default=100_000, help="ledger size before the run")
    parser.add_argument("--units", type=int, default=5000, help="units tracked one by one")
    parser.add_argument("--unit-share", type=float, default=0.25, help="share of unit scans")
    args = parser.parse_args()
    require_postgres("bench/use_throughput.py")

    label, cleanup = throwaway_database(BENCH_DB)
    server = None
    try:
        os.environ["DJANGO_SETTINGS_MODULE"] = "bench_settings"
        cache_url = redis_url()
        if cache_url:
            os.environ["DJANGO_CACHE_URL"] = cache_url
        django_setup("bench_settings")
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection, connections

        call_command("migrate", verbosity=0)
        data = prepare(args)
        make_filler()
        grow_ledger(Ledger(), args.moves)
        vacuum_analyze()
        visit = "ZY-TP-000"
        queries_before = use_queries(data["nurse_token"], data["lot_code"], visit)
        data["unit_templates"].pop()  # its code is scanned here, in-process
        unit_queries = use_queries(data["nurse_token"], data["unit_codes"].pop(), visit)
        before = table_counts()
        connections.close_all()

        port = free_port()
        server = start_gunicorn(port, args.workers, cache_url)
        plan = {
            "port": port,
            "clients": args.clients,
            "seconds": args.seconds,
            "unit_share": args.unit_share,
            "lot_templates": data["lot_templates"],
            "unit_templates": data["unit_templates"],
            # A short warm-up of each, then the measured rounds, alternated so that any
            # drift of the machine falls on both alike.
            "phases": ["baseline", "floor", "use"] * (args.rounds + 1),
        }
        warm = {**plan, "seconds": 2.0, "phases": ["baseline", "floor", "use"]}
        context = multiprocessing.get_context("spawn")
        results = []
        for one in (warm, {**plan, "phases": plan["phases"][3:]}):
            if results:  # the units the warm-up used are gone
                one["unit_templates"] = one["unit_templates"][results[0]["used"]["unit"] :]
            receiver, sender = context.Pipe(duplex=False)
            client = context.Process(target=client_main, args=(sender, one))
            client.start()
            results.append(receiver.recv())
            client.join()
        server.terminate()
        server.wait(timeout=30)
        server = None

        after = table_counts()
        warm_used, measured = results
        phases = warm_used["phases"] + measured["phases"]
        ok_use = sum(p["statuses"].get(201, 0) for p in phases if p["kind"] == "use")
        ok_base = sum(p["statuses"].get(201, 0) for p in phases if p["kind"] == "baseline")
        base = summarise(measured["phases"], "baseline")
        use = summarise(measured["phases"], "use")
        floor = summarise(measured["phases"], "floor")
        queries_after = use_queries(data["nurse_token"], data["lot_code"], visit)

        print(f"database: {label}, {connection.cursor().connection.info.server_version}")
        print(
            f"gunicorn: {args.workers} sync workers, persistent DB connections; scan throttle: "
            f"{throttle_text()}; default cache: "
            f"{settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}"
            f"{' ' + cache_url if cache_url else ''}"
        )
        print(
            f"clients: {args.clients} concurrent connections from a separate process, "
            f"{args.rounds} rounds of {args.seconds:.0f} s per endpoint, alternated; "
            f"ledger {args.moves:,} moves before the run; CPUs: {os.cpu_count()}"
        )
        print(
            f"use scans sent: {measured['used']['lot'] + warm_used['used']['lot']} lot items, "
            f"{measured['used']['unit'] + warm_used['used']['unit']} units with a serial"
        )
        rows = [
            ("baseline (1 row, 1 txn)", base),
            ("scan API, no service", floor),
            ("use scan (charged)", use),
        ]
        for name, row in rows:
            rounds = ", ".join(f"{r:.0f}" for r in row["per_round"])
            print(
                f"  {name:<24} {row['rps']:7.1f} req/s (rounds: {rounds})  "
                f"p50 {row['p50']:6.1f} ms  p95 {row['p95']:6.1f} ms  answers {row['statuses']}"
            )
        ratio = use["rps"] / base["rps"]
        for refusal in [r for p in phases for r in p["refusals"]][:5]:
            print(f"  a refused request: {refusal}")
        of_floor = use["rps"] / floor["rps"]
        verdict = "met" if of_floor >= FLOOR_TARGET else "NOT met"
        print(
            f"ratio use / scan API before the service: {of_floor:.2f} "
            f"(target >= {FLOOR_TARGET:.2f}): {verdict}"
        )
        print(
            f"  against the baseline (the physical reference: one row, one transaction): "
            f"use / baseline {ratio:.2f}, scan API before the service / baseline "
            f"{floor['rps'] / base['rps']:.2f} (DRF, token auth, roles, throttle, validation, "
            f"department check)"
        )
        verdict = "met" if queries_after <= STATEMENTS_TARGET else "NOT met"
        print(
            f"use scan SQL statements (in-process): lot item {queries_before} before the load, "
            f"{queries_after} after it ({after['uses']:,} uses; target <= {STATEMENTS_TARGET}: "
            f"{verdict}); unit item {unit_queries}"
        )
        new_uses = after["uses"] - before["uses"]
        new_charges = after["charges"] - before["charges"]
        new_rows = after["baseline"] - before["baseline"]
        print(
            f"check: 201 answers to use scans {ok_use}, new Use rows {new_uses}, new charge "
            f"lines {new_charges}; baseline 201s {ok_base}, rows {new_rows}"
        )
        consistent = new_uses == ok_use and new_charges == ok_use and new_rows == ok_base
        agree = balances_agree()
        print(
            f"no lost or doubled charges: {'yes' if consistent else 'NO'}; "
            f"balances agree with the ledger: {'yes' if agree else 'NO'}"
        )
        # The ratio is a measurement on a shared machine, not a pass/fail: only lost or doubled
        # charges and balances out of step with the ledger fail the run.
        return 0 if consistent and agree else 1
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        cleanup()


if __name__ == "__main__":
    sys.exit(main())
