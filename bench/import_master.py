#!/usr/bin/env python
"""Benchmark of import_master: 30,000 consumables into an empty master, then a re-import.

Runs against a throwaway database of its own, never the project's:
- DATABASE_URL=postgres://...: creates (and afterwards drops) the database
  ``wuma_bench_import`` on that server;
- otherwise: a temporary SQLite file.

Prints (a) the import into an empty master, (b) the re-import of the same file (all rows
unchanged), (c) a baseline measured in the same run: reading the CSV and a raw
``Consumable.objects.bulk_create`` of the same rows without validation or history, and the
ratios and SQL query counts.

    .venv/bin/python bench/import_master.py [--rows 30000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/import_master.py
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
from pathlib import Path

from common import count_queries, django_setup, throwaway_database

BENCH_DB = "wuma_bench_import"

COLUMNS = [
    "material_code", "name", "spec", "unit", "manufacturer", "value_class", "tracking",
    "chargeable", "billed_by", "charge_code", "order_code", "insurance_code", "udi_di",
    "units_per_package", "platform_price", "vbp_price", "purchase_price", "charge_price",
    "price_effective_from", "registration_no", "category",
]  # fmt: skip


def generate_csv(path: Path, rows: int, seed: int = 20250310) -> int:
    """consumables.csv with ``rows`` consumables; ~10% get a second package level row."""
    from consumables.udi import gtin_check_digit

    def gtin14(n: int, indicator: str = "0") -> str:
        body = f"{indicator}690{n:09d}"
        return body + gtin_check_digit(body)

    random.seed(seed)
    written = 0
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for n in range(1, rows + 1):
            high = random.random() < 0.2
            purchase = random.randint(100, 500_000) / 100
            platform = round(purchase * random.uniform(1.0, 1.3), 2)
            in_vbp = random.random() < 0.25
            name = random.choice(["一次性使用无菌注射器", "医用外科口罩", "输液器", "导尿管"])
            row = [
                f"WZ{n:08d}",
                f"{name} {n}",
                random.choice(["5ml", "10ml", "20G", "Φ3.0×18mm", "成人型"]),
                random.choice(["支", "个", "套", "包"]),
                f"测试医疗器械有限公司{n % 400:03d}",
                "high" if high else "low",
                "unit" if high else random.choice(["lot", "none"]),
                "1",
                "",
                f"JF{n:08d}",
                f"YZ{n:08d}",
                f"C14010100{n:011d}",
                gtin14(n) if n % 50 else gtin14(n)[1:],  # every 50th as its GTIN-13
                "1",
                f"{platform:.2f}",
                f"{purchase:.2f}" if in_vbp else "",
                f"{purchase:.2f}",
                f"{purchase:.2f}",
                "2025-01-01",
                f"国械注准2025{n:07d}",
                random.choice(["注射穿刺器械", "医用卫生材料", "骨科植入"]),
            ]
            writer.writerow(row)
            written += 1
            if n % 10 == 0:  # a box of 10 as a second package level
                box = ["" for _ in COLUMNS]
                box[0], box[12], box[13] = row[0], gtin14(n, indicator="1"), "10"
                writer.writerow(box)
                written += 1
    return written


def baseline(path: Path) -> float:
    """Read the CSV and bulk_create the consumables: no validation, no history, no prices."""
    from consumables.models import Consumable

    started = time.perf_counter()
    objs = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if not row["name"]:
                continue
            objs.append(
                Consumable(
                    material_code=row["material_code"],
                    name=row["name"],
                    spec=row["spec"],
                    unit=row["unit"],
                    manufacturer=row["manufacturer"],
                    registration_no=row["registration_no"],
                    category=row["category"],
                    value_class=row["value_class"],
                    tracking=row["tracking"],
                    chargeable=row["chargeable"] == "1",
                    billed_by="scan" if row["tracking"] == "unit" else "his",
                    charge_code=row["charge_code"],
                    order_code=row["order_code"],
                    insurance_code=row["insurance_code"],
                )
            )
    Consumable.objects.bulk_create(objs, batch_size=1000)
    elapsed = time.perf_counter() - started
    Consumable.objects.all()._raw_delete(Consumable.objects.db)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=30000, help="consumables (default 30000)")
    args = parser.parse_args()

    label, cleanup = throwaway_database(BENCH_DB)
    try:
        django_setup()
        from django.core.management import call_command

        from consumables.importing import import_master

        call_command("migrate", verbosity=0)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "consumables.csv"
            file_rows = generate_csv(path, args.rows)
            print(f"database: {label}")
            print(f"file: {args.rows} consumables, {file_rows} rows (10% with a second DI)")

            base = baseline(path)

            started = time.perf_counter()
            with count_queries() as queries:
                report = import_master(consumables_path=path)
            first = time.perf_counter() - started
            assert report.created == args.rows and not report.errors, report.lines()[:12]

            started = time.perf_counter()
            with count_queries() as requeries:
                again = import_master(consumables_path=path)
            second = time.perf_counter() - started
            assert again.unchanged == args.rows and not again.errors, again.lines()[:12]

        n = args.rows
        print(
            f"import {n} rows: {first:.1f} s ({n / first:.0f} rows/s); queries: {queries['n']}"
            f" (created {report.created}, DIs {report.device_identifiers_created}, "
            f"platform/VBP prices {report.external_prices_created}, "
            f"prices approved {report.prices_approved})"
        )
        print(
            f"reimport {n} rows (all unchanged): {second:.1f} s ({n / second:.0f} rows/s); "
            f"queries: {requeries['n']}"
        )
        written = 2 * (
            report.created
            + report.device_identifiers_created
            + report.external_prices_created
            + report.prices_approved
        )
        print(f"baseline read CSV + bulk_create: {base:.1f} s ({n / base:.0f} rows/s)")
        print(
            f"rows written: import {written} (consumables, DIs, platform/VBP prices, price "
            f"versions, each with its history row) vs baseline {n}: {written / n:.1f}x"
        )
        print(
            f"ratio import/baseline: {first / base:.1f}x; reimport/baseline: {second / base:.1f}x"
        )
        return 0
    finally:
        cleanup()


if __name__ == "__main__":
    sys.exit(main())
