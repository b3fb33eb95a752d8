"""Daily reconciliation (日对账): received vs issued vs used vs billed, and the exceptions.

Invariant 8: the result of a day is a pure function of that day's ledger and charges (and,
for the per-encounter matching, of the events of the encounters touched that day up to its
end). Everything is computed with SQL aggregates over the day's rows; Python only merges
the aggregated rows. The rows of a day are replaced in one transaction, only when the whole
computation succeeded.

Definitions (CONTRACT.md), per department and consumable, by business day (Asia/Shanghai)
of the event:
- received: stock received from suppliers into the department;
- issued: stock issued from the department (a store) or to it (a ward or theatre);
- used: uses at the department minus returns from patients to it;
- billed: charged minus refunded, by the charge's department;
- variance_qty = used - billed; variance_amount = used x charge price in force at the end
  of the day - net billed amount; variance_pct = variance_qty / used x 100.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from consumables.models import Consumable
from consumables.prices import FourPrices, four_price_violations, with_prices_in_force
from inventory.models import Department, Location, ReceiptLine, StockMove

from .models import ChargeLine, ChargeRefund, ExceptionRow, ReconciliationRun, VarianceRow

SHANGHAI = ZoneInfo("Asia/Shanghai")
CENT = Decimal("0.01")


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time.min, tzinfo=SHANGHAI)
    return start, start + dt.timedelta(days=1)


def threshold_pct() -> Decimal:
    return Decimal(str(getattr(settings, "RECONCILIATION_VARIANCE_THRESHOLD_PCT", "5")))


@dataclass
class Tally:
    received: int = 0
    issued: int = 0
    used: int = 0
    billed: int = 0
    billed_amount: Decimal = field(default_factory=lambda: Decimal("0"))


def _move_totals(start, end):
    """(department_id, consumable_id, kind, side) -> quantity, two aggregate queries."""
    window = StockMove.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
    incoming = (
        window.filter(to_location__usage=Location.Usage.INTERNAL)
        .values_list("to_location__department_id", "consumable_id", "kind")
        .annotate(total=Sum("quantity"))
    )
    outgoing = (
        window.filter(from_location__usage=Location.Usage.INTERNAL)
        .values_list("from_location__department_id", "consumable_id", "kind")
        .annotate(total=Sum("quantity"))
    )
    return incoming, outgoing


def compute_variances(day: dt.date) -> dict[tuple[int, int], Tally]:
    start, end = day_bounds(day)
    tallies: dict[tuple[int, int], Tally] = defaultdict(Tally)
    incoming, outgoing = _move_totals(start, end)
    for department, item, kind, total in incoming:
        tally = tallies[(department, item)]
        if kind == StockMove.Kind.RECEIVE:
            tally.received += total
        elif kind == StockMove.Kind.ISSUE:
            tally.issued += total
    for department, item, kind, total in outgoing:
        tally = tallies[(department, item)]
        if kind == StockMove.Kind.ISSUE:
            tally.issued += total
        elif kind == StockMove.Kind.USE:
            tally.used += total
    # Returns from patients come back into the department: PATIENT -> internal.
    returns = (
        StockMove.objects.filter(
            occurred_at__gte=start,
            occurred_at__lt=end,
            kind=StockMove.Kind.RETURN,
            from_location__usage=Location.Usage.PATIENT,
        )
        .values_list("to_location__department_id", "consumable_id")
        .annotate(total=Sum("quantity"))
    )
    for department, item, total in returns:
        tallies[(department, item)].used -= total
    charged = (
        ChargeLine.objects.filter(charged_at__gte=start, charged_at__lt=end)
        .values_list("department_id", "consumable_id")
        .annotate(quantity=Sum("quantity"), amount=Sum("amount"))
    )
    for department, item, quantity, amount in charged:
        tally = tallies[(department, item)]
        tally.billed += quantity
        tally.billed_amount += amount
    refunded = (
        ChargeRefund.objects.filter(refunded_at__gte=start, refunded_at__lt=end)
        .values_list("charge__department_id", "charge__consumable_id")
        .annotate(quantity=Sum("quantity"), amount=Sum("amount"))
    )
    for department, item, quantity, amount in refunded:
        tally = tallies[(department, item)]
        tally.billed -= quantity
        tally.billed_amount -= amount
    return {key: t for key, t in tallies.items() if key[0] is not None}


def _variance_rows(run, day, tallies) -> list[VarianceRow]:
    _, end = day_bounds(day)
    item_ids = {item for _, item in tallies}
    departments = dict(
        Department.objects.filter(pk__in={d for d, _ in tallies}).values_list("pk", "code")
    )
    prices = {
        row["pk"]: row
        for row in with_prices_in_force(Consumable.objects.filter(pk__in=item_ids), end).values(
            "pk", "material_code", "charge_price"
        )
    }
    rows = []
    for (department, item), tally in sorted(tallies.items()):
        if not any((tally.received, tally.issued, tally.used, tally.billed)):
            continue
        price = prices[item]["charge_price"] or Decimal("0")
        variance = tally.used - tally.billed
        rows.append(
            VarianceRow(
                run=run,
                department_id=department,
                consumable_id=item,
                department_code=departments[department],
                material_code=prices[item]["material_code"],
                received=tally.received,
                issued=tally.issued,
                used=tally.used,
                billed=tally.billed,
                variance_qty=variance,
                variance_amount=(price * tally.used - tally.billed_amount).quantize(CENT),
                variance_pct=(
                    (Decimal(variance) * 100 / tally.used).quantize(CENT) if tally.used else None
                ),
            )
        )
    return rows


def _exception(run, kind, **fields) -> ExceptionRow:
    return ExceptionRow(run=run, kind=kind, **fields)


def variance_exceptions(run, rows: list[VarianceRow], limit: Decimal) -> list[ExceptionRow]:
    return [
        _exception(
            run,
            "VARIANCE_OVER_THRESHOLD",
            department_code=row.department_code,
            material_code=row.material_code,
            quantity=row.variance_qty,
            ref=f"variance:{row.department_code}:{row.material_code}",
            detail={
                "used": row.used,
                "billed": row.billed,
                "variance_pct": str(row.variance_pct),
                "threshold_pct": str(limit),
            },
        )
        for row in rows
        if row.used > 0 and abs(row.used - row.billed) * 100 > limit * row.used
    ]


def purchase_price_exceptions(run, day) -> list[ExceptionRow]:
    start, end = day_bounds(day)
    lines = ReceiptLine.objects.filter(
        received_at__gte=start, received_at__lt=end, price_mismatch=True
    ).values_list(
        "pk",
        "receipt__department__code",
        "consumable__material_code",
        "quantity",
        "unit_cost",
        "purchase_price",
        "receipt__supplier__code",
        "receipt__invoice_no",
    )
    return [
        _exception(
            run,
            "PURCHASE_PRICE_MISMATCH",
            department_code=dept,
            material_code=material,
            quantity=quantity,
            ref=f"receipt_line:{pk}",
            detail={
                "unit_cost": str(cost),
                "purchase_price": str(price),
                "supplier": supplier,
                "invoice_no": invoice,
            },
        )
        for pk, dept, material, quantity, cost, price, supplier, invoice in lines
    ]


def four_price_exceptions(run, day) -> list[ExceptionRow]:
    """Every live consumable whose prices in force at the end of the day break the rule."""
    _, end = day_bounds(day)
    found = []
    rows = with_prices_in_force(Consumable.objects.filter(is_active=True), end).values(
        "material_code", "platform_price", "vbp_price", "purchase_price", "charge_price"
    )
    for row in rows.iterator(chunk_size=5000):
        if row["purchase_price"] is None:
            continue  # never priced: nothing in force to misalign (caught at receipt)
        prices = FourPrices(
            row["platform_price"], row["vbp_price"], row["purchase_price"], row["charge_price"]
        )
        violations = four_price_violations(prices)
        if violations:
            found.append(
                _exception(
                    run,
                    "FOUR_PRICE_MISALIGNED",
                    material_code=row["material_code"],
                    ref=f"consumable:{row['material_code']}",
                    detail={
                        "violations": [v.code for v in violations],
                        **{
                            k: None if v is None else str(v)
                            for k, v in row.items()
                            if k.endswith("_price")
                        },
                    },
                )
            )
    return found


def encounter_exceptions(run, day) -> list[ExceptionRow]:
    """The per-encounter matching (billing.rules), for the encounter/item pairs that had a use
    or a charge on the day, counting every event up to the end of the day."""
    from . import rules

    start, end = day_bounds(day)
    return [
        _exception(
            run,
            finding.kind,
            department_code=finding.department or "",
            material_code=finding.material_code or "",
            encounter_no=finding.encounter or "",
            quantity=finding.quantity,
            ref=finding.ref or "",
            detail=finding.detail or {},
        )
        for finding in rules.findings_for_day(start=start, end=end)
    ]


def compute_day(run: ReconciliationRun, day: dt.date) -> tuple[list, list]:
    limit = threshold_pct()
    variances = _variance_rows(run, day, compute_variances(day))
    exceptions = (
        encounter_exceptions(run, day)
        + purchase_price_exceptions(run, day)
        + four_price_exceptions(run, day)
        + variance_exceptions(run, variances, limit)
    )
    return variances, exceptions


def reconciliation_run(*, day: dt.date) -> ReconciliationRun:
    """Compute ``day`` and replace its stored result atomically; on failure the previous
    result stays and the run is marked failed (the exception propagates for retries)."""
    run, _ = ReconciliationRun.objects.get_or_create(date=day)
    ReconciliationRun.objects.filter(pk=run.pk).update(
        status=ReconciliationRun.Status.RUNNING,
        started_at=timezone.now(),
        attempts=run.attempts + 1,
        error="",
    )
    try:
        with transaction.atomic():
            locked = ReconciliationRun.objects.select_for_update().get(pk=run.pk)
            variances, exceptions = compute_day(locked, day)
            VarianceRow.objects.filter(run=locked).delete()
            ExceptionRow.objects.filter(run=locked).delete()
            VarianceRow.objects.bulk_create(variances, batch_size=2000)
            ExceptionRow.objects.bulk_create(exceptions, batch_size=2000)
            locked.status = ReconciliationRun.Status.SUCCEEDED
            locked.finished_at = locked.computed_at = timezone.now()
            locked.threshold_pct = threshold_pct()
            locked.totals = _totals(variances, exceptions)
            locked.save()
            return locked
    except Exception as error:
        ReconciliationRun.objects.filter(pk=run.pk).update(
            status=ReconciliationRun.Status.FAILED,
            finished_at=timezone.now(),
            error=f"{type(error).__name__}: {error}"[:2000],
        )
        raise


def _totals(variances: list[VarianceRow], exceptions: list[ExceptionRow]) -> dict:
    used = sum(v.used for v in variances)
    billed = sum(v.billed for v in variances)
    by_kind: dict[str, int] = defaultdict(int)
    for row in exceptions:
        by_kind[row.kind] += 1
    return {
        "rows": len(variances),
        "received": sum(v.received for v in variances),
        "issued": sum(v.issued for v in variances),
        "used": used,
        "billed": billed,
        "variance_qty": used - billed,
        "variance_amount": str(sum((v.variance_amount for v in variances), Decimal("0"))),
        "variance_pct": str((Decimal(used - billed) * 100 / used).quantize(CENT)) if used else None,
        "exceptions": len(exceptions),
        "exceptions_by_kind": dict(sorted(by_kind.items())),
    }


def previous_business_day(now: dt.datetime | None = None) -> dt.date:
    return (now or timezone.now()).astimezone(SHANGHAI).date() - dt.timedelta(days=1)
