"""Follow-up of findings (问题跟踪): a finding's identity and amount, the insurance office's
list, the ward's list, the rankings and the watch list.

Identity. The nightly run's ``ExceptionRow`` and the pre-discharge audit's ``rules.Finding``
name the same finding by kind, encounter, material code and ref; a finding without an
encounter (a variance over threshold, a receipt at the wrong cost, four prices) by kind,
department, material code, ref and its business day. ``finding_key`` spells it; the
follow-up record (``FindingFollowUp.key``) survives every re-run of the night.

Amount (for the rankings, Tianjin ranks by 拒付金额), by kind, always positive:
- ``PRICE_MISMATCH``: the price difference on the standing quantity (``amount_difference``);
- ``PURCHASE_PRICE_MISMATCH``: |unit cost - purchase price| x quantity;
- ``VARIANCE_OVER_THRESHOLD``: |variance amount| of the day's variance row;
- a finding whose ref is a charge line (``charge:<id>``: duplicate charge, charge without
  use, without order, over order, split charge, self-pay without consent, substitution):
  the finding's quantity x the line's unit price;
- ``UNBILLED_USE`` (``use:<id>``): the shortfall x the approved charge price in force at the use;
- else the detail's ``amount`` (``STOCK_CONSUMPTION_VARIANCE``: the variance at the charge
  price in force at the closing count) or ``variance_amount`` when the kind gives one; else 0
  (``FOUR_PRICE_MISALIGNED`` is a fact about prices, not money taken).

People. The recording staff is whoever recorded the use, the charge line or the receipt the
ref names (or the row's own user); the doctor is the one of the order linked to that use or
line, else of the encounter's latest order of the same order code. A finding without one is
left out of that ranking only (a variance is nobody's act).

Counting. A finding counts once in a period (a pair reported on three days is one finding,
on its latest day in the period) and is left out once dismissed or its appeal upheld.
Reads are a bounded number of queries: the period's rows, the follow-ups, the charge lines,
uses and variance rows they name; Python only dedupes and adds up.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import BooleanField, F, Max, OuterRef, Q, Subquery, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, NullIf
from django.utils.translation import gettext_lazy as _

from billing.models import (
    ChargeLine,
    DoctorOrder,
    ExceptionRow,
    FindingFollowUp,
    Use,
    VarianceRow,
    WatchListEntry,
)
from billing.selectors.common import Period, display_name, kind_label
from consumables.models import PriceVersion
from inventory.models import ReceiptLine

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
TOP = 3  # Tianjin: the top three of the month
WATCH_MONTHS = 3  # ... monitored for three consecutive months
STATUS_OPEN = "open"
STATUS_LABELS = {
    STATUS_OPEN: _("待处理 / open"),
    **{s.value: s.label for s in FindingFollowUp.Status},
}
NOT_COUNTED = (FindingFollowUp.Status.DISMISSED, FindingFollowUp.Status.APPEAL_UPHELD)


def finding_key(
    *, kind: str, encounter: str, department: str, material_code: str, ref: str, day=None
) -> str:
    """The identity of a finding, as ``FindingFollowUp.key`` stores it."""
    if encounter:
        return "|".join((kind, encounter, material_code or "", ref or ""))
    day_text = day.isoformat() if day else ""
    return "|".join((kind, "", department or "", material_code or "", ref or "", day_text))


def row_key(row: dict) -> str:
    return finding_key(
        kind=row["kind"],
        encounter=row["encounter_no"],
        department=row["department_code"],
        material_code=row["material_code"],
        ref=row["ref"],
        day=row["day"],
    )


def ref_number(ref: str, prefix: str) -> int | None:
    head, _, tail = (ref or "").partition(":")
    return int(tail) if head == prefix and tail.isdigit() else None


def _dec(value) -> Decimal | None:
    try:
        return Decimal(str(value))
    except Exception:  # noqa: BLE001 - a detail without a number has no amount
        return None


@dataclass
class Sources:
    """What the amounts and the people behind a set of findings are read from."""

    charges: dict[int, dict] = field(default_factory=dict)
    uses: dict[int, dict] = field(default_factory=dict)
    variances: dict[tuple, Decimal] = field(default_factory=dict)
    receipts: dict[int, int | None] = field(default_factory=dict)


def _doctor(order_code: str):
    """The doctor of the order linked to the row, else of the encounter's latest order of
    the same order code (HIS charges often come without their order id)."""
    same_code = (
        DoctorOrder.objects.filter(
            encounter_id=OuterRef("encounter_id"), order_code=OuterRef(order_code)
        )
        .exclude(doctor="")
        .order_by("-ordered_at", "-pk")
        .values("doctor")[:1]
    )
    return Coalesce(NullIf("order__doctor", Value("")), Subquery(same_code))


def any_of(model, field: str, values) -> Q | RawSQL:
    """A filter: ``field`` of ``model`` is one of ``values``. On PostgreSQL as one array
    parameter (``= ANY``): a month's findings name tens of thousands of lines and keys, and
    as many ``IN`` parameters cost a quarter of a second to send and plan."""
    if connection.vendor == "postgresql":
        column = f'"{model._meta.db_table}"."{model._meta.get_field(field).column}"'
        return RawSQL(f"{column} = ANY(%s)", (list(values),), output_field=BooleanField())
    return Q(**{f"{field}__in": values})


def read_sources(rows: list[dict]) -> Sources:
    """The charge lines, uses and variance rows ``rows`` name: three queries at most."""
    charge_ids = {n for r in rows if (n := ref_number(r["ref"], "charge"))}
    use_ids = {n for r in rows if (n := ref_number(r["ref"], "use"))}
    sources = Sources()
    if charge_ids:
        for c in (
            ChargeLine.objects.filter(any_of(ChargeLine, "id", charge_ids))
            .annotate(doctor=_doctor("order_code"))
            .values("pk", "unit_price", "user_id", "doctor")
        ):
            sources.charges[c["pk"]] = c
    if use_ids:
        price = (
            PriceVersion.objects.filter(
                consumable_id=OuterRef("consumable_id"),
                status=PriceVersion.Status.APPROVED,
                effective_from__lte=OuterRef("occurred_at"),
            )
            .order_by("-effective_from", "-decided_at", "-pk")
            .values("charge_price")[:1]
        )
        for u in (
            Use.objects.filter(any_of(Use, "id", use_ids))
            .annotate(price=Subquery(price), doctor=_doctor("consumable__order_code"))
            .values("pk", "price", "user_id", "doctor")
        ):
            sources.uses[u["pk"]] = u
    receipt_ids = {n for r in rows if (n := ref_number(r["ref"], "receipt_line"))}
    if receipt_ids:
        sources.receipts = dict(
            ReceiptLine.objects.filter(pk__in=receipt_ids).values_list("pk", "move__user_id")
        )
    variance_days = {
        (r["day"], r["department_code"], r["material_code"])
        for r in rows
        if r["kind"] == "VARIANCE_OVER_THRESHOLD"
    }
    if variance_days:
        days = {d for d, _, _ in variance_days}
        for v in (
            VarianceRow.objects.filter(run__date__in=days)
            .filter(
                department_code__in={c for _, c, _ in variance_days},
                material_code__in={m for _, _, m in variance_days},
            )
            .values("run__date", "department_code", "material_code", "variance_amount")
        ):
            key = (v["run__date"], v["department_code"], v["material_code"])
            if key in variance_days:
                sources.variances[key] = v["variance_amount"]
    return sources


def amount_of(row: dict, sources: Sources) -> Decimal:
    """The finding's amount (the module's rule), to the cent, never negative."""
    kind, detail, quantity = row["kind"], row["detail"] or {}, row["quantity"] or 0
    value: Decimal | None = None
    if kind == "PRICE_MISMATCH":
        value = _dec(detail.get("amount_difference"))
    elif kind == "PURCHASE_PRICE_MISMATCH":
        cost, price = _dec(detail.get("unit_cost")), _dec(detail.get("purchase_price"))
        value = None if cost is None or price is None else (cost - price) * quantity
    elif kind == "VARIANCE_OVER_THRESHOLD":
        value = sources.variances.get((row["day"], row["department_code"], row["material_code"]))
    elif (n := ref_number(row["ref"], "charge")) and n in sources.charges:
        value = sources.charges[n]["unit_price"] * quantity
    elif (n := ref_number(row["ref"], "use")) and n in sources.uses:
        price = sources.uses[n]["price"]
        value = None if price is None else price * quantity
    if value is None:
        value = _dec(detail.get("amount", detail.get("variance_amount")))
    return abs(value or ZERO).quantize(CENT)


def people_of(row: dict, sources: Sources) -> tuple[int | None, str]:
    """(the user who recorded it, the doctor of its order) of a finding, or (None, '')."""
    record = None
    if n := ref_number(row["ref"], "receipt_line"):
        return row.get("user_id") or sources.receipts.get(n), ""
    if n := ref_number(row["ref"], "charge"):
        record = sources.charges.get(n)
    elif n := ref_number(row["ref"], "use"):
        record = sources.uses.get(n)
    if record is None:
        return row.get("user_id"), ""
    return row.get("user_id") or record["user_id"], record["doctor"] or ""


# -- the findings of a period, one per identity -----------------------------------------------

ROW_FIELDS = (
    "kind",
    "encounter_no",
    "department_code",
    "material_code",
    "quantity",
    "ref",
    "detail",
    "user_id",
)


@dataclass
class FindingView:
    key: str
    kind: str
    label: str
    encounter_no: str
    department_code: str
    material_code: str
    quantity: int | None
    ref: str
    day: dt.date
    detail: dict
    amount: Decimal
    status: str
    follow_up: FindingFollowUp | None
    recorded_by: int | None = None
    doctor: str = ""

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def counts(self) -> bool:
        return self.status not in NOT_COUNTED


def _rows(period: Period, *, kinds=(), departments=None) -> list[dict]:
    rows = ExceptionRow.objects.filter(run__date__gte=period.start, run__date__lte=period.end)
    if kinds:
        rows = rows.filter(kind__in=kinds)
    if departments is not None:
        rows = rows.filter(department_code__in=departments)
    found: dict[str, dict] = {}
    # Latest day first: a finding reported on several days keeps its latest report.
    for row in rows.order_by("-run__date", "pk").values(*ROW_FIELDS, day=F("run__date")):
        found.setdefault(row_key(row), row)
    return list(found.values())


def findings(
    period: Period,
    *,
    kinds=(),
    departments=None,
    statuses=(),
) -> list[FindingView]:
    """The findings of ``period`` with their follow-up, amount and people (five queries at
    most), biggest amount first. ``departments``: codes to keep (None: all)."""
    rows = _rows(period, kinds=kinds, departments=departments)
    keyed = {row_key(r): r for r in rows}
    # With who appealed and who decided: the page names them (no query per card).
    follow = (
        {
            f.key: f
            for f in FindingFollowUp.objects.select_related("appealed_by", "decided_by").filter(
                any_of(FindingFollowUp, "key", keyed)
            )
        }
        if keyed
        else {}
    )
    sources = read_sources(rows)
    out = []
    for key, row in keyed.items():
        record = follow.get(key)
        status = record.status if record else STATUS_OPEN
        if statuses and status not in statuses:
            continue
        user_id, doctor = people_of(row, sources)
        out.append(
            FindingView(
                key=key,
                kind=row["kind"],
                label=kind_label(row["kind"]),
                encounter_no=row["encounter_no"],
                department_code=row["department_code"],
                material_code=row["material_code"],
                quantity=row["quantity"],
                ref=row["ref"],
                day=row["day"],
                detail=row["detail"] or {},
                amount=amount_of(row, sources),
                status=status,
                follow_up=record,
                recorded_by=user_id,
                doctor=doctor,
            )
        )
    out.sort(key=lambda f: (-f.amount, f.day, f.key))
    return out


# -- rankings ------------------------------------------------------------------------------------

DIMENSIONS = ("department", "doctor", "staff")


def _subject(finding: FindingView, dimension: str) -> str:
    if dimension == "department":
        return finding.department_code
    if dimension == "doctor":
        return finding.doctor
    return str(finding.recorded_by) if finding.recorded_by else ""


def rankings(period: Period, *, by: str = "amount") -> dict[str, list[dict]]:
    """Departments, doctors and recording staff ranked by the amount (``by="amount"``) or
    the number of their counted findings in ``period``; the first ``TOP`` flagged. A finding
    with no doctor (no order linked) or no recorder is left out of that dimension only."""
    counted = [f for f in findings(period) if f.counts]
    names = _user_names({f.recorded_by for f in counted if f.recorded_by})
    out = {}
    for dimension in DIMENSIONS:
        totals: dict[str, list] = defaultdict(lambda: [ZERO, 0])
        for f in counted:
            subject = _subject(f, dimension)
            if subject:
                totals[subject][0] += f.amount
                totals[subject][1] += 1
        if by == "amount":
            order = sorted(totals.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
        else:
            order = sorted(totals.items(), key=lambda kv: (-kv[1][1], -kv[1][0], kv[0]))
        out[dimension] = [
            {
                "rank": n,
                "subject": subject,
                "label": names.get(subject, subject) if dimension == "staff" else subject,
                "amount": amount,
                "findings": count,
                "top": n <= TOP,
            }
            for n, (subject, (amount, count)) in enumerate(order, start=1)
        ]
    return out


def _user_names(ids) -> dict[str, str]:
    return {
        str(u["pk"]): display_name(u["first_name"], u["last_name"], u["username"])
        for u in get_user_model()
        .objects.filter(pk__in=ids)
        .values("pk", "username", "first_name", "last_name")
    }


def latest_finding_day() -> dt.date | None:
    """The last business day with a stored exception row (one query)."""
    return ExceptionRow.objects.aggregate(last=Max("run__date"))["last"]


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def watch_list(month: dt.date) -> list[dict]:
    """The entries under watch in ``month``, each with its trend: amount and count of its
    counted findings in every month from ``since`` to ``until`` (months still to come are
    None). One ranking per month concerned."""
    month = month_start(month)
    entries = list(WatchListEntry.objects.filter(since__lte=month, until__gte=month))
    months = sorted({add_months(e.since, i) for e in entries for i in range(WATCH_MONTHS)})
    per_month = {}
    for m in months:
        if m > month:
            continue
        period = Period.month(m.year, m.month)
        ranked = rankings(period, by="amount")
        per_month[m] = {
            dim: {r["subject"]: (r["amount"], r["findings"]) for r in rows}
            for dim, rows in ranked.items()
        }
    out = []
    for e in entries:
        trend = []
        for i in range(WATCH_MONTHS):
            m = add_months(e.since, i)
            figures = per_month.get(m)
            if figures is None:
                trend.append({"month": m, "amount": None, "findings": None})
            else:
                amount, count = figures[e.dimension].get(e.subject, (ZERO, 0))
                trend.append({"month": m, "amount": amount, "findings": count})
        out.append({"entry": e, "trend": trend})
    return out
