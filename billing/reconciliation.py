"""Daily reconciliation (日对账): received vs issued vs used vs billed, and the exceptions.

Invariant 8: the result of a day is a pure function of that day's ledger and charges (and,
for the per-encounter matching, of the events of the encounters touched that day up to its
end), so a rerun gives the same rows. The day is computed with SQL aggregates over the
day's rows (``occurred_at``/``charged_at``/``refunded_at``/``received_at`` ranges) and index
range scans of the encounters touched that day, never by walking history in Python: the
variance rows go from one ``INSERT ... SELECT`` straight into their table; the exceptions
come from a handful of set-based queries (``billing.rules`` for the encounters, the receipt
lines, the four-price audit, the variance rows just written) and are written in bulk. The
stored result of a day is replaced in one transaction, only when the whole computation
succeeded. On PostgreSQL the per-encounter matching is read on a second connection in that
transaction's snapshot while the variance rows are written (``config.beside``).

Variance rows (docs/contract.md), per department and consumable, by business day (Asia/Shanghai)
of the event:
- ``received``: moves of kind receive into the department (from a supplier);
- ``issued``: moves of kind issue out of the department (a store) or into it (a ward or a
  theatre);
- ``used``: uses out of the department to a patient minus returns from a patient into it
  (the return moves that carry a visit number; returns up the chain carry none);
- ``billed``: charged minus refunded, by the charge line's department (the encounter's ward
  when a line has none);
- ``variance_qty`` = used - billed; ``variance_pct`` = variance_qty / used x 100 (null
  unless used > 0); ``variance_amount`` = what the net use should have billed minus the net
  billed amount, each use (and each return, at the time of the use it undoes) valued at the
  approved charge price in force at that moment and rounded to the cent as a charge line is;
  a non-chargeable item should bill nothing.

Exceptions: the kinds of ``billing.rules`` (UNBILLED_USE, CHARGE_WITHOUT_USE,
DUPLICATE_CHARGE, SUBSTITUTION, CHARGE_OVER_ORDER, PRICE_MISMATCH, CHARGE_WITHOUT_ORDER) and
- ``PURCHASE_PRICE_MISMATCH``: a receipt line of the day whose unit cost is not the approved
  purchase price in force when it was received (``ref`` ``receipt_line:<id>``);
- ``FOUR_PRICE_MISALIGNED``: a live consumable whose prices in force at some moment of the
  day break the four-price rule (checked at the start of the day and at every price change
  during it; ``detail`` has the last misaligned prices of the day and the rule's codes from
  ``consumables.prices.four_price_violations``). This is the nightly four-price audit of all
  consumables in force: it runs as part of every day (``ref`` ``consumable:<material_code>``);
- ``VARIANCE_OVER_THRESHOLD``: a variance row of a chargeable item with used > 0 and
  abs(used - billed) / used above ``RECONCILIATION_VARIANCE_THRESHOLD_PCT`` (default 5);
  non-chargeable items are never billed, so their variance is no exception
  (``ref`` ``variance:<department>:<material_code>``);
- ``STOCK_CONSUMPTION_VARIANCE`` (进销存 / 账物相符): for a department and chargeable item
  between two confirmed stocktakes of the department's location, the consumption from the
  counts and the ledger (opening + received + issued in - issued out - scrapped - closing)
  against the net billed of the period, above the same threshold
  (``billing.selectors.stock_side``, which the finance page 进销存 reads too). Reported by
  the run of the business day on which the closing stocktake was confirmed (posted), so a
  period is reported once, on a day that is a pure function of the ledger up to its end; a
  period without its closing count reports nothing yet
  (``ref`` ``stock:<department>:<material_code>:<closing stocktake id>``).

Runs (``ReconciliationRun``): one per day; ``status`` queued -> running -> succeeded |
failed. On PostgreSQL a run holds a session advisory lock on its day while it works, so
two runs of one day never overlap (the second waits, then recomputes), and a run whose
process died (SIGKILL, a lost worker) is recognised by its lock being gone: PostgreSQL
rolls back its transaction, the previous rows stay, and ``recover_stale_run`` marks it
failed: the run endpoint does so before answering, and every run does so for the other
days first; the next run of the day takes over.
Elsewhere (SQLite, the quick start, one process) a run left running for longer than
``RECONCILIATION_STALE_SECONDS`` (default an hour) counts as interrupted.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from contextlib import contextmanager, suppress
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from config.beside import read_beside
from config.business_day import business_day, business_day_bounds
from consumables.prices import FourPrices, four_price_violations

from . import rules
from .models import ExceptionRow, ReconciliationRun, VarianceRow
from .rules import PRICE_SPANS, as_instant, as_price, fetch, in_span
from .selectors import stock_side

CENT = Decimal("0.01")
LOCK_SPACE = 0x5243  # the first key of the runs' advisory locks ("RC"); the second is the day
Status = ReconciliationRun.Status

UNBILLED_USE = rules.UNBILLED_USE
CHARGE_WITHOUT_USE = rules.CHARGE_WITHOUT_USE
DUPLICATE_CHARGE = rules.DUPLICATE_CHARGE
PRICE_MISMATCH = rules.PRICE_MISMATCH
CHARGE_WITHOUT_ORDER = rules.CHARGE_WITHOUT_ORDER
SPLIT_CHARGE = rules.SPLIT_CHARGE
SELF_PAY_WITHOUT_CONSENT = rules.SELF_PAY_WITHOUT_CONSENT
SUBSTITUTION = rules.SUBSTITUTION
CHARGE_OVER_ORDER = rules.CHARGE_OVER_ORDER
PURCHASE_PRICE_MISMATCH = "PURCHASE_PRICE_MISMATCH"
FOUR_PRICE_MISALIGNED = "FOUR_PRICE_MISALIGNED"
VARIANCE_OVER_THRESHOLD = "VARIANCE_OVER_THRESHOLD"
STOCK_CONSUMPTION_VARIANCE = "STOCK_CONSUMPTION_VARIANCE"
EXCEPTION_KINDS = (
    UNBILLED_USE,
    CHARGE_WITHOUT_USE,
    DUPLICATE_CHARGE,
    PRICE_MISMATCH,
    CHARGE_WITHOUT_ORDER,
    SPLIT_CHARGE,
    SELF_PAY_WITHOUT_CONSENT,
    SUBSTITUTION,
    CHARGE_OVER_ORDER,
    PURCHASE_PRICE_MISMATCH,
    FOUR_PRICE_MISALIGNED,
    VARIANCE_OVER_THRESHOLD,
    STOCK_CONSUMPTION_VARIANCE,
)


def threshold_pct() -> Decimal:
    return Decimal(str(settings.RECONCILIATION_VARIANCE_THRESHOLD_PCT))


def previous_business_day(now: dt.datetime | None = None) -> dt.date:
    return business_day(now) - dt.timedelta(days=1)


def _params(**values) -> dict:
    return rules.sql_params(**values)


# -- variance rows ------------------------------------------------------------------------------

DAY = "{t}.{col} >= %(since)s AND {t}.{col} < %(until)s"
MOVES_OF_DAY = DAY.format(t="m", col="occurred_at")
# A use is valued when it happened, a return from a patient when the use it undoes did.
PRICED_AT = """CASE WHEN m.kind = 'return' AND m.reverses_id IS NOT NULL
    THEN (SELECT u.occurred_at FROM inventory_stockmove u WHERE u.id = m.reverses_id)
    ELSE m.occurred_at END"""

VARIANCE_SQL = f"""
WITH {PRICE_SPANS.format(consumables="").strip()},
day_moves AS MATERIALIZED (
    SELECT m.kind, m.consumable_id, m.quantity,
           tl.department_id AS to_dept, fl.department_id AS from_dept,
           CASE WHEN m.kind = 'use' THEN m.quantity
                WHEN m.kind = 'return' AND m.encounter_no <> '' THEN -m.quantity
                ELSE 0 END AS bedside,
           CASE WHEN k.chargeable AND (m.kind = 'use'
                     OR (m.kind = 'return' AND m.encounter_no <> ''))
                THEN COALESCE(ROUND(
                    CASE WHEN m.kind = 'use' THEN m.quantity ELSE -m.quantity END
                    * s.charge_price, 2), 0)
                ELSE 0 END AS due
    FROM inventory_stockmove m
    JOIN organisation_location fl ON fl.id = m.from_location_id
    JOIN organisation_location tl ON tl.id = m.to_location_id
    JOIN consumables_consumable k ON k.id = m.consumable_id
    LEFT JOIN price_spans s ON s.consumable_id = m.consumable_id AND {in_span("s", PRICED_AT)}
    WHERE {MOVES_OF_DAY}
),
flows AS (
    SELECT to_dept AS dept, consumable_id,
           CASE WHEN kind = 'receive' THEN quantity ELSE 0 END AS received,
           CASE WHEN kind = 'issue' THEN quantity ELSE 0 END AS issued,
           CASE WHEN bedside < 0 THEN bedside ELSE 0 END AS used, 0 AS billed,
           CASE WHEN bedside < 0 THEN due ELSE 0 END AS due, 0 AS billed_amount
    FROM day_moves
    WHERE to_dept IS NOT NULL AND (kind IN ('receive', 'issue') OR bedside < 0)
    UNION ALL
    SELECT from_dept, consumable_id, 0,
           CASE WHEN kind = 'issue' THEN quantity ELSE 0 END,
           CASE WHEN bedside > 0 THEN bedside ELSE 0 END, 0,
           CASE WHEN bedside > 0 THEN due ELSE 0 END, 0
    FROM day_moves
    WHERE from_dept IS NOT NULL AND (kind = 'issue' OR bedside > 0)
    UNION ALL
    SELECT COALESCE(c.department_id,
                    (SELECT e.department_id FROM billing_encounter e WHERE e.id = c.encounter_id)),
           c.consumable_id, 0, 0, 0, c.quantity, 0, c.amount
    FROM billing_chargeline c
    WHERE {DAY.format(t="c", col="charged_at")}
    UNION ALL
    SELECT COALESCE(c.department_id,
                    (SELECT e.department_id FROM billing_encounter e WHERE e.id = c.encounter_id)),
           c.consumable_id, 0, 0, 0, -f.quantity, 0, -f.amount
    FROM billing_chargerefund f JOIN billing_chargeline c ON c.id = f.charge_id
    WHERE {DAY.format(t="f", col="refunded_at")}
),
totals AS (
    SELECT dept, consumable_id, SUM(received) AS received, SUM(issued) AS issued,
           SUM(used) AS used, SUM(billed) AS billed, SUM(due) AS due,
           SUM(billed_amount) AS billed_amount
    FROM flows WHERE dept IS NOT NULL
    GROUP BY dept, consumable_id
)
INSERT INTO billing_variancerow (run_id, department_id, consumable_id, department_code,
    material_code, received, issued, used, billed, variance_qty, variance_amount, variance_pct)
SELECT %(run)s, t.dept, t.consumable_id, d.code, k.material_code, t.received, t.issued,
       t.used, t.billed, t.used - t.billed, ROUND(t.due - t.billed_amount, 2),
       CASE WHEN t.used > 0 THEN ROUND((t.used - t.billed) * 100.0 / t.used, 2) END
FROM totals t
JOIN organisation_department d ON d.id = t.dept
JOIN consumables_consumable k ON k.id = t.consumable_id
WHERE t.received <> 0 OR t.issued <> 0 OR t.used <> 0 OR t.billed <> 0
"""


def store_variances(run: ReconciliationRun, start: dt.datetime, end: dt.datetime) -> int:
    """Write the day's variance rows of ``run`` (one statement); return how many."""
    with connection.cursor() as cursor:
        cursor.execute(VARIANCE_SQL, _params(run=run.pk, since=start, until=end))
        return cursor.rowcount


VARIANCE_EXCEPTIONS_SQL = """
SELECT v.department_code, v.material_code, v.used, v.billed, v.variance_qty, v.variance_pct
FROM billing_variancerow v JOIN consumables_consumable k ON k.id = v.consumable_id
WHERE v.run_id = %(run)s AND k.chargeable AND v.used > 0
  AND ABS(v.used - v.billed) * 10000 > %(limit)s * v.used
"""


def variance_exceptions(run: ReconciliationRun, limit: Decimal) -> list[ExceptionRow]:
    """VARIANCE_OVER_THRESHOLD from the variance rows just stored (one query)."""
    hundredths = int((limit * 100).to_integral_value())  # exact: the setting has 2 places
    rows = fetch(VARIANCE_EXCEPTIONS_SQL, {"run": run.pk, "limit": hundredths})
    return [
        ExceptionRow(
            run=run,
            kind=VARIANCE_OVER_THRESHOLD,
            department_code=row["department_code"],
            material_code=row["material_code"],
            quantity=row["variance_qty"],
            ref=f"variance:{row['department_code']}:{row['material_code']}",
            detail={
                "used": row["used"],
                "billed": row["billed"],
                "variance_pct": str(Decimal(str(row["variance_pct"])).quantize(CENT)),
                "threshold_pct": str(limit),
            },
        )
        for row in rows
    ]


def _text(value) -> str | None:
    return None if value is None else str(value)


def stock_exceptions(run, start: dt.datetime, end: dt.datetime, limit: Decimal):
    """STOCK_CONSUMPTION_VARIANCE of the periods closed by a stocktake posted on the day."""
    found = []
    for row in stock_side.stock_periods(since=start, until=end, threshold_pct=limit):
        if not row["over"]:
            continue
        found.append(
            ExceptionRow(
                run=run,
                kind=STOCK_CONSUMPTION_VARIANCE,
                department_code=row["department_code"],
                material_code=row["material_code"],
                quantity=row["stock_variance"],
                ref=f"stock:{row['department_code']}:{row['material_code']}:{row['closing_id']}",
                detail={
                    **{key: row[key] for key in stock_side.FIGURES},
                    "variance_pct": _text(row["stock_pct"]),
                    "charge_price": _text(row["charge_price"]),
                    "amount": _text(row["stock_amount"]),
                    "threshold_pct": str(limit),
                    "opened_at": row["opened_at"].isoformat(),
                    "closed_at": row["closed_at"].isoformat(),
                    "opening_stocktake": row["opening_id"],
                    "closing_stocktake": row["closing_id"],
                },
            )
        )
    return found


# -- receipts and prices ----------------------------------------------------------------------

PURCHASE_SQL = """
WITH {spans}
SELECT rl.id, rl.quantity, rl.unit_cost, rl.received_at, s.purchase_price,
       d.code AS department, k.material_code, sp.code AS supplier, r.invoice_no
FROM inventory_receiptline rl
JOIN price_spans s ON s.consumable_id = rl.consumable_id AND {in_span}
JOIN inventory_receipt r ON r.id = rl.receipt_id
JOIN organisation_department d ON d.id = r.department_id
JOIN organisation_supplier sp ON sp.id = r.supplier_id
JOIN consumables_consumable k ON k.id = rl.consumable_id
WHERE rl.received_at >= %(since)s AND rl.received_at < %(until)s
  AND rl.unit_cost <> s.purchase_price
""".format(
    spans=PRICE_SPANS.format(
        consumables="AND pv.consumable_id IN (SELECT consumable_id FROM inventory_receiptline "
        "WHERE received_at >= %(since)s AND received_at < %(until)s)"
    ).strip(),
    in_span=in_span("s", "rl.received_at"),
)


def purchase_price_exceptions(run, start: dt.datetime, end: dt.datetime) -> list[ExceptionRow]:
    """Receipt lines of the day at a cost other than the purchase price then in force."""
    return [
        ExceptionRow(
            run=run,
            kind=PURCHASE_PRICE_MISMATCH,
            department_code=row["department"],
            material_code=row["material_code"],
            quantity=row["quantity"],
            ref=f"receipt_line:{row['id']}",
            detail={
                "unit_cost": str(as_price(row["unit_cost"])),
                "purchase_price": str(as_price(row["purchase_price"])),
                "supplier": row["supplier"],
                "invoice_no": row["invoice_no"],
                "received_at": as_instant(row["received_at"]).isoformat(),
            },
        )
        for row in fetch(PURCHASE_SQL, _params(since=start, until=end))
    ]


# Prices in force at the start of the day and at every change during it: the hospital's
# approved version, the platform price and the VBP price (a VBP row without a price ends the
# programme). Only the misaligned moments are returned, the latest one per consumable.
FOUR_PRICE_SQL = """
WITH {spans},
external_spans AS (
    SELECT consumable_id, kind, price, effective_from AS valid_from,
           LEAD(effective_from) OVER (
               PARTITION BY consumable_id, kind ORDER BY effective_from
           ) AS valid_to
    FROM consumables_externalprice WHERE effective_from < %(until)s
),
instants AS (
    SELECT consumable_id, %(since)s AS at FROM price_spans
    WHERE valid_from <= %(since)s AND (valid_to IS NULL OR valid_to > %(since)s)
    UNION
    SELECT consumable_id, valid_from FROM price_spans WHERE valid_from > %(since)s
    UNION
    SELECT consumable_id, valid_from FROM external_spans WHERE valid_from > %(since)s
),
misaligned AS (
    SELECT i.consumable_id, i.at, h.purchase_price, h.charge_price,
           p.price AS platform_price, v.price AS vbp_price,
           ROW_NUMBER() OVER (PARTITION BY i.consumable_id ORDER BY i.at DESC) AS rank
    FROM instants i
    JOIN price_spans h ON h.consumable_id = i.consumable_id AND {in_h}
    LEFT JOIN external_spans p ON p.consumable_id = i.consumable_id AND p.kind = 'platform'
         AND {in_p}
    LEFT JOIN external_spans v ON v.consumable_id = i.consumable_id AND v.kind = 'vbp'
         AND {in_v}
    WHERE h.charge_price <> h.purchase_price
       OR (v.price IS NOT NULL AND h.purchase_price <> v.price)
       OR (p.price IS NOT NULL AND h.purchase_price > p.price)
)
SELECT k.material_code, m.at, m.platform_price, m.vbp_price, m.purchase_price, m.charge_price
FROM misaligned m JOIN consumables_consumable k ON k.id = m.consumable_id
WHERE m.rank = 1 AND k.is_active
""".format(
    spans=PRICE_SPANS.format(consumables="").strip(),
    in_h=in_span("h", "i.at"),
    in_p=in_span("p", "i.at"),
    in_v=in_span("v", "i.at"),
)


def four_price_exceptions(run, start: dt.datetime, end: dt.datetime) -> list[ExceptionRow]:
    """The four-price audit of every live consumable over the day (one query); SQL finds
    the misaligned moments, ``four_price_violations`` names what is wrong."""
    found = []
    for row in fetch(FOUR_PRICE_SQL, _params(since=start, until=end)):
        prices = {k: as_price(row[k]) for k in row if k.endswith("_price")}
        violations = four_price_violations(
            FourPrices(
                prices["platform_price"],
                prices["vbp_price"],
                prices["purchase_price"],
                prices["charge_price"],
            )
        )
        if not violations:
            continue
        found.append(
            ExceptionRow(
                run=run,
                kind=FOUR_PRICE_MISALIGNED,
                material_code=row["material_code"],
                ref=f"consumable:{row['material_code']}",
                detail={
                    "violations": [v.code for v in violations],
                    **{k: None if v is None else str(v) for k, v in prices.items()},
                    "in_force_at": as_instant(row["at"]).isoformat(),
                },
            )
        )
    return found


def encounter_exceptions(run, findings: list[rules.Finding]) -> list[ExceptionRow]:
    """The per-encounter matching's and the charge-line checks' findings (``billing.rules``)
    as the run's exceptions, in the rules' order."""
    return [
        ExceptionRow(
            run=run,
            kind=finding.kind,
            department_code=finding.department or "",
            material_code=finding.material_code or "",
            encounter_no=finding.encounter or "",
            quantity=finding.quantity,
            ref=finding.ref,
            detail=finding.detail,
        )
        for finding in rules.sort_findings(findings)
    ]


# The exceptions as one JSON parameter unpacked by the server: a bulk INSERT of as many rows
# would have Python quote ~10 values a row into the statement (a tenth of a second a day).
EXCEPTIONS_INSERT_SQL = """
INSERT INTO billing_exceptionrow (run_id, kind, department_code, material_code, encounter_no,
    quantity, ref, detail)
SELECT %s, r.kind, r.department_code, r.material_code, r.encounter_no, r.quantity, r.ref,
       r.detail
FROM ROWS FROM (jsonb_to_recordset(%s::jsonb) AS (kind text, department_code text,
    material_code text, encounter_no text, quantity integer, ref text, detail jsonb))
    WITH ORDINALITY AS r
ORDER BY r.ordinality
"""
EXCEPTION_COLUMNS = ("kind", "department_code", "material_code", "encounter_no", "quantity", "ref")


def store_exceptions(run: ReconciliationRun, exceptions: list[ExceptionRow]) -> None:
    """Write ``exceptions`` of ``run`` in one statement (PostgreSQL) or in bulk."""
    if connection.vendor != "postgresql":
        ExceptionRow.objects.bulk_create(exceptions, batch_size=2000)
        return
    rows = [
        {**{name: getattr(e, name) for name in EXCEPTION_COLUMNS}, "detail": e.detail}
        for e in exceptions
    ]
    with connection.cursor() as cursor:
        cursor.execute(EXCEPTIONS_INSERT_SQL, [run.pk, json.dumps(rows)])


# -- a run --------------------------------------------------------------------------------------

TOTALS_SQL = """
SELECT COUNT(*) AS rows, COALESCE(SUM(received), 0) AS received,
       COALESCE(SUM(issued), 0) AS issued, COALESCE(SUM(used), 0) AS used,
       COALESCE(SUM(billed), 0) AS billed, COALESCE(SUM(variance_amount), 0) AS amount
FROM billing_variancerow WHERE run_id = %(run)s
"""


def _totals(run: ReconciliationRun, exceptions: list[ExceptionRow]) -> dict:
    (row,) = fetch(TOTALS_SQL, {"run": run.pk})
    used, billed = row["used"], row["billed"]
    by_kind = Counter(e.kind for e in exceptions)
    return {
        "rows": row["rows"],
        "received": row["received"],
        "issued": row["issued"],
        "used": used,
        "billed": billed,
        "variance_qty": used - billed,
        "variance_amount": str(Decimal(str(row["amount"])).quantize(CENT)),
        "variance_pct": (
            str((Decimal(used - billed) * 100 / used).quantize(CENT)) if used > 0 else None
        ),
        "exceptions": len(exceptions),
        "exceptions_by_kind": dict(sorted(by_kind.items())),
    }


# The session settings of the run's reading statements (PostgreSQL), on both connections.
READ_SETTINGS = (
    # A worker killed in the middle of a statement: the server notices the closed connection
    # within a second and rolls back, instead of finishing the query.
    "SET LOCAL client_connection_check_interval = '1s'",
    # The day's aggregates hash tens of thousands of groups: in memory, not on disk.
    "SET LOCAL work_mem = '64MB'",
    # A few big statements whose estimated cost crosses the JIT thresholds but which run in
    # tens of milliseconds: compiling them costs seconds.
    "SET LOCAL jit = off",
)


def compute_and_store(
    run: ReconciliationRun, day: dt.date, *, outermost: bool = False
) -> ReconciliationRun:
    """Replace the stored rows of ``run`` with ``day`` computed afresh; the caller holds the
    transaction, so a failure anywhere leaves the previous rows.

    When that transaction is the ``outermost`` one (PostgreSQL), the per-encounter matching,
    the run's longest read, goes on a second connection in the transaction's snapshot
    (``config.beside``) while this one writes the variance rows and makes the other checks:
    the run takes the time of the longer of the two, and finds exactly what it would find
    alone (it reads only what was committed before it started).
    """
    start, end = business_day_bounds(day)
    limit = threshold_pct()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for statement in READ_SETTINGS:
                cursor.execute(statement)
            # The foreign keys of the ~20,000 rows written (Django makes them deferred) are
            # checked at each statement's end: queued to the commit they cost a third of a
            # second more (bench/reconciliation.py, "Python, and the commit").
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with read_beside(
        lambda: rules.matching_for_day(start=start, end=end),
        outermost=outermost,
        settings=READ_SETTINGS,
    ) as matching:
        VarianceRow.objects.filter(run=run).delete()
        ExceptionRow.objects.filter(run=run).delete()
        store_variances(run, start, end)
        lines = rules.lines_for_day(start=start, end=end)
        others = (
            purchase_price_exceptions(run, start, end)
            + four_price_exceptions(run, start, end)
            + variance_exceptions(run, limit)
            + stock_exceptions(run, start, end, limit)
        )
        exceptions = encounter_exceptions(run, matching.result() + lines) + others
    store_exceptions(run, exceptions)
    run.status = Status.SUCCEEDED
    run.finished_at = run.computed_at = timezone.now()
    run.threshold_pct = limit
    run.totals = _totals(run, exceptions)
    run.error = ""
    run.save(
        update_fields=["status", "finished_at", "computed_at", "threshold_pct", "totals", "error"]
    )
    return run


@contextmanager
def day_lock(day: dt.date):
    """Hold the day's advisory lock for the block (PostgreSQL; elsewhere nothing)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_SPACE, day.toordinal()])
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_SPACE, day.toordinal()])
        except DatabaseError:
            pass  # the connection is gone, and the session's lock went with it


def reconciliation_run(*, day: dt.date) -> ReconciliationRun:
    """Compute ``day`` and replace its stored result atomically; on failure the previous
    result stays, the run is marked failed and the exception propagates (for retries)."""
    outermost = not connection.in_atomic_block  # no caller's transaction around the run's
    with day_lock(day):
        recover_stale_runs()  # other days' runs whose worker died say so from now on
        run, _ = ReconciliationRun.objects.get_or_create(date=day)
        ReconciliationRun.objects.filter(pk=run.pk).update(
            status=Status.RUNNING, started_at=timezone.now(), attempts=run.attempts + 1, error=""
        )
        run.refresh_from_db()
        try:
            with transaction.atomic():
                return compute_and_store(run, day, outermost=outermost)
        except Exception as error:
            mark_failed(day, error)
            raise


def mark_failed(day: dt.date, error: BaseException) -> None:
    # If the database is what failed this may fail too: the run is then recovered as stale.
    with suppress(DatabaseError):
        ReconciliationRun.objects.filter(date=day).update(
            status=Status.FAILED,
            finished_at=timezone.now(),
            error=f"{type(error).__name__}: {error}"[:2000],
        )


def mark_retrying(day: dt.date, error: BaseException, countdown: int) -> None:
    """A transient failure: the task runs again in ``countdown`` seconds."""
    with suppress(DatabaseError):
        ReconciliationRun.objects.filter(date=day).update(
            status=Status.QUEUED,
            error=f"retrying in {countdown}s after {type(error).__name__}: {error}"[:2000],
        )


def request_run(day: dt.date) -> ReconciliationRun:
    """The run of ``day``, marked queued unless one is running (for the API before queueing)."""
    run, _ = ReconciliationRun.objects.get_or_create(date=day)
    recover_stale_run(run)
    ReconciliationRun.objects.filter(pk=run.pk).exclude(status=Status.RUNNING).update(
        status=Status.QUEUED
    )
    run.refresh_from_db()
    return run


INTERRUPTED = "interrupted: the run's process ended before it finished; the previous result stands"


def run_in_progress(day: dt.date) -> bool:
    """Someone holds the day's lock (PostgreSQL), i.e. a run of it is working now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = %s AND objid = %s AND objsubid = 2",
            [LOCK_SPACE, day.toordinal()],
        )
        return cursor.fetchone()[0] > 0


def recover_stale_runs() -> int:
    """Mark failed every run left running by a process that is gone; return how many."""
    running = ReconciliationRun.objects.filter(status=Status.RUNNING)
    return sum(recover_stale_run(run).status == Status.FAILED for run in running)


def recover_stale_run(run: ReconciliationRun) -> ReconciliationRun:
    """A run that says running but whose process is gone is marked failed (the rows it was
    writing were rolled back with its transaction, the previous ones stand)."""
    if run.status != Status.RUNNING:
        return run
    if connection.vendor == "postgresql":
        stale = not run_in_progress(run.date)
    else:
        limit = int(settings.RECONCILIATION_STALE_SECONDS)
        stale = run.started_at is None or timezone.now() - run.started_at > dt.timedelta(
            seconds=limit
        )
    if stale:
        ReconciliationRun.objects.filter(pk=run.pk, status=Status.RUNNING).update(
            status=Status.FAILED, finished_at=timezone.now(), error=INTERRUPTED
        )
        run.refresh_from_db()
    return run
