"""Stock-vs-charge variance over a period, from the stored variance and exception rows.

Variance rate (差异率) here is gross: the sum over department/item rows of |used - billed|
divided by the sum of used. A ward that under-charges one item and over-charges another
would net to zero and hide both; the nightly threshold (VARIANCE_OVER_THRESHOLD) is also
taken per row on the absolute difference. The net figures (used - billed, and the amount:
positive = charges missed 漏收, negative = charged beyond use) are shown beside it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import Abs

from billing.models import ReconciliationRun, VarianceRow
from billing.reconciliation import threshold_pct
from billing.selectors.common import KIND_ORDER, ZERO, Period, exceptions_in, finding_key, pct
from consumables.models import Consumable
from organisation.models import Department

_SUMS = {
    "used": Sum("used"),
    "billed": Sum("billed"),
    "net_qty": Sum("variance_qty"),
    "gross_qty": Sum(Abs("variance_qty")),
    "net_amount": Sum("variance_amount"),
    "gross_amount": Sum(Abs("variance_amount")),
}


def _figures(row: dict) -> dict:
    """Fill the rates of one aggregated row (None sums become 0)."""
    for key in ("used", "billed", "net_qty", "gross_qty"):
        row[key] = row.get(key) or 0
    for key in ("net_amount", "gross_amount"):
        row[key] = row.get(key) or ZERO
    row["gross_pct"] = pct(row["gross_qty"], row["used"])
    row["net_pct"] = pct(row["net_qty"], row["used"])
    limit = threshold_pct()
    row["over"] = row["gross_pct"] is not None and row["gross_pct"] > limit
    # Billed with nothing used at all is over target too (an infinite rate).
    row["over"] = row["over"] or (row["used"] == 0 and row["gross_qty"] > 0)
    return row


def variance_rows(period: Period):
    """Stored variance rows of the period, stores' pure receipt/issue rows left out."""
    return VarianceRow.objects.filter(
        run__date__gte=period.start, run__date__lte=period.end
    ).exclude(used=0, billed=0)


@dataclass
class Day:
    date: dt.date
    status: str | None  # the run's status, None: never run
    used: int = 0
    billed: int = 0
    net_qty: int = 0
    gross_qty: int = 0
    net_amount: Decimal = ZERO
    gross_amount: Decimal = ZERO
    gross_pct: Decimal | None = None
    net_pct: Decimal | None = None
    over: bool = False
    exceptions: int = 0

    @property
    def has_result(self) -> bool:
        return self.status is not None and self.status != ReconciliationRun.Status.QUEUED


def daily_series(period: Period, *, department: Department | None = None) -> list[Day]:
    """One ``Day`` per calendar day of ``period`` (days never run included). Three queries."""
    runs = dict(
        ReconciliationRun.objects.filter(date__gte=period.start, date__lte=period.end).values_list(
            "date", "status"
        )
    )
    rows = variance_rows(period)
    exceptions = exceptions_in(period)
    if department is not None:
        rows = rows.filter(department=department)
        exceptions = exceptions.filter(department_code=department.code)
    sums = {row["run__date"]: row for row in rows.order_by().values("run__date").annotate(**_SUMS)}
    counts = dict(
        exceptions.order_by()
        .values("run__date")
        .annotate(n=Count("pk"))
        .values_list("run__date", "n")
    )
    days = []
    for date in period.days:
        day = Day(date=date, status=runs.get(date), exceptions=counts.get(date, 0))
        if date in sums:
            figures = _figures(dict(sums[date]))
            for key in (
                "used",
                "billed",
                "net_qty",
                "gross_qty",
                "net_amount",
                "gross_amount",
                "gross_pct",
                "net_pct",
                "over",
            ):
                setattr(day, key, figures[key])
        days.append(day)
    return days


def period_totals(days: list[Day]) -> dict:
    """Totals of a daily series (no query)."""
    used = sum(d.used for d in days)
    gross = sum(d.gross_qty for d in days)
    net = sum(d.net_qty for d in days)
    return {
        "used": used,
        "billed": sum(d.billed for d in days),
        "net_qty": net,
        "gross_qty": gross,
        "net_amount": sum((d.net_amount for d in days), ZERO),
        "gross_amount": sum((d.gross_amount for d in days), ZERO),
        "gross_pct": pct(gross, used),
        "net_pct": pct(net, used),
        "exceptions": sum(d.exceptions for d in days),
        "days_run": sum(1 for d in days if d.has_result),
        "days_over": sum(1 for d in days if d.over),
    }


def departments_by_variance(period: Period) -> list[dict]:
    """Departments ranked by gross variance amount, then quantity, over ``period`` (one query)."""
    rows = (
        variance_rows(period)
        .order_by()
        .values("department_id", "department__code", "department__name", "department__kind")
        .annotate(**_SUMS)
        .order_by("-gross_amount", "-gross_qty", "department__code")
    )
    return [_figures(dict(row)) for row in rows]


def _kind_counts(prefix: str = "") -> dict:
    key = finding_key()
    return {
        f"{prefix}{kind}": Count(key, distinct=True, filter=Q(kind=kind)) for kind in KIND_ORDER
    }


def departments_by_exceptions(period: Period) -> list[dict]:
    """Departments ranked by findings (a pair seen on several days counts once) over
    ``period``, with the count per kind. Hospital-wide rows (four prices) have no
    department and are left out. Two queries (the rows, the departments' names)."""
    rows = list(
        exceptions_in(period)
        .exclude(department_code="")
        .order_by()
        .values("department_code")
        .annotate(
            findings=Count(finding_key(), distinct=True), rows=Count("pk"), **_kind_counts("n_")
        )
        .order_by("-findings", "-rows", "department_code")
    )
    names = dict(
        Department.objects.filter(code__in=[r["department_code"] for r in rows]).values_list(
            "code", "name"
        )
    )
    for row in rows:
        row["department_name"] = names.get(row["department_code"], "")
        row["by_kind"] = {kind: row.pop(f"n_{kind}") for kind in KIND_ORDER}
    return rows


def exceptions_by_kind(period: Period, *, department_code: str | None = None) -> list[dict]:
    """Findings and rows per kind over ``period`` (one query), every kind listed."""
    rows = exceptions_in(period)
    if department_code is not None:
        rows = rows.filter(department_code=department_code)
    found = {
        row["kind"]: row
        for row in rows.order_by()
        .values("kind")
        .annotate(findings=Count(finding_key(), distinct=True), rows=Count("pk"))
    }
    return [
        {
            "kind": kind,
            "findings": found.get(kind, {}).get("findings", 0),
            "rows": found.get(kind, {}).get("rows", 0),
        }
        for kind in KIND_ORDER
    ]


def department_items(period: Period, department: Department) -> list[dict]:
    """The items of one department ranked by gross variance amount, with their findings
    in the period. Two queries."""
    rows = (
        variance_rows(period)
        .filter(department=department)
        .order_by()
        .values(
            "consumable_id",
            "consumable__material_code",
            "consumable__name",
            "consumable__spec",
            "consumable__unit",
            "consumable__value_class",
        )
        .annotate(**_SUMS)
        .order_by("-gross_amount", "-gross_qty", "consumable__material_code")
    )
    findings = dict(
        exceptions_in(period)
        .filter(department_code=department.code)
        .order_by()
        .values("material_code")
        .annotate(n=Count(finding_key(), distinct=True))
        .values_list("material_code", "n")
    )
    items = []
    seen = set()
    for row in rows:
        row = _figures(dict(row))
        row["findings"] = findings.get(row["consumable__material_code"], 0)
        seen.add(row["consumable__material_code"])
        items.append(row)
    # Items with findings but no variance row (e.g. a price mismatch on a balanced day).
    missing = sorted(code for code in findings if code and code not in seen)
    if missing:
        items.extend(_items_without_variance(missing, findings))
    return items


def _items_without_variance(codes: list[str], findings: dict) -> list[dict]:
    rows = Consumable.objects.filter(material_code__in=codes).values(
        "pk", "material_code", "name", "spec", "unit", "value_class"
    )
    return [
        _figures(
            {
                "consumable_id": row["pk"],
                "consumable__material_code": row["material_code"],
                "consumable__name": row["name"],
                "consumable__spec": row["spec"],
                "consumable__unit": row["unit"],
                "consumable__value_class": row["value_class"],
                "findings": findings[row["material_code"]],
            }
        )
        for row in rows
    ]


def item_days(period: Period, department: Department, consumable: Consumable) -> list[dict]:
    """The stored variance rows of one department and item, day by day (one query)."""
    rows = (
        VarianceRow.objects.filter(
            run__date__gte=period.start,
            run__date__lte=period.end,
            department=department,
            consumable=consumable,
        )
        .order_by("run__date")
        .values(
            "run__date",
            "received",
            "issued",
            "used",
            "billed",
            "variance_qty",
            "variance_amount",
            "variance_pct",
        )
    )
    limit = threshold_pct()
    found = []
    for row in rows:
        row["over"] = (
            row["used"] > 0
            and abs(row["used"] - row["billed"]) * 100 > limit * row["used"]
            or (row["used"] == 0 and row["billed"] != 0)
        )
        found.append(row)
    return found
