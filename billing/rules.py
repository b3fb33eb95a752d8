"""The audit rules: uses matched against charges per encounter and item, set-based.

One module for the pre-discharge audit (出院预审核, ``until`` = now) and the nightly
reconciliation (``until`` = the end of the business day, Asia/Shanghai), so the ward sees
exactly what finance will see. Kinds and definitions are CONTRACT.md's "Reconciliation":

- ``UNBILLED_USE`` (漏费): a chargeable item whose net used (uses - returns from the
  patient) is above its net charged (charged - refunded) in the encounter; quantity = the
  shortfall.
- ``DUPLICATE_CHARGE`` (重复收费): a scan-billed item with net charged > net used > 0;
  quantity = the excess.
- ``CHARGE_WITHOUT_USE`` (无使用收费): a scan-billed item with net charged > 0 and no use
  standing in the encounter (net used = 0: never used, or every use came back), so that
  every "charged more than used" case of a scan-billed item is exactly one of these two.
- ``PRICE_MISMATCH`` (超物价收费 / 少收费): a charge line whose unit price is not the approved
  charge price in force at its ``charged_at`` (or no approved price was in force then).
- ``CHARGE_WITHOUT_ORDER`` (无医嘱收费): a charge line linked to no doctor order and whose
  order code matches no doctor order of the encounter ordered before ``until``.
"Scan-billed" is tracked by unit or ``billed_by`` scan (the item's master data now).

The cut-off. Every event strictly before ``until`` counts, nothing after it (half-open,
like the business day: the nightly run passes the next day's midnight). Running counters
(``Use.returned_quantity``, ``ChargeLine.refunded_quantity``) carry no time, so they are
not read: returns are the ledger's return moves from the PATIENT location carrying the
encounter's visit number (``StockMove.encounter_no``, ``occurred_at``), refunds are the
``ChargeRefund`` rows (``refunded_at``). A cut-off in the past therefore sees the encounter
as it stood then. A charge line fully refunded before the cut-off has no effect left and
raises no line finding (refunding and re-charging is how a ward fixes a wrong price).

Set-based. The figures of every encounter and item are SQL aggregates and correlated
subqueries (``Sum``, ``Subquery``/``OuterRef``, ``Exists``) and the finding's kind is a SQL
``CASE``; Python only turns the returned rows into ``Finding`` objects. ``findings`` issues
four queries whatever the number of encounters.

Department of a finding: for a line finding the charge line's department; for a matching
finding the department of the latest use of the item in the encounter, else of its latest
charge, else the encounter's ward. ``ref``: ``use:<id>`` (the latest use, for UNBILLED_USE)
or ``charge:<id>`` (the line, or the pair's latest line).

Entry points:
- ``findings(encounters, until=..., active_since=None)``: every kind for a queryset of
  encounters or an iterable of ids/encounters; the audit calls it with ``[encounter.pk]``
  and ``until=timezone.now()``.
- ``findings_for_day(start=, end=)``: the nightly run. CONTRACT.md reports a pair "on each
  day the encounter had a use or charge of that item": the pairs with a use, charge,
  return or refund (returns and refunds are negative uses and charges) in [start, end),
  matched on all their events before ``end``; line findings follow the same pair rule.
- ``KINDS``/``Finding.explanation``/``Finding.action``: the Chinese explanation and what to
  do (补计费 / 退费 / 补医嘱 / 核对价格), for pages of both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from consumables.models import Consumable, PriceVersion
from consumables.prices import PRICE_FIELD, PRICE_PLACES
from inventory.models import Location, StockMove

from .models import ChargeLine, ChargeRefund, DoctorOrder, Encounter, Use

SHANGHAI = ZoneInfo("Asia/Shanghai")

UNBILLED_USE = "UNBILLED_USE"
CHARGE_WITHOUT_USE = "CHARGE_WITHOUT_USE"
DUPLICATE_CHARGE = "DUPLICATE_CHARGE"
PRICE_MISMATCH = "PRICE_MISMATCH"
CHARGE_WITHOUT_ORDER = "CHARGE_WITHOUT_ORDER"


@dataclass(frozen=True)
class KindInfo:
    label: str
    action: str
    action_en: str
    advice: str


KINDS: dict[str, KindInfo] = {
    UNBILLED_USE: KindInfo(
        "漏费（使用未计费）",
        "补计费",
        "add the charge",
        "请在 HIS 补录计费，或核对是否漏扫、退回未登记。",
    ),
    CHARGE_WITHOUT_USE: KindInfo(
        "无使用收费",
        "退费",
        "refund",
        "确未使用的请退费；确已使用的请补扫使用记录。",
    ),
    DUPLICATE_CHARGE: KindInfo(
        "重复收费",
        "退费",
        "refund",
        "请退掉多收的数量。",
    ),
    PRICE_MISMATCH: KindInfo(
        "收费价格不符",
        "核对价格",
        "check the price",
        "请核对物价办核定的收费价，退费后按核定价格重新计费。",
    ),
    CHARGE_WITHOUT_ORDER: KindInfo(
        "无医嘱收费",
        "补医嘱",
        "add the doctor order",
        "请医生补开医嘱；如不应收费请退费。",
    ),
}


def _price(text: str) -> str:
    """110.0000 -> 110.00, 3.1416 -> 3.1416: two decimal places at least, four at most."""
    value = Decimal(text)
    places = max(2, min(4, -value.normalize().as_tuple().exponent))
    return f"{value:.{places}f}"


@dataclass(frozen=True)
class Finding:
    """One anomaly, in the shape of a reconciliation exception row (CONTRACT.md)."""

    kind: str
    encounter: str
    department: str
    material_code: str
    quantity: int
    ref: str
    detail: dict = field(default_factory=dict, hash=False)

    @property
    def info(self) -> KindInfo:
        return KINDS[self.kind]

    @property
    def label(self) -> str:
        return self.info.label

    @property
    def action(self) -> str:
        return self.info.action

    @property
    def explanation(self) -> str:
        """What is wrong, in Chinese, with the figures, then what to do."""
        d = self.detail
        item = f"{d.get('name', '')}（{self.material_code}）"
        unit = d.get("unit", "")
        if self.kind == UNBILLED_USE:
            text = (
                f"{item} 净使用 {d['net_used']}{unit}，净计费 {d['net_charged']}{unit}，"
                f"少计费 {self.quantity}{unit}。"
            )
        elif self.kind == DUPLICATE_CHARGE:
            text = (
                f"{item} 净计费 {d['net_charged']}{unit}，净使用 {d['net_used']}{unit}，"
                f"多计费 {self.quantity}{unit}。"
            )
        elif self.kind == CHARGE_WITHOUT_USE:
            text = f"{item} 已计费 {d['net_charged']}{unit}，本次住院没有使用记录（扫码计费耗材）。"
        elif self.kind == PRICE_MISMATCH:
            if d.get("charge_price") is None:
                text = f"{item} 计费单价 {_price(d['unit_price'])}，计费时没有已批准的收费价。"
            else:
                text = (
                    f"{item} 计费单价 {_price(d['unit_price'])}，计费时执行的收费价为 "
                    f"{_price(d['charge_price'])}（差额 {d['amount_difference']} 元）。"
                )
        else:
            code = d.get("order_code") or "（无医嘱编码）"
            text = f"{item} 计费 {self.quantity}{unit}，医嘱编码 {code} 在本次住院没有医嘱。"
        return text + self.info.advice

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "encounter": self.encounter,
            "department": self.department,
            "material_code": self.material_code,
            "quantity": self.quantity,
            "ref": self.ref,
            "detail": self.detail,
        }


def business_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the Asia/Shanghai calendar day ``day``; ``end`` is the nightly cut-off."""
    start = dt.datetime.combine(day, dt.time.min, tzinfo=SHANGHAI)
    return start, start + dt.timedelta(days=1)


def business_day(at: dt.datetime) -> dt.date:
    return at.astimezone(SHANGHAI).date()


# -- figures as correlated subqueries ----------------------------------------------------


def subquery_sum(queryset: QuerySet, group: str, field: str = "quantity", output_field=None):
    """SUM(``field``) of a correlated ``queryset`` as a scalar subquery, 0 when it is empty.

    ``group`` is a column the correlation fixes, so the GROUP BY yields one row at most.
    """
    output_field = output_field or IntegerField()
    summed = queryset.order_by().values(group).annotate(total=Sum(field)).values("total")[:1]
    return Coalesce(
        Subquery(summed, output_field=output_field), Value(0), output_field=output_field
    )


def _uses(encounter, item, until):
    return Use.objects.filter(encounter_id=encounter, consumable_id=item, occurred_at__lt=until)


def _returns(visit_no, item, until):
    return StockMove.objects.filter(
        kind=StockMove.Kind.RETURN,
        from_location__usage=Location.Usage.PATIENT,
        encounter_no=visit_no,
        consumable_id=item,
        occurred_at__lt=until,
    )


def _charges(encounter, item, until):
    return ChargeLine.objects.filter(
        encounter_id=encounter, consumable_id=item, charged_at__lt=until
    )


def _refunds(encounter, item, until):
    return ChargeRefund.objects.filter(
        charge__encounter_id=encounter, charge__consumable_id=item, refunded_at__lt=until
    )


def pair_figures(*, encounter, visit_no, item, until: dt.datetime) -> dict:
    """``used``, ``returned``, ``charged``, ``refunded`` of one encounter and item up to
    ``until``, as subqueries. ``encounter``/``visit_no``/``item`` are values or ``OuterRef``s."""
    return {
        "used": subquery_sum(_uses(encounter, item, until), "consumable_id"),
        "returned": subquery_sum(_returns(visit_no, item, until), "consumable_id"),
        "charged": subquery_sum(_charges(encounter, item, until), "consumable_id"),
        "refunded": subquery_sum(_refunds(encounter, item, until), "charge__consumable_id"),
    }


def _scope(encounters, field: str = "encounter") -> Q:
    """A filter on ``field`` for a queryset of encounters (kept as a subquery) or ids."""
    if isinstance(encounters, QuerySet):
        return Q(**{f"{field}__in": encounters.values("pk")})
    return Q(**{f"{field}__in": [getattr(e, "pk", e) for e in encounters]})


def _active(start: dt.datetime, end: dt.datetime, *, encounter, visit_no, item) -> Q:
    """The encounter and item had a use or charge (or a return or refund) in [start, end)."""
    return (
        Q(Exists(_uses(encounter, item, end).filter(occurred_at__gte=start)))
        | Q(Exists(_charges(encounter, item, end).filter(charged_at__gte=start)))
        | Q(Exists(_returns(visit_no, item, end).filter(occurred_at__gte=start)))
        | Q(Exists(_refunds(encounter, item, end).filter(refunded_at__gte=start)))
    )


def _scan_billed() -> Q:
    return Q(consumable__tracking=Consumable.Tracking.UNIT) | Q(
        consumable__billed_by=Consumable.BilledBy.SCAN
    )


def _later_row_of_pair(queryset: QuerySet, time_field: str) -> Exists:
    """A later row of the same encounter and item in ``queryset`` (ties broken by pk)."""
    return Exists(
        queryset.filter(
            encounter_id=OuterRef("encounter_id"), consumable_id=OuterRef("consumable_id")
        ).filter(
            Q(**{f"{time_field}__gt": OuterRef(time_field)})
            | Q(**{time_field: OuterRef(time_field), "pk__gt": OuterRef("pk")})
        )
    )


PAIR = {"encounter": OuterRef("encounter_id"), "item": OuterRef("consumable_id")}
VISIT = OuterRef("encounter__visit_no")


# -- matching per encounter and item ---------------------------------------------------------
#
# One row stands for each encounter/item pair: its latest use (or, for pairs never used,
# its latest charge line), so there is no GROUP BY and every figure is a correlated
# subquery evaluated once per pair, on the (encounter, consumable) indexes.

_PAIR_FIELDS = (
    "pk",
    "encounter__visit_no",
    "encounter__department__code",
    "consumable__material_code",
    "consumable__name",
    "consumable__unit",
)


def _matching_rows_from_uses(encounters, until, active_since) -> QuerySet:
    """Pairs with a use before ``until``: every matching kind, computed in SQL."""
    uses = Use.objects.filter(occurred_at__lt=until)
    rows = uses.filter(_scope(encounters)).exclude(_later_row_of_pair(uses, "occurred_at"))
    if active_since is not None:
        rows = rows.filter(_active(active_since, until, visit_no=VISIT, **PAIR))
    return (
        rows.annotate(**pair_figures(visit_no=VISIT, until=until, **PAIR))
        .annotate(
            net_used=F("used") - F("returned"),
            net_charged=F("charged") - F("refunded"),
            scan_billed=Case(When(_scan_billed(), then=Value(True)), default=Value(False)),
            charge_ref=Subquery(
                _charges(until=until, **PAIR).order_by("-charged_at", "-pk").values("pk")[:1],
                output_field=BigIntegerField(),
            ),
        )
        .annotate(
            kind=Case(
                When(
                    Q(consumable__chargeable=True, net_used__gt=F("net_charged")),
                    then=Value(UNBILLED_USE),
                ),
                When(
                    Q(scan_billed=True, net_used__gt=0, net_charged__gt=F("net_used")),
                    then=Value(DUPLICATE_CHARGE),
                ),
                When(
                    Q(scan_billed=True, net_used=0, net_charged__gt=0),
                    then=Value(CHARGE_WITHOUT_USE),
                ),
                default=Value(None),
                output_field=CharField(),
            )
        )
        .filter(kind__isnull=False)
        .values(
            *_PAIR_FIELDS,
            "department__code",
            "used",
            "returned",
            "charged",
            "refunded",
            "net_used",
            "net_charged",
            "charge_ref",
            "kind",
        )
    )


def _matching_rows_from_charges(encounters, until, active_since) -> QuerySet:
    """Scan-billed items charged before ``until`` and never used before it."""
    charges = ChargeLine.objects.filter(charged_at__lt=until)
    rows = (
        charges.filter(_scope(encounters), _scan_billed())
        .exclude(_later_row_of_pair(charges, "charged_at"))
        .exclude(Exists(_uses(until=until, **PAIR)))
    )
    if active_since is not None:
        rows = rows.filter(_active(active_since, until, visit_no=VISIT, **PAIR))
    return (
        rows.annotate(
            charged=subquery_sum(_charges(until=until, **PAIR), "consumable_id"),
            refunded=subquery_sum(_refunds(until=until, **PAIR), "charge__consumable_id"),
        )
        .annotate(net_charged=F("charged") - F("refunded"))
        .filter(net_charged__gt=0)
        .values(*_PAIR_FIELDS, "department__code", "charged", "refunded", "net_charged")
    )


def _figures(row: dict) -> dict:
    return {
        "name": row["consumable__name"],
        "unit": row["consumable__unit"],
        "used": row.get("used", 0),
        "returned": row.get("returned", 0),
        "charged": row["charged"],
        "refunded": row["refunded"],
        "net_used": row.get("net_used", 0),
        "net_charged": row["net_charged"],
    }


def matching_findings(
    encounters, *, until: dt.datetime, active_since: dt.datetime | None = None
) -> list[Finding]:
    """UNBILLED_USE, DUPLICATE_CHARGE and CHARGE_WITHOUT_USE of ``encounters`` (two queries).

    ``ref`` is the pair's latest use (UNBILLED_USE) or latest charge line. With
    ``active_since``, only the pairs that had a use, charge, return or refund in
    [active_since, until) (the nightly run reports a pair on each such day).
    """
    found = []
    for row in _matching_rows_from_uses(encounters, until, active_since):
        kind = row["kind"]
        unbilled = kind == UNBILLED_USE
        found.append(
            Finding(
                kind=kind,
                encounter=row["encounter__visit_no"],
                department=row["department__code"],
                material_code=row["consumable__material_code"],
                quantity=abs(row["net_used"] - row["net_charged"]),
                ref=f"use:{row['pk']}" if unbilled else f"charge:{row['charge_ref']}",
                detail=_figures(row),
            )
        )
    for row in _matching_rows_from_charges(encounters, until, active_since):
        found.append(
            Finding(
                kind=CHARGE_WITHOUT_USE,
                encounter=row["encounter__visit_no"],
                department=row["department__code"] or row["encounter__department__code"],
                material_code=row["consumable__material_code"],
                quantity=row["net_charged"],
                ref=f"charge:{row['pk']}",
                detail=_figures(row),
            )
        )
    return found


# -- charge lines --------------------------------------------------------------------------


def _standing_charge_lines(encounters, until, active_since) -> QuerySet:
    """Charge lines before ``until`` with some quantity not refunded by then."""
    rows = ChargeLine.objects.filter(_scope(encounters), charged_at__lt=until)
    if active_since is not None:
        rows = rows.filter(_active(active_since, until, visit_no=VISIT, **PAIR))
    refunded = ChargeRefund.objects.filter(charge=OuterRef("pk"), refunded_at__lt=until)
    return (
        rows.annotate(refunded=subquery_sum(refunded, "charge_id"))
        .annotate(net_quantity=F("quantity") - F("refunded"))
        .filter(net_quantity__gt=0)
        .annotate(department_code=Coalesce(F("department__code"), F("encounter__department__code")))
        .order_by("encounter__visit_no", "consumable__material_code", "pk")
    )


def _line_values(rows: QuerySet, *extra: str):
    return rows.values(
        "pk",
        "encounter__visit_no",
        "department_code",
        "consumable__material_code",
        "consumable__name",
        "consumable__unit",
        "charge_code",
        "order_code",
        "source",
        "quantity",
        "refunded",
        "net_quantity",
        "unit_price",
        "charged_at",
        *extra,
    )


def _line_finding(kind: str, row: dict, **detail) -> Finding:
    return Finding(
        kind=kind,
        encounter=row["encounter__visit_no"],
        department=row["department_code"] or "",
        material_code=row["consumable__material_code"],
        quantity=row["net_quantity"],
        ref=f"charge:{row['pk']}",
        detail={
            "name": row["consumable__name"],
            "unit": row["consumable__unit"],
            "charge_code": row["charge_code"],
            "source": row["source"],
            "charged": row["quantity"],
            "refunded": row["refunded"],
            "unit_price": str(row["unit_price"]),
            "charged_at": row["charged_at"].isoformat(),
            **detail,
        },
    )


def price_mismatches(
    encounters, *, until: dt.datetime, active_since: dt.datetime | None = None
) -> list[Finding]:
    """PRICE_MISMATCH: the price in force at each line's ``charged_at`` is a correlated
    subquery (the rule of ``consumables.prices``), one query for all lines."""
    in_force = PriceVersion.objects.filter(
        consumable_id=OuterRef("consumable_id"),
        status=PriceVersion.Status.APPROVED,
        effective_from__lte=OuterRef("charged_at"),
    ).order_by("-effective_from", "-decided_at", "-pk")
    rows = (
        _standing_charge_lines(encounters, until, active_since)
        .annotate(
            charge_price=Subquery(in_force.values("charge_price")[:1], output_field=PRICE_FIELD),
            version_in_force=Subquery(in_force.values("pk")[:1], output_field=BigIntegerField()),
        )
        .filter(
            Q(charge_price__isnull=True)
            | Q(charge_price__lt=F("unit_price"))
            | Q(charge_price__gt=F("unit_price"))
        )
    )
    found = []
    for row in _line_values(rows, "charge_price", "version_in_force"):
        # SQLite hands a subquery's decimal back without its scale: quantize to 4 places.
        price = None if row["charge_price"] is None else row["charge_price"].quantize(PRICE_PLACES)
        difference = (
            None
            if price is None
            else ((row["unit_price"] - price) * row["net_quantity"]).quantize(Decimal("0.01"))
        )
        found.append(
            _line_finding(
                PRICE_MISMATCH,
                row,
                charge_price=None if price is None else str(price),
                price_version=row["version_in_force"],
                amount_difference=None if difference is None else str(difference),
            )
        )
    return found


def charges_without_order(
    encounters, *, until: dt.datetime, active_since: dt.datetime | None = None
) -> list[Finding]:
    """CHARGE_WITHOUT_ORDER: lines with no linked order and no order of their order code in
    the encounter (``Exists``), one query for all lines."""
    orders = DoctorOrder.objects.filter(
        encounter_id=OuterRef("encounter_id"),
        order_code=OuterRef("order_code"),
        ordered_at__lt=until,
    )
    rows = (
        _standing_charge_lines(encounters, until, active_since)
        .filter(order__isnull=True)
        .exclude(Exists(orders))
    )
    return [
        _line_finding(CHARGE_WITHOUT_ORDER, row, order_code=row["order_code"])
        for row in _line_values(rows)
    ]


# -- entry points ------------------------------------------------------------------------------


def _sort_key(finding: Finding):
    return (finding.encounter, finding.kind, finding.material_code, finding.ref)


def findings(
    encounters: QuerySet[Encounter] | Iterable,
    *,
    until: dt.datetime,
    active_since: dt.datetime | None = None,
) -> list[Finding]:
    """Every finding of ``encounters`` (a queryset, or ids) counting events before ``until``.

    Four queries whatever the number of encounters. Sorted by encounter, kind, item, ref.
    """
    found = (
        matching_findings(encounters, until=until, active_since=active_since)
        + price_mismatches(encounters, until=until, active_since=active_since)
        + charges_without_order(encounters, until=until, active_since=active_since)
    )
    return sorted(found, key=_sort_key)


def encounters_active_between(start: dt.datetime, end: dt.datetime) -> QuerySet[Encounter]:
    """Encounters with a use, charge, return or refund in [start, end) (one lazy query)."""
    return Encounter.objects.filter(
        Q(
            pk__in=Use.objects.filter(occurred_at__gte=start, occurred_at__lt=end).values(
                "encounter_id"
            )
        )
        | Q(
            pk__in=ChargeLine.objects.filter(charged_at__gte=start, charged_at__lt=end).values(
                "encounter_id"
            )
        )
        | Q(
            pk__in=ChargeRefund.objects.filter(refunded_at__gte=start, refunded_at__lt=end).values(
                "charge__encounter_id"
            )
        )
        | Q(
            visit_no__in=StockMove.objects.filter(
                kind=StockMove.Kind.RETURN,
                from_location__usage=Location.Usage.PATIENT,
                occurred_at__gte=start,
                occurred_at__lt=end,
            ).values("encounter_no")
        )
    )


def findings_for_day(*, start: dt.datetime, end: dt.datetime) -> list[Finding]:
    """The nightly run's findings: every encounter/item pair that had a use or charge (or a
    return or refund) in [start, end), matched on all its events before ``end``."""
    return findings(encounters_active_between(start, end), until=end, active_since=start)
