#!/usr/bin/env python
"""Benchmark of the code-conflict report: a staging import of 30,000 materials, 8,000 of
them in conflict, then the report.

Runs against a throwaway database of its own, never the project's:
- DATABASE_URL=postgres://...: creates (and afterwards drops) ``wuma_bench_conflicts``;
- otherwise: a temporary SQLite file.

The HRP file has one row per material (five codes each, the order code included) plus, for
the conflicts, 2,000 each of: a second row giving a material another charge code
(MATERIAL_MULTI_CHARGE), a material carrying another material's charge code
(CHARGE_MULTI_MATERIAL), insurance code (INSURANCE_MULTI_MATERIAL) or DI
(DI_MULTI_MATERIAL). The script checks the report finds exactly those, then prints:

(a) baseline, measured in the same run: reading the CSV with the csv module and a plain
    ``bulk_create`` of the same rows into the staging table (no checks, no history);
(b) the staging import (``staging_import``: import_master's row check per row, history rows,
    the snapshot);
(c) the conflict report: the summary of every kind (one statement) plus the first page of
    every kind, with its SQL query count, then a full export of one kind;
and the ratios to the baseline. ``--promote`` also times promoting the clean materials.

    .venv/bin/python bench/conflict_report.py [--materials 30000] [--conflicts 8000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/conflict_report.py [--promote]
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

from common import count_queries, django_setup, throwaway_database

BENCH_DB = "wuma_bench_conflicts"
COLUMNS = [
    "material_code", "name", "spec", "unit", "manufacturer", "chargeable", "charge_code",
    "order_code", "insurance_code", "udi_di", "units_per_package",
]  # fmt: skip
KINDS = ("MATERIAL_MULTI_CHARGE", "CHARGE_MULTI_MATERIAL", "INSURANCE_MULTI_MATERIAL",
         "DI_MULTI_MATERIAL")  # fmt: skip


def generate_csv(path: Path, materials: int, conflicts: int) -> int:
    """The HRP export; returns its number of data rows. Each conflict touches its own
    materials, so the report must count exactly ``conflicts``."""
    from consumables.udi import gtin_check_digit

    def gtin(n: int) -> str:
        body = f"0690{n:09d}"
        return body + gtin_check_digit(body)

    def codes(n: int) -> dict:
        return {
            "material_code": f"WZ{n:08d}",
            "name": f"一次性使用无菌注射器 {n}",
            "spec": "5ml",
            "unit": "支",
            "manufacturer": f"测试医疗器械有限公司{n % 400:03d}",
            "chargeable": "1",
            "charge_code": f"JF{n:08d}",
            "order_code": f"YZ{n:08d}",
            "insurance_code": f"C14010100{n:011d}",
            "udi_di": gtin(n),
            "units_per_package": "1",
        }

    per_kind = conflicts // len(KINDS)
    assert per_kind * len(KINDS) == conflicts and 2 * conflicts <= materials
    rows = [codes(n) for n in range(1, materials + 1)]
    extra = []
    # Conflict i of kind k uses materials a = 2*(k*per_kind + i) + 1 and b = a + 1.
    for k, kind in enumerate(KINDS):
        for i in range(per_kind):
            a = 2 * (k * per_kind + i) + 1
            row_a, row_b = rows[a - 1], rows[a]
            if kind == "MATERIAL_MULTI_CHARGE":
                extra.append({"material_code": row_a["material_code"], "name": row_a["name"],
                              "charge_code": f"JFX{a:08d}"})  # fmt: skip
            elif kind == "CHARGE_MULTI_MATERIAL":
                row_a["charge_code"], row_a["order_code"] = row_b["charge_code"], None
            elif kind == "INSURANCE_MULTI_MATERIAL":
                row_a["insurance_code"] = row_b["insurance_code"]
            else:
                row_a["udi_di"] = row_b["udi_di"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for row in [*rows, *extra]:
            writer.writerow({k: (v or "") for k, v in row.items()})
    return len(rows) + len(extra)


def baseline(path: Path) -> float:
    """Read the CSV and bulk_create staging rows: no checks, no history, no snapshot."""
    from consumables.models import StagingImport, StagingRow

    started = time.perf_counter()
    batch = StagingImport.objects.create(source="hrp", file_name=path.name)
    objs = []
    with open(path, newline="", encoding="utf-8") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            objs.append(
                StagingRow(
                    batch=batch, source="hrp", line=line, status="superseded",
                    material_code=row["material_code"] or None,
                    charge_code=row["charge_code"] or None,
                    order_code=row["order_code"] or None,
                    insurance_code=row["insurance_code"] or None,
                    udi_di=row["udi_di"] or None,
                    units_per_package=int(row["units_per_package"] or 1),
                    name=row["name"], spec=row["spec"], unit=row["unit"],
                    manufacturer=row["manufacturer"], chargeable=row["chargeable"] == "1",
                )
            )  # fmt: skip
    StagingRow.objects.bulk_create(objs, batch_size=1000)
    elapsed = time.perf_counter() - started
    StagingRow.objects.all()._raw_delete(StagingRow.objects.db)
    StagingImport.objects.all().delete()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--materials", type=int, default=30000)
    parser.add_argument("--conflicts", type=int, default=8000)
    parser.add_argument("--promote", action="store_true", help="also time the promotion")
    args = parser.parse_args()

    label, cleanup = throwaway_database(BENCH_DB)
    try:
        django_setup()
        from django.core.management import call_command

        from consumables.staging.conflicts import KINDS as ALL_KINDS
        from consumables.staging.conflicts import conflict_keys, conflict_summary
        from consumables.staging.loading import staging_import
        from consumables.staging.selectors import export_rows

        call_command("migrate", verbosity=0)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "hrp_materials.csv"
            file_rows = generate_csv(path, args.materials, args.conflicts)
            print(f"database: {label}")
            print(f"file: {args.materials} materials, {file_rows} rows, "
                  f"{args.conflicts} conflicts planted")  # fmt: skip

            base = baseline(path)

            started = time.perf_counter()
            with count_queries() as import_queries:
                batch = staging_import(path=path, source="hrp")
            staged = time.perf_counter() - started
            assert batch.rows_loaded == file_rows and not batch.errors, batch.errors[:5]

        started = time.perf_counter()
        with count_queries() as summary_queries:
            summary = conflict_summary()
        summary_time = time.perf_counter() - started
        started = time.perf_counter()
        with count_queries() as report_queries:
            conflict_summary()
            pages = {kind: conflict_keys(kind, limit=50) for kind in ALL_KINDS}
        report_time = time.perf_counter() - started
        started = time.perf_counter()
        exported = sum(1 for _ in export_rows("DI_MULTI_MATERIAL"))
        export_time = time.perf_counter() - started

        per_kind = args.conflicts // len(KINDS)
        expected = {kind: (per_kind if kind in KINDS else 0) for kind in ALL_KINDS}
        assert summary.counts == expected, summary.counts
        assert summary.materials_pending == args.materials
        assert all(len(pages[k]) == 50 for k in KINDS)

        n = file_rows
        print(f"baseline read CSV + bulk_create staging rows: {base:.2f} s ({n / base:.0f} rows/s)")
        print(f"staging import: {staged:.2f} s ({n / staged:.0f} rows/s), "
              f"{import_queries['n']} queries; ratio to baseline {staged / base:.1f}x")
        print(f"conflict summary (13 kinds, clean count): {summary_time:.2f} s, "
              f"{summary_queries['n']} query; {summary.total} conflicts, "
              f"{summary.materials_clean} of {summary.materials_pending} materials clean")
        print(f"conflict report (summary + first page of every kind): {report_time:.2f} s, "
              f"{report_queries['n']} queries; ratio to baseline {report_time / base:.2f}x")
        print(f"export of DI_MULTI_MATERIAL ({exported} rows): {export_time:.2f} s, 1 query")
        if args.promote:
            from django.contrib.auth import get_user_model

            from consumables.staging.promotion import staging_promote

            user = get_user_model().objects.create_user("bench")
            started = time.perf_counter()
            with count_queries() as promote_queries:
                result = staging_promote(user=user)
            promoted = time.perf_counter() - started
            assert len(result.promoted) == summary.materials_clean, result.refused
            print(f"promotion of {len(result.promoted)} clean materials through import_master: "
                  f"{promoted:.1f} s, {promote_queries['n']} queries")
        return 0
    finally:
        cleanup()


if __name__ == "__main__":
    sys.exit(main())
