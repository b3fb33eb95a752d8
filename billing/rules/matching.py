"""Uses matched against charges per encounter and item, in one statement: UNBILLED_USE,
SUBSTITUTION, DUPLICATE_CHARGE, CHARGE_WITHOUT_USE and CHARGE_OVER_ORDER (definitions in
``billing.rules``)."""

from __future__ import annotations

import datetime as dt

from django.db import connection

from .kinds import (
    CHARGE_OVER_ORDER,
    GENERIC_PREFIX,
    SUBSTITUTION,
    UNBILLED_USE,
    Finding,
)
from .sql import as_price, encounter_ids, fetch, id_list, sql_params

_PAIR = "{a}.encounter_id = {b}.encounter_id AND {a}.consumable_id = {b}.consumable_id"

# The approved charge price in force at the cut-off of one item (the rule of PRICE_SPANS), for
# the few SUBSTITUTION rows only.
_CHARGE_PRICE = """
SELECT pv.charge_price FROM consumables_priceversion pv
WHERE pv.consumable_id = {item} AND pv.status = 'approved' AND pv.effective_from < %(until)s
ORDER BY pv.effective_from DESC, pv.decided_at DESC NULLS FIRST, pv.id DESC LIMIT 1
"""


def _doctors() -> str:
    """SQL: the distinct doctors of the orders ``o`` as one text (the one aggregate the two
    databases spell differently; SQLite 3.40 has no STRING_AGG)."""
    if connection.vendor == "postgresql":
        return "STRING_AGG(DISTINCT o.doctor, ',' ORDER BY o.doctor)"
    return "GROUP_CONCAT(DISTINCT o.doctor)"


# One row per event of the encounters concerned before the cut-off, each in its own column,
# then one GROUP BY per encounter and item: no join between the four kinds of event. The
# uses and charges are read by range scans of (encounter, consumable, time) indexes; only
# the few uses and lines that ever had a return or a refund (partial indexes) are looked up
# for timed returns and refunds.
MATCHING_SQL = """
WITH enc AS MATERIALIZED ({encounters}),
returned_uses AS MATERIALIZED (
    SELECT u.encounter_id, u.consumable_id,
           (SELECT SUM(r.quantity) FROM inventory_stockmove r
            WHERE r.reverses_id = u.move_id AND r.kind = 'return'
              AND r.occurred_at < %(until)s) AS quantity,
           (SELECT MAX(r.occurred_at) FROM inventory_stockmove r
            WHERE r.reverses_id = u.move_id AND r.kind = 'return'
              AND r.occurred_at < %(until)s) AS at
    FROM billing_use u
    WHERE {returned_of_enc} AND u.returned_quantity > 0
),
refunded_lines AS MATERIALIZED (
    SELECT c.encounter_id, c.consumable_id,
           (SELECT SUM(f.quantity) FROM billing_chargerefund f
            WHERE f.charge_id = c.id AND f.refunded_at < %(until)s) AS quantity,
           (SELECT MAX(f.refunded_at) FROM billing_chargerefund f
            WHERE f.charge_id = c.id AND f.refunded_at < %(until)s) AS at
    FROM billing_chargeline c
    WHERE {refunded_of_enc} AND c.refunded_quantity > 0
),
events AS (
    SELECT u.encounter_id, u.consumable_id, u.quantity AS used, 0 AS returned,
           0 AS charged, 0 AS refunded, u.occurred_at AS at
    FROM billing_use u
    WHERE u.encounter_id IN (SELECT encounter_id FROM enc) AND u.occurred_at < %(until)s
    UNION ALL
    SELECT encounter_id, consumable_id, 0, quantity, 0, 0, at
    FROM returned_uses WHERE quantity IS NOT NULL
    UNION ALL
    SELECT c.encounter_id, c.consumable_id, 0, 0, c.quantity, 0, c.charged_at
    FROM billing_chargeline c
    WHERE c.encounter_id IN (SELECT encounter_id FROM enc) AND c.charged_at < %(until)s
    UNION ALL
    SELECT encounter_id, consumable_id, 0, 0, 0, quantity, at
    FROM refunded_lines WHERE quantity IS NOT NULL
),
figures AS MATERIALIZED (
    SELECT encounter_id, consumable_id, CAST(SUM(used) AS integer) AS used,
           CAST(SUM(returned) AS integer) AS returned, CAST(SUM(charged) AS integer) AS charged,
           CAST(SUM(refunded) AS integer) AS refunded,
           CASE WHEN {active} THEN 1 ELSE 0 END AS active
    FROM events
    GROUP BY encounter_id, consumable_id
),
items AS MATERIALIZED (
    SELECT x.*, x.used - x.returned AS net_used, x.charged - x.refunded AS net_charged,
           k.chargeable, k.order_code,
           CASE WHEN k.tracking = 'unit' OR k.billed_by = 'scan' THEN 1 ELSE 0 END AS scan,
           CASE WHEN LENGTH(k.insurance_code) >= 10
                THEN SUBSTR(k.insurance_code, 1, 10) END AS generic
    FROM figures x JOIN consumables_consumable k ON k.id = x.consumable_id
),
swaps AS MATERIALIZED (
    SELECT a.encounter_id, a.consumable_id, b.consumable_id AS other_id,
           b.net_used AS other_used, b.net_charged AS other_charged, b.active AS other_active
    FROM items a JOIN items b ON b.encounter_id = a.encounter_id AND b.generic = a.generic
         AND b.consumable_id <> a.consumable_id
    WHERE a.net_charged > a.net_used AND b.net_used > b.net_charged AND b.chargeable
),
swapped AS (
    SELECT encounter_id, consumable_id, MAX(other_active) AS other_active
    FROM swaps GROUP BY encounter_id, consumable_id
),
over_order AS (
    SELECT encounter_id, order_code, MAX(consumable_id) AS consumable_id, SUM(used) AS used,
           SUM(returned) AS returned, SUM(charged) AS charged, SUM(refunded) AS refunded,
           SUM(net_charged) AS net_charged, MAX(active) AS active,
           SUM(ordered) AS ordered, COUNT(ordered) AS orders
    FROM (
        SELECT i.encounter_id, i.order_code, i.consumable_id, i.used, i.returned, i.charged,
               i.refunded, i.net_charged, i.active, NULL AS ordered
        FROM items i WHERE i.order_code IS NOT NULL AND i.order_code <> ''
        UNION ALL
        SELECT o.encounter_id, o.order_code, NULL, 0, 0, 0, 0, 0, 0, o.quantity
        FROM billing_doctororder o
        WHERE o.encounter_id IN (SELECT encounter_id FROM enc) AND o.ordered_at < %(until)s
    ) x
    GROUP BY encounter_id, order_code
),
judged AS MATERIALIZED (
    SELECT * FROM (
        SELECT i.encounter_id, i.consumable_id, i.used, i.returned, i.charged, i.refunded,
               NULL AS ordered, NULL AS order_code,
               CASE WHEN i.active = 1 OR s.other_active = 1 THEN 1 ELSE 0 END AS active,
               CASE
                   WHEN i.chargeable AND i.net_used > i.net_charged THEN 'UNBILLED_USE'
                   WHEN s.consumable_id IS NOT NULL THEN 'SUBSTITUTION'
                   WHEN i.net_used > 0 AND i.net_charged > i.net_used
                       THEN 'DUPLICATE_CHARGE'
                   WHEN i.scan = 1 AND i.net_used = 0 AND i.net_charged > 0
                       THEN 'CHARGE_WITHOUT_USE'
               END AS kind
        FROM items i LEFT JOIN swapped s ON s.encounter_id = i.encounter_id
             AND s.consumable_id = i.consumable_id
        UNION ALL
        SELECT v.encounter_id, v.consumable_id, v.used, v.returned, v.charged, v.refunded,
               v.ordered, v.order_code, v.active, 'CHARGE_OVER_ORDER'
        FROM over_order v WHERE v.orders > 0 AND v.net_charged > v.ordered
    ) t
    WHERE kind IS NOT NULL AND active = 1
)
SELECT j.kind, k.material_code, k.name, k.unit, j.used, j.returned, j.charged, j.refunded,
       j.ordered, j.order_code, k.insurance_code,
       {price_a} AS charge_price,
       sw.other_id, sw.other_used, sw.other_charged, ko.material_code AS other_code,
       ko.name AS other_name, ko.insurance_code AS other_insurance_code,
       {price_b} AS other_price,
       CASE WHEN j.kind = 'CHARGE_OVER_ORDER' THEN (
           SELECT {doctors} FROM billing_doctororder o
           WHERE o.encounter_id = j.encounter_id AND o.order_code = j.order_code
             AND o.ordered_at < %(until)s) END AS doctors,
       (SELECT e.visit_no FROM billing_encounter e WHERE e.id = j.encounter_id) AS visit_no,
       (SELECT w.code FROM billing_encounter e
        JOIN organisation_department w ON w.id = e.department_id
        WHERE e.id = j.encounter_id) AS ward,
       (SELECT u.id FROM billing_use u WHERE {uj} AND u.occurred_at < %(until)s
        ORDER BY u.occurred_at DESC, u.id DESC LIMIT 1) AS last_use,
       (SELECT d.code FROM billing_use u JOIN organisation_department d ON d.id = u.department_id
        WHERE {uj} AND u.occurred_at < %(until)s
        ORDER BY u.occurred_at DESC, u.id DESC LIMIT 1) AS use_department,
       (SELECT c.id FROM billing_chargeline c WHERE {cj} AND c.charged_at < %(until)s
        ORDER BY c.charged_at DESC, c.id DESC LIMIT 1) AS last_charge,
       (SELECT d.code FROM billing_chargeline c
        JOIN organisation_department d ON d.id = c.department_id
        WHERE {cj} AND c.charged_at < %(until)s
        ORDER BY c.charged_at DESC, c.id DESC LIMIT 1) AS charge_department
FROM judged j
JOIN consumables_consumable k ON k.id = j.consumable_id
LEFT JOIN swaps sw ON j.kind = 'SUBSTITUTION' AND sw.encounter_id = j.encounter_id
     AND sw.consumable_id = j.consumable_id
LEFT JOIN consumables_consumable ko ON ko.id = sw.other_id
ORDER BY j.encounter_id, j.kind, j.consumable_id, sw.other_id
""".format(
    encounters="{encounters}",
    active="{active}",
    uj=_PAIR.format(a="u", b="j"),
    cj=_PAIR.format(a="c", b="j"),
    price_a="CASE WHEN j.kind = 'SUBSTITUTION' THEN {} END".format(
        "(" + _CHARGE_PRICE.format(item="j.consumable_id").strip() + ")"
    ),
    price_b="CASE WHEN j.kind = 'SUBSTITUTION' THEN {} END".format(
        "(" + _CHARGE_PRICE.format(item="sw.other_id").strip() + ")"
    ),
    doctors="{doctors}",
    returned_of_enc="{returned_of_enc}",
    refunded_of_enc="{refunded_of_enc}",
)

# A pair counts on a day when one of its events falls in [since, until): its latest one.
ACTIVE_SINCE = "MAX(at) >= %(since)s"

# The encounters with a use, charge, refund or return from the patient in [since, until).
DAY_ENCOUNTERS = """
    SELECT encounter_id FROM billing_use
    WHERE occurred_at >= %(since)s AND occurred_at < %(until)s
    UNION
    SELECT encounter_id FROM billing_chargeline
    WHERE charged_at >= %(since)s AND charged_at < %(until)s
    UNION
    SELECT c.encounter_id FROM billing_chargerefund f
    JOIN billing_chargeline c ON c.id = f.charge_id
    WHERE f.refunded_at >= %(since)s AND f.refunded_at < %(until)s
    UNION
    SELECT u.encounter_id FROM inventory_stockmove r
    JOIN billing_use u ON u.move_id = r.reverses_id
    WHERE r.kind = 'return' AND r.occurred_at >= %(since)s AND r.occurred_at < %(until)s
"""


def _matching(rows: list[dict]) -> list[Finding]:
    """Findings from the matching rows: one per row, except SUBSTITUTION, whose rows (one
    per item used in the charged item's place) make one finding of the charged item."""
    found: dict[tuple, Finding] = {}
    for row in rows:
        # SUM over bigint comes back as numeric on PostgreSQL: the figures are integers.
        figures = {k: int(row[k]) for k in ("used", "returned", "charged", "refunded")}
        net_used = figures["used"] - figures["returned"]
        net_charged = figures["charged"] - figures["refunded"]
        kind = row["kind"]
        key = (kind, row["visit_no"], row["material_code"])
        if kind == SUBSTITUTION and key in found:
            found[key].detail["substitutes"].append(_substitute(row))
            _substituted(found[key])
            continue
        detail = {
            "name": row["name"],
            "unit": row["unit"],
            **figures,
            "net_used": net_used,
            "net_charged": net_charged,
        }
        quantity = abs(net_used - net_charged)
        if kind == CHARGE_OVER_ORDER:
            quantity = net_charged - int(row["ordered"])
            doctors = sorted({d for d in (row["doctors"] or "").split(",") if d})
            detail.update(
                order_code=row["order_code"], ordered=int(row["ordered"]), doctors=doctors
            )
        elif kind == SUBSTITUTION:
            price = as_price(row["charge_price"])
            detail.update(
                insurance_code=row["insurance_code"],
                generic=(row["insurance_code"] or "")[:GENERIC_PREFIX],
                charge_price=None if price is None else str(price),
                substitutes=[_substitute(row)],
            )
        found[key] = Finding(
            kind=kind,
            encounter=row["visit_no"],
            department=row["use_department"] or row["charge_department"] or row["ward"],
            material_code=row["material_code"],
            quantity=quantity,
            ref=(
                f"use:{row['last_use']}" if kind == UNBILLED_USE else f"charge:{row['last_charge']}"
            ),
            detail=detail,
        )
        if kind == SUBSTITUTION:
            _substituted(found[key])
    return list(found.values())


def _substitute(row: dict) -> dict:
    """The item used in the charged one's place (B of a SUBSTITUTION), with its figures."""
    price = as_price(row["other_price"])
    used, charged = int(row["other_used"]), int(row["other_charged"])
    return {
        "material_code": row["other_code"],
        "name": row["other_name"],
        "insurance_code": row["other_insurance_code"],
        "charge_price": None if price is None else str(price),
        "net_used": used,
        "net_charged": charged,
        "shortfall": used - charged,
    }


def _substituted(finding: Finding) -> None:
    """``substituted``: how much of the excess the items used in its place account for."""
    shortfall = sum(s["shortfall"] for s in finding.detail["substitutes"])
    finding.detail["substituted"] = min(finding.quantity, shortfall)


def _of_encounters(column: str) -> str:
    """SQL: ``column`` is one of the encounters concerned (``enc``). On PostgreSQL as an
    array, so that the few uses with a return (lines with a refund) are looked up encounter
    by encounter in their partial index: as a join the planner, which cannot know how few
    encounters ``enc`` holds, merges with the whole index, whose length follows the
    history (bench/reconciliation.py, 10M against 1M moves)."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(ARRAY(SELECT encounter_id FROM enc))"
    return f"{column} IN (SELECT encounter_id FROM enc)"


def _matching_sql(encounters: str, active: str) -> str:
    return MATCHING_SQL.format(
        encounters=encounters,
        active=active,
        doctors=_doctors(),
        returned_of_enc=_of_encounters("u.encounter_id"),
        refunded_of_enc=_of_encounters("c.encounter_id"),
    )


def matching_findings(encounters, *, until: dt.datetime) -> list[Finding]:
    """The pair kinds (UNBILLED_USE, SUBSTITUTION, DUPLICATE_CHARGE, CHARGE_WITHOUT_USE) and
    CHARGE_OVER_ORDER of ``encounters`` (one query)."""
    ids, params = id_list("e", encounter_ids(encounters))
    sql = _matching_sql(
        f"SELECT id AS encounter_id FROM billing_encounter WHERE id IN {ids}", "COUNT(*) > 0"
    )
    return _matching(fetch(sql, sql_params(until=until, **params)))
