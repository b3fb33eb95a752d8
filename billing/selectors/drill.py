"""The end of the drill-down: the exceptions of an item, and the moves and charges behind one.

An exception's ``ref`` says what it stands on (``use:<id>``, ``charge:<id>``,
``receipt_line:<id>``, ``variance:<dept>:<material>``, ``consumable:<material>``); its kind
says how wide the evidence is. A pair finding (漏费, 重复收费, 无使用收费) stands on every use,
return and charge of the item in the encounter up to the end of the run's day; a line
finding on its charge line and the use behind it; a variance on the department's moves and
charges of the item that day. Each table is one query whatever the number of rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from billing import rules
from billing.models import ChargeLine, ChargeRefund, Encounter, ExceptionRow
from billing.selectors.common import PAIR_KINDS, Period, exceptions_in, kind_label
from config.business_day import business_day_bounds
from config.i18n import is_english
from inventory.models import StockMove


def item_exceptions(period: Period, *, department_code: str, material_code: str) -> QuerySet:
    """Exception rows of one department and item over ``period`` (one query when read)."""
    return (
        exceptions_in(period)
        .filter(department_code=department_code, material_code=material_code)
        .select_related("run")
        .order_by("-run__date", "kind", "encounter_no", "ref")
    )


@dataclass
class Evidence:
    """What an exception stands on: the filters of its moves and of its charges."""

    moves: Q | None
    charges: Q | None
    until: dt.datetime


def _split(ref: str) -> tuple[str, str]:
    prefix, _, rest = ref.partition(":")
    return prefix, rest


def _numeric(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def evidence_for(exception: ExceptionRow) -> Evidence:
    """The filters selecting the moves and charges behind ``exception`` (no query)."""
    start, end = business_day_bounds(exception.run.date)
    prefix, rest = _split(exception.ref)
    kind = exception.kind
    if kind in PAIR_KINDS and exception.encounter_no:
        item = Q(consumable__material_code=exception.material_code)
        moves = item & Q(
            kind__in=(StockMove.Kind.USE, StockMove.Kind.RETURN),
            encounter_no=exception.encounter_no,
            occurred_at__lt=end,
        )
        charges = item & Q(encounter__visit_no=exception.encounter_no, charged_at__lt=end)
        return Evidence(moves, charges, end)
    if prefix == "charge" and _numeric(rest) is not None:
        pk = _numeric(rest)
        return Evidence(Q(use__charge__pk=pk), Q(pk=pk), end)
    if prefix == "use" and _numeric(rest) is not None:
        pk = _numeric(rest)
        return Evidence(Q(use__pk=pk), Q(use__pk=pk), end)
    if prefix == "receipt_line" and _numeric(rest) is not None:
        return Evidence(Q(receipt_line__pk=_numeric(rest)), None, end)
    if prefix == "variance":
        department, _, material = rest.partition(":")
        at_department = Q(from_location__department__code=department) | Q(
            to_location__department__code=department
        )
        moves = (
            at_department
            & Q(consumable__material_code=material)
            & Q(occurred_at__gte=start, occurred_at__lt=end)
        )
        refunded_that_day = Q(refunds__refunded_at__gte=start, refunds__refunded_at__lt=end)
        charges = Q(department__code=department, consumable__material_code=material) & (
            Q(charged_at__gte=start, charged_at__lt=end) | refunded_that_day
        )
        return Evidence(moves, charges, end)
    return Evidence(None, None, end)


def moves_behind(evidence: Evidence) -> list[dict]:
    """The stock moves of ``evidence`` in time order (one query)."""
    if evidence.moves is None:
        return []
    return list(
        StockMove.objects.filter(evidence.moves)
        .order_by("occurred_at", "pk")
        .values(
            "pk",
            "occurred_at",
            "kind",
            "from_location__name",
            "from_location__usage",
            "to_location__name",
            "quantity",
            "lot__lot_no",
            "encounter_no",
            "use__tracked_unit__serial",
            "use__pk",
            "receipt_line__receipt__supplier__name",
            "receipt_line__receipt__invoice_no",
            "receipt_line__receipt__ownership",
            "receipt_line__unit_cost",
            "receipt_line__purchase_price",
            "user__username",
            "user__first_name",
            "user__last_name",
        )
    )


def charges_behind(evidence: Evidence) -> list[dict]:
    """The charge lines of ``evidence``, each with what was refunded before the cut-off
    (one query: the refunds are a correlated subquery)."""
    if evidence.charges is None:
        return []
    refunded = (
        ChargeRefund.objects.filter(charge=OuterRef("pk"), refunded_at__lt=evidence.until)
        .order_by()
        .values("charge")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return list(
        ChargeLine.objects.filter(evidence.charges)
        .distinct()
        .annotate(
            refunded=Coalesce(
                Subquery(refunded, output_field=IntegerField()),
                Value(0),
                output_field=IntegerField(),
            )
        )
        .order_by("charged_at", "pk")
        .values(
            "pk",
            "charged_at",
            "encounter__visit_no",
            "department__code",
            "material_code",
            "charge_code",
            "order_code",
            "quantity",
            "refunded",
            "unit_price",
            "amount",
            "source",
            "self_pay",
            "use_id",
            "order__order_id",
            "user__username",
            "user__first_name",
            "user__last_name",
        )
    )


def exception_with_run(pk: int) -> ExceptionRow | None:
    return ExceptionRow.objects.select_related("run", "user").filter(pk=pk).first()


def encounter_of(exception: ExceptionRow) -> Encounter | None:
    if not exception.encounter_no:
        return None
    return (
        Encounter.objects.select_related("patient", "department")
        .filter(visit_no=exception.encounter_no)
        .first()
    )


def explanation(exception: ExceptionRow) -> str:
    """What the exception means, in the hospital's words, with its figures."""
    d = exception.detail or {}
    if is_english() and exception.kind not in rules.KINDS:
        from billing.findings_text import run_level_explanation_en

        return run_level_explanation_en(
            exception.kind, exception.material_code, exception.department_code, d
        )
    if exception.kind in rules.KINDS:
        from billing.findings_text import explanation as finding_explanation

        try:
            return finding_explanation(rules.Finding(
                kind=exception.kind,
                encounter=exception.encounter_no,
                department=exception.department_code,
                material_code=exception.material_code,
                quantity=exception.quantity or 0,
                ref=exception.ref,
                detail=d,
            ))
        except (KeyError, TypeError, ValueError):
            pass  # an older row without the figures: fall back to the label
    if exception.kind == "VARIANCE_OVER_THRESHOLD":
        return (
            f"{exception.department_code} 科室 {exception.material_code} 当日使用 {d.get('used')}，"
            f"计费 {d.get('billed')}，差异率 {d.get('variance_pct')}%，超过 "
            f"{d.get('threshold_pct')}% 的目标。请核对漏扫、漏计费或多计费。"
        )
    if exception.kind == "STOCK_CONSUMPTION_VARIANCE":
        return (
            f"{exception.department_code} 科室 {exception.material_code} 自 {d.get('opened_at')} "
            f"至 {d.get('closed_at')} 两次盘点之间：期初 {d.get('opening')} + 入库 "
            f"{d.get('received')} + 领入 {d.get('issued_in')} − 出库/退库 {d.get('issued_out')} − "
            f"报损 {d.get('scrapped')} − 期末 {d.get('closing')} = 消耗 {d.get('consumed')}；"
            f"扫码使用 {d.get('used')}，计费 {d.get('billed')}，差异率 "
            f"{d.get('variance_pct') or '—'}%，超过 {d.get('threshold_pct')}% 的目标。"
            "请核对漏计费、错计费或无记录的损耗。"
        )
    if exception.kind == "PURCHASE_PRICE_MISMATCH":
        return (
            f"{exception.material_code} 入库单价 {d.get('unit_cost')}，已批准采购价 "
            f"{d.get('purchase_price')}（供应商 {d.get('supplier')}，发票 {d.get('invoice_no')}）。"
            "请核对发票或提请物价办调价。"
        )
    if exception.kind == "FOUR_PRICE_MISALIGNED":
        return (
            f"{exception.material_code} 挂网价 {d.get('platform_price')}、集采价 "
            f"{d.get('vbp_price')}、采购价 {d.get('purchase_price')}、收费价 "
            f"{d.get('charge_price')} 不符合四价统一。请物价办提请调价并双人审核。"
        )
    return kind_label(exception.kind)
