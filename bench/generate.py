#!/usr/bin/env python
"""A synthetic hospital, written with set-based SQL straight into the real tables.

Master data (departments and their locations, suppliers, consumables with five codes,
lots, approved price versions, platform and VBP prices), encounters with their doctor
orders, and then, day by day, the day's activity in time order, as the hospital's own
code would have recorded it:

- receipts (SUPPLIER -> store) with their receipt lines, issues (store -> ward) of what
  the wards use that day, bedside uses (ward -> PATIENT) with their ``Use`` rows, returns
  from patients (PATIENT -> ward) reversing the use's move;
- the charge of every scan-billed use at the price in force (same time, same department),
  refunded when the item comes back; HIS charges of the HIS-billed items keyed in once a
  day per encounter and item.

Anomalies are sprinkled in at fixed rates, so every reconciliation exception kind occurs
on every day (but STOCK_CONSUMPTION_VARIANCE: the hospital posts no stocktake):
HIS-billed uses left unbilled or short-billed (UNBILLED_USE, and VARIANCE_OVER_THRESHOLD
where a ward uses an item little) or keyed in as another item of their generic
classification (SUBSTITUTION), HIS charges on top of a scan-billed use (DUPLICATE_CHARGE)
or on an encounter that never used the item (CHARGE_WITHOUT_USE), HIS charges at another
price (PRICE_MISMATCH), encounter/item pairs without a doctor order
(CHARGE_WITHOUT_ORDER), orders for one unit charged more (CHARGE_OVER_ORDER), charges of
items that are not separately chargeable (SPLIT_CHARGE) or of self-pay items without
consent (SELF_PAY_WITHOUT_CONSENT), receipts above the purchase price
(PURCHASE_PRICE_MISMATCH), platform prices that fell below the purchase price
(FOUR_PRICE_MISALIGNED). On the last day some consumables get a new approved price at
noon, so the day has charges at two prices.

PostgreSQL only (``generate_series``, ``hashint8extended`` as a deterministic random
source). Used by ``bench/reconciliation.py``; on its own it fills a throwaway database:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/generate.py --days 3 --uses-per-day 5000 --keep
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import re
import sys
import time
from dataclasses import asdict, dataclass
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
CARE_SET = 12  # items an inpatient is given during a stay (syringes, dressings, lines...)
SUPPLIERS = 5


@dataclass(frozen=True)
class Shape:
    """What the synthetic hospital looks like."""

    consumables: int = 5000
    departments: int = 40  # one central store, the rest wards and theatres
    days: int = 15
    uses_per_day: int = 50_000
    stay_days: int = 5
    uses_per_encounter_day: int = 8
    formulary: int = 300  # items a ward stocks
    first_day: dt.date = dt.date(2025, 3, 1)

    @property
    def wards(self) -> int:
        return self.departments - 1

    @property
    def admitted_per_day(self) -> int:
        census = self.uses_per_day // self.uses_per_encounter_day
        return max(1, math.ceil(census / self.stay_days))

    @property
    def last_day(self) -> dt.date:
        return self.first_day + dt.timedelta(days=self.days - 1)

    def day_start(self, day: int) -> dt.datetime:
        date = self.first_day + dt.timedelta(days=day)
        return dt.datetime.combine(date, dt.time.min, tzinfo=SHANGHAI)


def H(expr: str, salt: int) -> str:
    """A deterministic non-negative pseudo-random integer of ``expr`` (SQL)."""
    return f"(hashint8extended(({expr})::bigint, {salt}) & 2147483647)"


# The price of consumable g before any change, to the cent (1.00 .. 1000.99 yuan).
BASE_PRICE = f"(round(({H('g', 11)} % 100000 + 100) / 100.0, 2))"
# Consumables whose platform price fell below the purchase price on day 3 (four-price).
MISALIGNED = "g % 500 = 7"
# The national insurance code of consumable g: four consumables share each generic
# classification (its first 10 characters), so that a charge and a use of two of them in one
# encounter can be a SUBSTITUTION.
INSURANCE_CODE = "'C' || lpad(((g - 1) / 4)::text, 9, '0') || lpad(g::text, 10, '0')"
# Consumables with a new approved price from noon of the last day.
REPRICED = "g % 500 = 11"
# Self-pay consumables (自费): no encounter signs a consent for them, and every encounter is
# insured, so each of their charge lines is a SELF_PAY_WITHOUT_CONSENT.
SELF_PAY = "g % 499 = 5"


def sibling(item: str) -> str:
    """Another consumable of the same generic classification as ``item`` (SQL)."""
    return f"((({item}) - 1) / 4) * 4 + 1 + ({item}) % 4"


def _master_sql(shape: Shape) -> list[tuple[str, dict]]:
    p = {
        "n": shape.consumables,
        "departments": shape.departments,
        "long_ago": shape.day_start(0) - dt.timedelta(days=365),
        "misaligned_at": shape.day_start(2),
    }
    return [
        (
            """INSERT INTO auth_user (password, is_superuser, username, first_name, last_name,
                   email, is_staff, is_active, date_joined)
               VALUES ('!', false, 'bench-pricing', '', '', '', false, true, now()),
                      ('!', false, 'bench-approver', '', '', '', false, true, now())""",
            p,
        ),
        (
            """INSERT INTO organisation_department (id, code, name, kind, is_active)
               SELECT g, CASE WHEN g = 1 THEN 'CK01' ELSE 'W' || lpad(g::text, 3, '0') END,
                      CASE WHEN g = 1 THEN '中心库房' ELSE '病区' || g END,
                      CASE WHEN g = 1 THEN 'store' WHEN g % 10 = 0 THEN 'theatre'
                           ELSE 'ward' END,
                      true
               FROM generate_series(1, %(departments)s) g""",
            p,
        ),
        # The virtual locations a migrated database holds already (inventory 0009) make way
        # for the numbering below; nothing refers to them yet.
        ("DELETE FROM organisation_location WHERE department_id IS NULL", p),
        (
            """INSERT INTO organisation_location (id, code, name, usage, department_id)
               SELECT id, 'DEPT-' || code, name, 'internal', id FROM organisation_department""",
            p,
        ),
        (
            """INSERT INTO organisation_location (id, code, name, usage, department_id)
               VALUES (%(departments)s + 1, 'SUPPLIER', '供应商 / supplier', 'supplier', NULL),
                      (%(departments)s + 2, 'PATIENT', '患者 / patient', 'patient', NULL),
                      (%(departments)s + 3, 'SCRAP', '报损 / scrap', 'scrap', NULL),
                      (%(departments)s + 4, 'ADJUSTMENT', '盘点调整 / adjustment',
                       'adjustment', NULL)""",
            p,
        ),
        (
            f"""INSERT INTO organisation_supplier (id, code, name, is_active, credit_code,
                    license_no)
                SELECT g, 'GYS' || lpad(g::text, 2, '0'), '供应商' || g, true, '', ''
                FROM generate_series(1, {SUPPLIERS}) g""",
            p,
        ),
        (
            f"""INSERT INTO consumables_consumable (id, material_code, name, spec, unit,
                   manufacturer, registration_no, category, value_class, tracking,
                   chargeable, billed_by, charge_code, order_code, insurance_code, is_active,
                   created_at, updated_at, insurance_class, insurance_restriction)
               SELECT g, 'WZ' || lpad(g::text, 8, '0'), '耗材' || g, '', '个', '', '', '',
                      CASE WHEN g % 10 = 0 THEN 'high' ELSE 'low' END,
                      CASE WHEN g % 10 = 0 THEN 'unit' WHEN g % 10 < 7 THEN 'lot'
                           ELSE 'none' END,
                      g % 37 <> 0,
                      CASE WHEN g % 10 < 6 THEN 'scan' ELSE 'his' END,
                      'JF' || lpad(g::text, 8, '0'), 'YZ' || lpad(g::text, 8, '0'),
                      {INSURANCE_CODE}, true, now(), now(),
                      CASE WHEN {SELF_PAY} THEN 'self_pay' ELSE 'covered' END, ''
               FROM generate_series(1, %(n)s) g""",
            p,
        ),
        (
            """INSERT INTO inventory_lot (id, consumable_id, lot_no, expiry)
               SELECT id, id, CASE WHEN tracking = 'none' THEN '' ELSE 'B' || id END,
                      DATE '2030-12-31'
               FROM consumables_consumable""",
            p,
        ),
        (
            f"""INSERT INTO consumables_priceversion (id, consumable_id, purchase_price,
                    charge_price, effective_from, status, origin, reason, proposed_at,
                    decision_reason)
                SELECT g, g, {BASE_PRICE}, {BASE_PRICE}, %(long_ago)s, 'approved',
                       'initial_load', '', now(), ''
                FROM generate_series(1, %(n)s) g""",
            p,
        ),
        (
            f"""INSERT INTO consumables_externalprice (consumable_id, kind, price,
                    effective_from, source, created_at)
                SELECT g, 'platform', round({BASE_PRICE} * 1.2, 2), %(long_ago)s, 'bench', now()
                FROM generate_series(1, %(n)s) g
                UNION ALL
                SELECT g, 'vbp', {BASE_PRICE}, %(long_ago)s, 'bench', now()
                FROM generate_series(1, %(n)s) g WHERE g % 4 = 0 AND NOT ({REPRICED})
                UNION ALL
                SELECT g, 'platform', round({BASE_PRICE} * 0.9, 2), %(misaligned_at)s,
                       'bench', now()
                FROM generate_series(1, %(n)s) g WHERE {MISALIGNED}
""",
            p,
        ),
    ]


def _repricing_sql(shape: Shape) -> list[tuple[str, dict]]:
    """New approved prices (and platform prices to match) from noon of the last day."""
    p = {"n": shape.consumables, "change_at": _change_at(shape)}
    return [
        (
            f"""INSERT INTO consumables_priceversion (id, consumable_id, purchase_price,
                    charge_price, effective_from, status, origin, reason, proposed_at,
                    proposed_by_id, decided_by_id, decided_at, decision_reason)
                SELECT %(n)s + g, g, round({BASE_PRICE} * 1.1, 2), round({BASE_PRICE} * 1.1, 2),
                       %(change_at)s, 'approved', 'proposal', '调价', now(),
                       (SELECT min(id) FROM auth_user), (SELECT max(id) FROM auth_user),
                       now(), ''
                FROM generate_series(1, %(n)s) g WHERE {REPRICED}""",
            p,
        ),
        (
            f"""INSERT INTO consumables_externalprice (consumable_id, kind, price,
                    effective_from, source, created_at)
                SELECT g, 'platform', round({BASE_PRICE} * 1.3, 2), %(change_at)s, 'bench', now()
                FROM generate_series(1, %(n)s) g WHERE {REPRICED}""",
            p,
        ),
    ]


def _change_at(shape: Shape) -> dt.datetime:
    return shape.day_start(shape.days - 1) + dt.timedelta(hours=12)


def _care_item(shape: Shape, enc: str, j: str) -> str:
    """The j-th item of an encounter's care set, from its ward's formulary (SQL)."""
    stride = max(1, shape.consumables // shape.wards)
    return (
        f"((({enc}) % {shape.wards}) * {stride} "
        f"+ ((({enc}) * 7 + ({j}) * 31) % {shape.formulary})) % {shape.consumables} + 1"
    )


def _admissions_sql(shape: Shape, first: int, last: int) -> list[tuple[str, dict]]:
    """Patients, encounters and their doctor orders of admission days [first, last), day 0
    being ``stay_days - 1`` days before the first day (so day 0 already has a full ward)."""
    p = {
        "first": first * shape.admitted_per_day + 1,
        "last": last * shape.admitted_per_day,
        "per_day": shape.admitted_per_day,
        "origin": shape.day_start(0) - dt.timedelta(days=shape.stay_days - 1),
    }
    ward = f"2 + e % {shape.wards}"
    return [
        (
            """INSERT INTO billing_patient (id, patient_id, name)
               SELECT e, 'P' || lpad(e::text, 9, '0'), '患者' || e
               FROM generate_series(%(first)s, %(last)s) e""",
            p,
        ),
        (
            f"""INSERT INTO billing_encounter (id, visit_no, patient_id, insurance_type,
                    department_id, admitted_at)
                SELECT e, 'ZY' || lpad(e::text, 9, '0'), e, '职工医保', {ward},
                       %(origin)s + ((e - 1) / %(per_day)s) * interval '1 day'
                                  + interval '2 hours'
                FROM generate_series(%(first)s, %(last)s) e""",
            p,
        ),
        # One doctor order per care item at admission, except for 0.5% of the pairs; it
        # covers the stay, except for 1% ordered for one unit (CHARGE_OVER_ORDER).
        (
            f"""INSERT INTO billing_doctororder (id, order_id, encounter_id, order_code,
                    quantity, ordered_at, doctor)
                SELECT e * {CARE_SET} + j, 'O' || e || '-' || j, e,
                       'YZ' || lpad(({_care_item(shape, "e", "j")})::text, 8, '0'),
                       CASE WHEN {H(f"e * {CARE_SET} + j", 12)} % 100 = 0 THEN 1 ELSE 50 END,
                       %(origin)s + ((e - 1) / %(per_day)s) * interval '1 day'
                                  + interval '3 hours',
                       '医生'
                FROM generate_series(%(first)s::bigint, %(last)s) e,
                     generate_series(0, {CARE_SET - 1}) j
                WHERE {H(f"e * {CARE_SET} + j", 6)} % 200 <> 0""",
            p,
        ),
    ]


def _day_sql(shape: Shape, day: int) -> list[tuple[str, dict]]:
    start = shape.day_start(day)
    last = day == shape.days - 1
    p = {
        "day": day,
        "start": start,
        "uses": shape.uses_per_day,
        "change_at": _change_at(shape) if last else start + dt.timedelta(days=10_000),
        "n": shape.consumables,
    }
    S, A = shape.stay_days, shape.admitted_per_day
    supplier_loc, patient_loc = shape.departments + 1, shape.departments + 2
    enc = f"(({day} - {H('n', 1)} % {S}) + {S} - 1) * {A} + {H('n', 2)} % {A} + 1"

    def price(at: str, item: str = "item", base: str = "base_price") -> str:
        """The charge price in force at ``at`` (the generator's own price schedule)."""
        return (
            f"CASE WHEN {item} % 500 = 11 AND {at} >= %(change_at)s "
            f"THEN round({base} * 1.1, 2) ELSE {base} END"
        )

    def version(at: str, item: str = "item") -> str:
        return (
            f"CASE WHEN {item} % 500 = 11 AND {at} >= %(change_at)s "
            f"THEN %(n)s + {item} ELSE {item} END"
        )

    his_at = "%(start)s + interval '23 hours 30 minutes'"
    later = "least(at + interval '1 hour', %(start)s + interval '23 hours 59 minutes')"
    return [
        # The day's uses, with ids taken from the real sequences, in time order.
        (
            f"""CREATE TEMP TABLE day_use ON COMMIT DROP AS
                WITH g AS (
                    SELECT n, {enc} AS enc, {H("n", 3)} % {CARE_SET} AS j
                    FROM generate_series(1::bigint, %(uses)s) n
                ), u AS (
                    SELECT g.n, g.enc, g.j, {_care_item(shape, "g.enc", "g.j")} AS item,
                           %(start)s + interval '1 second'
                               * (30 + (g.n - 1) * (86400 - 120) / %(uses)s) AS at
                    FROM g
                )
                SELECT u.n, u.enc, 'ZY' || lpad(u.enc::text, 9, '0') AS visit_no,
                       2 + u.enc % {shape.wards} AS dept, u.item, u.at,
                       CASE WHEN c.tracking = 'unit' THEN 1
                            ELSE 1 + ({H("u.n", 4)} % 10 = 0)::int END AS qty,
                       c.chargeable AND (c.tracking = 'unit' OR c.billed_by = 'scan')
                           AS scan_billed,
                       c.chargeable AND NOT (c.tracking = 'unit' OR c.billed_by = 'scan')
                           AS his_billed,
                       CASE WHEN {H(f"u.enc * {CARE_SET} + u.j", 6)} % 200 <> 0
                            THEN u.enc * {CARE_SET} + u.j END AS order_id,
                       c.tracking <> 'unit' AND c.billed_by = 'scan' AND c.chargeable
                           AND {H("u.n", 5)} % 200 = 0
                           AND u.at < %(start)s + interval '22 hours' AS returned,
                       pv0.charge_price AS base_price,
                       {price("u.at", "c.id", "pv0.charge_price")} AS price,
                       {version("u.at", "c.id")} AS version,
                       'YZ' || lpad(u.item::text, 8, '0') AS order_code,
                       nextval('inventory_stockmove_id_seq') AS move_id,
                       nextval('billing_use_id_seq') AS use_id,
                       nextval('billing_chargeline_id_seq') AS charge_id
                FROM u JOIN consumables_consumable c ON c.id = u.item
                       JOIN consumables_priceversion pv0 ON pv0.id = c.id
                ORDER BY u.n""",
            p,
        ),
        # What the store receives and issues: what the wards use that day.
        (
            f"""INSERT INTO inventory_receipt (id, supplier_id, invoice_no, department_id,
                    ownership, created_at)
                SELECT %(day)s * {SUPPLIERS} + s, s, 'INV' || %(day)s || '-' || s, 1,
                       'owned', %(start)s
                FROM generate_series(1, {SUPPLIERS}) s""",
            p,
        ),
        (
            """CREATE TEMP TABLE day_item ON COMMIT DROP AS
               SELECT item, sum(qty) AS qty, min(price) AS price,
                      nextval('inventory_stockmove_id_seq') AS move_id
               FROM day_use GROUP BY item ORDER BY item""",
            p,
        ),
        (
            f"""INSERT INTO inventory_stockmove (id, kind, quantity, occurred_at, recorded_at,
                    note, consumable_id, from_location_id, lot_id, to_location_id,
                    encounter_no)
                SELECT move_id, 'receive', qty,
                       %(start)s + interval '7 hours' + (item % 3600) * interval '1 second',
                       now(), '', item, {supplier_loc}, item, 1, ''
                FROM day_item""",
            p,
        ),
        (
            f"""INSERT INTO inventory_receiptline (receipt_id, move_id, consumable_id, lot_id,
                    quantity, unit_cost, purchase_price, price_mismatch, received_at)
                SELECT %(day)s * {SUPPLIERS} + 1 + item % {SUPPLIERS}, move_id, item, item, qty,
                       CASE WHEN {H("item + %(day)s * 7919", 10)} % 100 = 0
                            THEN round(pv.purchase_price * 1.02, 2)
                            ELSE pv.purchase_price END,
                       pv.purchase_price,
                       {H("item + %(day)s * 7919", 10)} % 100 = 0,
                       %(start)s + interval '7 hours' + (item % 3600) * interval '1 second'
                FROM day_item JOIN consumables_priceversion pv ON pv.id = item""",
            p,
        ),
        (
            """INSERT INTO inventory_stockmove (kind, quantity, occurred_at, recorded_at, note,
                   consumable_id, from_location_id, lot_id, to_location_id, encounter_no)
               SELECT 'issue', sum(qty),
                      %(start)s + interval '8 hours' + (item % 3600) * interval '1 second',
                      now(), '', item, 1, item, dept, ''
               FROM day_use GROUP BY dept, item ORDER BY dept, item""",
            p,
        ),
        (
            f"""INSERT INTO inventory_stockmove (id, kind, quantity, occurred_at, recorded_at,
                    note, consumable_id, from_location_id, lot_id, to_location_id,
                    encounter_no)
                SELECT move_id, 'use', qty, at, now(), '', item, dept, item, {patient_loc},
                       visit_no
                FROM day_use ORDER BY n""",
            p,
        ),
        (
            """INSERT INTO billing_use (id, event_id, encounter_id, move_id, department_id,
                   consumable_id, lot_id, quantity, returned_quantity, order_id, occurred_at,
                   warnings)
               SELECT use_id, lpad(to_hex(use_id), 32, '0')::uuid, enc, move_id, dept, item,
                      item, qty, returned::int, order_id, at,
                      CASE WHEN order_id IS NULL THEN '["NO_ORDER"]' ELSE '[]' END::jsonb
               FROM day_use ORDER BY n""",
            p,
        ),
        # Returns from patients, an hour later, reversing the use's move.
        (
            f"""INSERT INTO inventory_stockmove (kind, quantity, occurred_at, recorded_at,
                    note, consumable_id, from_location_id, lot_id, to_location_id,
                    encounter_no, reverses_id)
                SELECT 'return', 1, at + interval '1 hour', now(), '', item, {patient_loc},
                       item, dept, visit_no, move_id
                FROM day_use WHERE returned ORDER BY n""",
            p,
        ),
        # The charge of each scan-billed use, same time and department, at the price in force.
        (
            """INSERT INTO billing_chargeline (id, event_id, encounter_id, consumable_id,
                   use_id, material_code, charge_code, order_code, insurance_code, udi_di,
                   quantity, unit_price, amount, price_version_id, self_pay, source,
                   order_id, department_id, charged_at, refunded_quantity)
               SELECT charge_id, lpad(to_hex(use_id), 32, '0')::uuid, enc, item, use_id,
                      'WZ' || lpad(item::text, 8, '0'), 'JF' || lpad(item::text, 8, '0'),
                      order_code, 'C' || lpad(item::text, 19, '0'), '', qty, price,
                      round(price * qty, 2), version, false, 'scan', order_id, dept, at,
                      returned::int
               FROM day_use WHERE scan_billed ORDER BY n""",
            p,
        ),
        (
            """INSERT INTO billing_chargerefund (event_id, charge_id, quantity, amount,
                   refunded_at, reason)
               SELECT lpad(to_hex(use_id), 32, 'f')::uuid, charge_id, 1, round(price, 2),
                      at + interval '1 hour', '患者未使用退回 / returned unused'
               FROM day_use WHERE returned AND scan_billed ORDER BY n""",
            p,
        ),
        # HIS charges keyed in at night: the HIS-billed items, once per encounter and item,
        # with 0.5% not keyed in, 0.5% keyed in as another item of the same generic
        # classification (SUBSTITUTION, without an order), 0.5% short by one and 0.5% at
        # another price; 0.3% of the scan-billed uses charged again at HIS; 0.05% charged
        # on the next encounter, which never used the item; 2% of the uses of items that
        # are not separately chargeable charged all the same (SPLIT_CHARGE).
        (
            f"""WITH his AS (
                    SELECT enc, item, min(dept) AS dept, sum(qty) AS qty,
                           min(base_price) AS base_price, min(order_id) AS order_id,
                           min(order_code) AS order_code,
                           {H("enc * %(n)s + item + %(day)s * 7919", 7)} % 1000 AS r
                    FROM day_use WHERE his_billed GROUP BY enc, item
                ), lines AS (
                    SELECT enc, item, dept,
                           CASE WHEN r BETWEEN 15 AND 19 THEN qty - 1 ELSE qty END AS qty,
                           CASE WHEN r BETWEEN 10 AND 14 THEN round({price(his_at)} * 1.05, 2)
                                ELSE {price(his_at)} END AS price,
                           {version(his_at)} AS version, order_id, order_code, {his_at} AS at
                    FROM his WHERE r >= 10
                    UNION ALL
                    SELECT s.enc, s.item, s.dept, s.qty,
                           {price(his_at, "s.item", "pv.charge_price")},
                           {version(his_at, "s.item")}, NULL,
                           'YZ' || lpad(s.item::text, 8, '0'), {his_at}
                    FROM (SELECT enc, {sibling("item")} AS item, dept, qty
                          FROM his WHERE r BETWEEN 5 AND 9) s
                    JOIN consumables_priceversion pv ON pv.id = s.item
                    UNION ALL
                    SELECT enc, item, dept, qty, {price(later)}, {version(later)}, order_id,
                           order_code, {later}
                    FROM day_use WHERE NOT scan_billed AND NOT his_billed
                       AND {H("n", 13)} % 50 = 0
                    UNION ALL
                    SELECT enc, item, dept, qty, {price(later)}, {version(later)}, NULL,
                           order_code, {later}
                    FROM day_use WHERE scan_billed AND {H("n", 8)} % 1000 < 3
                    UNION ALL
                    SELECT enc + 1, item, 2 + (enc + 1) % {shape.wards}, qty, {price(later)},
                           {version(later)}, NULL, order_code, {later}
                    FROM day_use WHERE scan_billed AND {H("n", 9)} % 2000 = 0
                       AND enc + 1 <= {(day + S) * A}
                )
                INSERT INTO billing_chargeline (event_id, encounter_id, consumable_id,
                    material_code, charge_code, order_code, insurance_code, udi_di, quantity,
                    unit_price, amount, price_version_id, self_pay, source, order_id,
                    department_id, charged_at, refunded_quantity)
                SELECT gen_random_uuid(), enc, item, 'WZ' || lpad(item::text, 8, '0'),
                       'JF' || lpad(item::text, 8, '0'), order_code,
                       'C' || lpad(item::text, 19, '0'), '', qty, price, round(price * qty, 2),
                       version, false, 'his', order_id, dept, at, 0
                FROM lines WHERE qty > 0 ORDER BY at, enc, item""",
            p,
        ),
    ]


ANALYZED = (
    "inventory_stockmove",
    "billing_use",
    "billing_chargeline",
    "billing_chargerefund",
    "billing_doctororder",
    "billing_encounter",
    "inventory_receiptline",
    "consumables_priceversion",
    "consumables_externalprice",
    "consumables_consumable",
)


def _literal(value) -> str:
    if isinstance(value, dt.datetime):
        return f"'{value.isoformat()}'::timestamptz"
    if isinstance(value, int):
        return str(value)
    raise TypeError(value)


def _run(cursor, statements: list[tuple[str, dict]]) -> None:
    """Our own numbers and instants only: rendered as literals, so ``%`` stays modulo."""
    for sql, params in statements:
        values = {name: _literal(value) for name, value in params.items()}
        cursor.execute(re.sub(r"%\((\w+)\)s", lambda m, v=values: v[m.group(1)], sql))


def _day(cursor, shape: Shape, day: int) -> int:
    """Write one day (its admissions first); return the number of moves written."""
    _run(cursor, _admissions_sql(shape, day + shape.stay_days - 1, day + shape.stay_days))
    if day == shape.days - 1:
        _run(cursor, _repricing_sql(shape))
    moves = 0
    for sql, params in _day_sql(shape, day):
        _run(cursor, [(sql, params)])
        if "INTO inventory_stockmove" in sql:
            moves += cursor.rowcount
    cursor.execute("DROP TABLE day_use")
    cursor.execute("DROP TABLE day_item")
    return moves


def generate(
    shape: Shape, *, moves: int | None = None, bulk: bool = True, progress=None
) -> tuple[Shape, dict]:
    """Fill the (migrated, empty) default database with ``shape``: its ``days``, or, with
    ``moves``, as many days as make a ledger of about that many moves (the first day tells
    how many a day makes). Return the shape generated and its counts.

    ``bulk`` (a throwaway benchmark database, superuser): each day in its own transaction,
    foreign-key triggers off while loading (every reference is made by construction),
    autovacuum off, then VACUUM ANALYZE as autovacuum would have done. Without it (inside a
    test's transaction) the foreign keys are checked at the end.
    """
    from dataclasses import replace

    from django.db import connection, transaction

    from inventory.ledger import forget_virtual_locations

    started = time.perf_counter()
    written = 0
    with connection.cursor() as cursor:
        if bulk:
            cursor.execute("SET synchronous_commit = off")
            cursor.execute("SET session_replication_role = replica")
            for table in ANALYZED:
                cursor.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
        with transaction.atomic():
            _run(cursor, _master_sql(shape))
            _run(cursor, _admissions_sql(shape, 0, shape.stay_days - 1))
        day = 0
        while day < shape.days:
            with transaction.atomic():
                written += _day(cursor, shape, day)
            if day == 0 and moves:
                shape = replace(shape, days=max(1, round(moves / written)))
            day += 1
            if progress:
                progress(day, shape.days, written, time.perf_counter() - started)
        _fix_sequences(cursor)
        if bulk:
            cursor.execute("SET session_replication_role = DEFAULT")
            for table in ANALYZED:
                cursor.execute(f"ALTER TABLE {table} RESET (autovacuum_enabled)")
        else:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    if bulk:
        # VACUUM cannot run in a transaction block; autocommit is on outside atomic().
        with connection.cursor() as cursor:
            for table in ANALYZED:
                cursor.execute(f"VACUUM (ANALYZE) {table}")
    forget_virtual_locations()  # renumbered above: the ids the ledger kept are gone
    counts = {"moves": written, "seconds": round(time.perf_counter() - started, 1)}
    return shape, counts


def _fix_sequences(cursor) -> None:
    """Rows written with explicit ids: move each identity sequence past the largest id."""
    cursor.execute(
        """SELECT c.relname, a.attname FROM pg_class c
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attidentity <> ''
           WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace"""
    )
    for table, column in cursor.fetchall():
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
            f"coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)"
        )


def parse_shape(argv=None) -> tuple[Shape, argparse.Namespace]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = Shape()
    parser.add_argument("--consumables", type=int, default=default.consumables)
    parser.add_argument("--departments", type=int, default=default.departments)
    parser.add_argument("--days", type=int, default=default.days)
    parser.add_argument("--uses-per-day", type=int, default=default.uses_per_day)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--database", default="wuma_bench_recon_generate")
    args = parser.parse_args(argv)
    shape = Shape(
        consumables=args.consumables,
        departments=args.departments,
        days=args.days,
        uses_per_day=args.uses_per_day,
    )
    return shape, args


def print_progress(day: int, days: int, moves: int, seconds: float) -> None:
    print(f"  day {day}/{days}: {moves:,} moves, {seconds:.0f} s", flush=True)


def main(argv=None) -> int:
    from common import django_setup, throwaway_database

    shape, args = parse_shape(argv)
    label, cleanup = throwaway_database(args.database)
    if not label.startswith("PostgreSQL"):
        cleanup()
        print("bench/generate.py needs DATABASE_URL=postgres://...", file=sys.stderr)
        return 2
    try:
        django_setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        shape, counts = generate(shape, progress=print_progress)
        print(f"{label}: {asdict(shape)} {counts}")
    finally:
        if not args.keep:
            cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
