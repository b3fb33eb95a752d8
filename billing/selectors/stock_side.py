"""The stock side of the reconciliation (进销存 / 账物相符): consumption between two counts.

One rule in one place: the nightly ``STOCK_CONSUMPTION_VARIANCE`` (``billing.reconciliation``)
and the finance page 进销存 (``billing.views.finance_stock``) both read ``stock_periods``.

A *period* is the time between two confirmed (posted) stocktakes of one department's
location: the opening count's ``posted_at`` (excluded) to the closing count's ``posted_at``
(included). For each consumable, from the ledger and the counts:

- ``opening`` / ``closing``: what the count left on the book, per line ``on_hand_at_post +
  adjusted`` (= counted, less the counted units used after they were scanned), summed over
  the item's lots;
- ``received`` (入库): moves into the location from a supplier;
- ``issued_in`` (领入/调入): moves into it from another real location (issues, transfers,
  returns up the chain into a store);
- ``issued_out`` (出库/退库): moves out of it to another real location or back to a supplier
  (issues, transfers, returns to store, returns to the supplier);
- ``scrapped`` (报损): moves out of it to scrap (recorded, so not consumption);
- ``used`` (使用, from the ledger): uses to a patient minus returns from a patient;
- ``consumed`` (消耗, from the counts) = opening + received + issued_in - issued_out -
  scrapped - closing. With nothing lost it equals ``used``; the stocktakes' own adjustment
  moves are left out (the counts replace the book);
- ``billed`` (计费): charged minus refunded of the department (the charge line's, else its
  encounter's) and item in the period (``charged_at`` / ``refunded_at``).

``stock_amount`` = (consumed - billed) x the approved charge price in force at the closing
count (none for an item that is not separately chargeable): what the units consumed and not
billed would have billed. ``stock_pct`` = (consumed - billed) / consumed x 100 (null
unless consumed > 0), beside the use side's ``use_pct`` = (used - billed) / used x 100 over
the same period. A period is ``over`` the threshold for a chargeable item when consumed > 0
and abs(consumed - billed) / consumed is above it, or when nothing was consumed and
something was billed (a count surplus with nothing billed is the stocktake's own finding,
not a billing one).

Set-based: two SQL statements, the periods closed in the range and then their figures
(aggregates over the periods' rows; PostgreSQL and SQLite); a day without a posted
stocktake costs the first alone.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from billing.rules import as_instant, as_price, fetch, sql_params

# The periods closed in [since, until): each posted stocktake with the one before it of the
# same location.
CLOSINGS_SQL = """
SELECT cl.closing_id, cl.opening_id, cl.department_id, cl.location_id, cl.closed_at,
       o.posted_at AS opened_at
FROM (
    SELECT c.id AS closing_id, c.department_id, c.location_id, c.posted_at AS closed_at,
           (SELECT p.id FROM inventory_stocktake p
            WHERE p.location_id = c.location_id AND p.status = 'posted'
              AND p.posted_at < c.posted_at
            ORDER BY p.posted_at DESC, p.id DESC LIMIT 1) AS opening_id
    FROM inventory_stocktake c
    WHERE c.status = 'posted' AND c.posted_at >= %(since)s AND c.posted_at < %(until)s
      {departments}
) cl JOIN inventory_stocktake o ON o.id = cl.opening_id
"""
PERIOD_COLUMNS = ("closing_id", "opening_id", "department_id", "location_id", "opened_at",
                  "closed_at")  # fmt: skip

# The figures of the periods, given as values (read from a subquery, the planner cannot
# know their bounds and guesses badly). A period's moves and charges are those of its
# location (department) in its time range, read one of two ways (``_in_period``).
PERIODS_SQL = """
WITH periods ({columns}) AS (VALUES {periods}),
flows AS (
    SELECT p.closing_id, l.consumable_id, l.on_hand_at_post + l.adjusted AS opening,
           0 AS received, 0 AS issued_in, 0 AS issued_out, 0 AS scrapped, 0 AS used,
           0 AS closing, 0 AS billed
    FROM periods p JOIN inventory_stocktakeline l ON l.stocktake_id = p.opening_id
    UNION ALL
    SELECT p.closing_id, l.consumable_id, 0, 0, 0, 0, 0, 0, l.on_hand_at_post + l.adjusted, 0
    FROM periods p JOIN inventory_stocktakeline l ON l.stocktake_id = p.closing_id
    UNION ALL
    SELECT p.closing_id, m.consumable_id, 0,
           CASE WHEN f.usage = 'supplier' THEN m.quantity ELSE 0 END,
           CASE WHEN f.usage NOT IN ('supplier', 'patient') THEN m.quantity ELSE 0 END,
           0, 0,
           CASE WHEN f.usage = 'patient' THEN -m.quantity ELSE 0 END,
           0, 0
    FROM periods p
    JOIN inventory_stockmove m ON {moves_in}
    JOIN organisation_location f ON f.id = m.from_location_id
    WHERE m.kind <> 'adjust'
    UNION ALL
    SELECT p.closing_id, m.consumable_id, 0, 0, 0,
           CASE WHEN t.usage IN ('internal', 'supplier') THEN m.quantity ELSE 0 END,
           CASE WHEN t.usage = 'scrap' THEN m.quantity ELSE 0 END,
           CASE WHEN t.usage = 'patient' THEN m.quantity ELSE 0 END,
           0, 0
    FROM periods p
    JOIN inventory_stockmove m ON {moves_out}
    JOIN organisation_location t ON t.id = m.to_location_id
    WHERE m.kind <> 'adjust'
    UNION ALL
    SELECT p.closing_id, c.consumable_id, 0, 0, 0, 0, 0, 0, 0, c.quantity
    FROM periods p
    JOIN billing_chargeline c ON {charges}
    UNION ALL
    SELECT p.closing_id, c.consumable_id, 0, 0, 0, 0, 0, 0, 0, c.quantity
    FROM periods p
    JOIN billing_encounter e ON e.department_id = p.department_id
    JOIN billing_chargeline c ON c.encounter_id = e.id AND c.department_id IS NULL
         AND c.charged_at > p.opened_at AND c.charged_at <= p.closed_at
    UNION ALL
    SELECT p.closing_id, c.consumable_id, 0, 0, 0, 0, 0, 0, 0, -f.quantity
    FROM periods p
    JOIN billing_chargerefund f ON f.refunded_at > p.opened_at AND f.refunded_at <= p.closed_at
    JOIN billing_chargeline c ON c.id = f.charge_id
    WHERE COALESCE(c.department_id, (SELECT e.department_id FROM billing_encounter e
                                     WHERE e.id = c.encounter_id)) = p.department_id
),
totals AS (
    SELECT closing_id, consumable_id, SUM(opening) AS opening, SUM(received) AS received,
           SUM(issued_in) AS issued_in, SUM(issued_out) AS issued_out,
           SUM(scrapped) AS scrapped, SUM(used) AS used, SUM(closing) AS closing,
           SUM(billed) AS billed
    FROM flows GROUP BY closing_id, consumable_id
)
SELECT p.closing_id, p.opening_id, p.opened_at, p.closed_at, d.id AS department_id,
       d.code AS department_code, d.name AS department_name, k.id AS consumable_id,
       k.material_code, k.name, k.chargeable, t.opening, t.received, t.issued_in,
       t.issued_out, t.scrapped, t.used, t.closing, t.billed,
       t.opening + t.received + t.issued_in - t.issued_out - t.scrapped - t.closing
           AS consumed,
       CASE WHEN k.chargeable THEN (
           SELECT pv.charge_price FROM consumables_priceversion pv
           WHERE pv.consumable_id = k.id AND pv.status = 'approved'
             AND pv.effective_from <= p.closed_at
           ORDER BY pv.effective_from DESC, pv.decided_at DESC NULLS FIRST, pv.id DESC
           LIMIT 1) END AS charge_price
FROM totals t
JOIN periods p ON p.closing_id = t.closing_id
JOIN organisation_department d ON d.id = p.department_id
JOIN consumables_consumable k ON k.id = t.consumable_id
WHERE t.opening <> 0 OR t.received <> 0 OR t.issued_in <> 0 OR t.issued_out <> 0
   OR t.scrapped <> 0 OR t.used <> 0 OR t.closing <> 0 OR t.billed <> 0
ORDER BY p.closed_at, d.code, k.material_code
"""

CENT = Decimal("0.01")
# A single period is read as one range of a two-column index; two or more, and the time
# range is read once for all of them (bench/stock_periods.py: one ward of the bench's
# hospital 0.1 s against 0.5 s; two wards 0.15 s against 0.22 s, its 39 wards 1.2 s against
# 2.1 s).
INDEXED_PERIODS = 1


def _in_period(key: str, time: str, period_key: str, *, indexed: bool) -> str:
    """SQL: the row's ``key`` (a location, a department) is the period's and its ``time``
    falls in the period. ``indexed``: as row comparisons, (key, time) between (key, opened)
    and (key, closed), which only a two-column index serves (``move_to_time``,
    ``move_from_time``, ``charge_dept_time``), the way to read one location's rows; else
    apart, so that the planner may read the whole time range once through the time index,
    the way to read several (``INDEXED_PERIODS``)."""
    if indexed:
        return (
            f"({key}, {time}) > (p.{period_key}, p.opened_at)"
            f" AND ({key}, {time}) <= (p.{period_key}, p.closed_at)"
        )
    return f"{key} = p.{period_key} AND {time} > p.opened_at AND {time} <= p.closed_at"


# The quantities of a period, in the order of the formula.
FIGURES = ("opening", "received", "issued_in", "issued_out", "scrapped", "closing", "consumed",
           "used", "billed")  # fmt: skip


def rate(numerator: int, base: int) -> Decimal | None:
    """``numerator / base`` as a percentage to the cent, None unless ``base`` > 0."""
    if base <= 0:
        return None
    return (Decimal(numerator) * 100 / Decimal(base)).quantize(CENT)


def is_over(consumed: int, billed: int, threshold_pct: Decimal) -> bool:
    """The stock side above ``threshold_pct`` (exact integer arithmetic, as the nightly
    use-side rule: the setting has at most 2 places)."""
    if consumed <= 0:
        return billed > 0
    hundredths = int((Decimal(threshold_pct) * 100).to_integral_value())
    return abs(consumed - billed) * 10000 > hundredths * consumed


def stock_periods(
    *,
    since: dt.datetime,
    until: dt.datetime,
    threshold_pct: Decimal,
    department_ids: list[int] | None = None,
) -> list[dict]:
    """Every period whose closing stocktake was posted in ``[since, until)``, per
    department and item (two queries: the periods, then their figures; one when none was
    closed), with the figures of the module docstring, ``over``
    (for chargeable items only) and both variance rates."""
    departments = ""
    params = sql_params(since=since, until=until)
    if department_ids is not None:
        if not department_ids:
            return []
        names = []
        for n, pk in enumerate(sorted(set(department_ids))):
            params[f"d{n}"] = pk
            names.append(f"%(d{n})s")
        departments = f"AND c.department_id IN ({', '.join(names)})"
    periods = fetch(CLOSINGS_SQL.format(departments=departments), params)
    if not periods:
        return []
    values = []
    for n, period in enumerate(periods):
        names = []
        for column in PERIOD_COLUMNS:
            params[f"{column}_{n}"] = period[column]
            names.append(f"%({column}_{n})s")
        values.append(f"({', '.join(names)})")
    indexed = len(periods) <= INDEXED_PERIODS
    sql = PERIODS_SQL.format(
        columns=", ".join(PERIOD_COLUMNS),
        periods=", ".join(values),
        moves_in=_in_period("m.to_location_id", "m.occurred_at", "location_id", indexed=indexed),
        moves_out=_in_period("m.from_location_id", "m.occurred_at", "location_id", indexed=indexed),
        charges=_in_period("c.department_id", "c.charged_at", "department_id", indexed=indexed),
    )
    rows = fetch(sql, params)
    for row in rows:
        for key in ("opened_at", "closed_at"):
            row[key] = as_instant(row[key])
        row["chargeable"] = bool(row["chargeable"])
        for key in ("opening", "received", "issued_in", "issued_out", "scrapped", "used",
                    "closing", "billed", "consumed"):  # fmt: skip
            row[key] = int(row[key] or 0)
        row["stock_variance"] = row["consumed"] - row["billed"]
        row["charge_price"] = price = as_price(row["charge_price"])
        row["stock_amount"] = (
            None if price is None else (row["stock_variance"] * price).quantize(CENT)
        )
        row["use_variance"] = row["used"] - row["billed"]
        row["stock_pct"] = rate(row["stock_variance"], row["consumed"])
        row["use_pct"] = rate(row["use_variance"], row["used"])
        row["over"] = row["chargeable"] and is_over(row["consumed"], row["billed"], threshold_pct)
        row["use_over"] = (
            row["chargeable"]
            and row["used"] > 0
            and is_over(row["used"], row["billed"], threshold_pct)
        )
    return rows
