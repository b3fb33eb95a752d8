"""Recalls (召回): register a recall of a consumable's lots, and find where they went.

From registration on, every scan of a recalled lot is refused with ``RECALLED``
(``services.scans.refuse_if_recalled``, at receive, issue and use); returns and scrap stay
allowed so the units can be sent back. One ``Recall`` row per lot; an empty lot number
recalls every lot of the consumable, including lots not received yet.

The follow-up lists come from the ledger: the remaining units are the balances of the
recalled lots at real locations (with the serials of tracked units), and the patients to
follow up are the encounters with uses of those lots (ward -> PATIENT) net of returns from
the patient.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.db.models import F, Max, Min, Q, Sum

from config.error_codes import Both
from config.errors import DomainError
from consumables.models import Consumable
from consumables.resolve import resolve_code
from organisation.models import Location

from .. import errors
from ..models import Lot, Recall, StockBalance, StockMove, TrackedUnit

ALL_LOTS = ""


def _lot_numbers(lot_nos) -> list[str]:
    if isinstance(lot_nos, str):
        lot_nos = lot_nos.replace(",", "\n").replace("，", "\n").splitlines()
    seen = []
    for lot_no in lot_nos or []:
        lot_no = (lot_no or "").strip()
        if not lot_no or lot_no in seen:
            continue
        if len(lot_no) > 64:
            raise errors.validation(
                "lot_nos", f"批号过长：{lot_no[:20]}…", "Lot number too long", lot=lot_no
            )
        seen.append(lot_no)
    return seen


@transaction.atomic
def recall_register(*, code_or_di: str, lot_nos, reason: str, user) -> list[Recall]:
    """Register a recall of the consumable named by ``code_or_di`` (a DI, a scanned UDI or
    any of the hospital codes) for ``lot_nos``; returns one ``Recall`` per lot.

    No lot given: the lot carried by a scanned UDI, else every lot (``lot_no`` ''). Raises
    VALIDATION_ERROR, UNREADABLE_CODE, UNKNOWN_CODE, AMBIGUOUS_CODE, or ALREADY_RECALLED
    when a requested lot (or every lot) is under recall already.
    """
    reason = (reason or "").strip()
    if not reason:
        raise errors.validation("reason", "登记召回须填写原因", "A recall needs a reason")
    if len(reason) > 500:
        raise errors.validation("reason", "原因不能超过 500 字", "Reason too long (500 max)")
    if not (code_or_di or "").strip():
        raise errors.validation(
            "code_or_di", "请扫描或输入 UDI-DI / 耗材编码", "A code is required"
        )
    resolution = resolve_code(code_or_di)
    if resolution.consumable is None:
        raise errors.unknown_code(code_or_di)
    lots = _lot_numbers(lot_nos) or ([resolution.lot] if resolution.lot else [ALL_LOTS])
    # The consumable row serialises registrations of the same item (no duplicate recalls).
    consumable = Consumable.objects.select_for_update().get(pk=resolution.consumable.pk)
    existing = set(Recall.objects.filter(consumable=consumable).values_list("lot_no", flat=True))
    covered = sorted(lot for lot in lots if lot in existing or ALL_LOTS in existing)
    if covered:
        raise DomainError(
            "ALREADY_RECALLED",
            lots=[lot or Both("全部批次", "all lots") for lot in covered],
            detail={"material_code": consumable.material_code, "lots": covered},
        )
    return Recall.objects.bulk_create(
        [
            Recall(
                consumable=consumable,
                udi_di=resolution.udi_di or "",
                lot_no=lot_no,
                reason=reason,
                registered_by=user if getattr(user, "pk", None) else None,
            )
            for lot_no in lots
        ]
    )


# Reads for the recall pages and exports (selectors).


def recalls_list():
    return Recall.objects.select_related("consumable", "registered_by").order_by(
        "-registered_at", "-pk"
    )


def recalled_lots(recall: Recall):
    lots = Lot.objects.filter(consumable_id=recall.consumable_id)
    return lots.filter(lot_no=recall.lot_no) if recall.lot_no else lots


def recall_stock(recall: Recall) -> list[dict]:
    """Where the remaining units are: on-hand per real location and lot, largest first,
    with the serials (or in-hospital labels) of tracked units there. Two queries."""
    lots = recalled_lots(recall)
    rows = list(
        StockBalance.objects.filter(
            lot__in=lots, quantity__gt=0, location__usage=Location.Usage.INTERNAL
        )
        .values(
            "location_id",
            "lot_id",
            "quantity",
            location_code=F("location__code"),
            department_code=F("location__department__code"),
            department_name=F("location__department__name"),
            lot_no=F("lot__lot_no"),
            expiry=F("lot__expiry"),
        )
        .order_by("department_code", "lot_no")
    )
    serials = defaultdict(list)
    for location_id, lot_id, serial in (
        TrackedUnit.objects.filter(lot__in=lots, location__isnull=False)
        .order_by("serial")
        .values_list("location_id", "lot_id", "serial")
    ):
        serials[(location_id, lot_id)].append(serial)
    for row in rows:
        row["serials"] = serials.get((row.pop("location_id"), row.pop("lot_id")), [])
        row["material_code"] = recall.consumable.material_code
        row["name"] = recall.consumable.name
    return rows


def recall_encounters(recall: Recall) -> list[dict]:
    """The encounters that received a unit of the recalled lots and kept it: uses to the
    PATIENT location minus returns from the patient, per encounter and lot (one query)."""
    to_patient = Q(to_location__usage=Location.Usage.PATIENT)
    from_patient = Q(from_location__usage=Location.Usage.PATIENT)
    rows = (
        StockMove.objects.filter(lot__in=recalled_lots(recall))
        .exclude(encounter_no="")
        .filter((Q(kind=StockMove.Kind.USE) & to_patient) | from_patient)
        .values("encounter_no", lot_no=F("lot__lot_no"))
        .annotate(
            used=Sum("quantity", filter=to_patient, default=0),
            returned=Sum("quantity", filter=from_patient, default=0),
            first_used_at=Min("occurred_at", filter=to_patient),
            last_used_at=Max("occurred_at", filter=to_patient),
            department_code=Max("from_location__department__code", filter=to_patient),
            department_name=Max("from_location__department__name", filter=to_patient),
        )
        .annotate(net=F("used") - F("returned"))
        .filter(net__gt=0)
        .order_by("first_used_at", "encounter_no", "lot_no")
    )
    return [
        {**row, "material_code": recall.consumable.material_code, "name": recall.consumable.name}
        for row in rows
    ]


STOCK_COLUMNS = [
    ("material_code", "物资编码"),
    ("name", "名称"),
    ("department_code", "科室编码"),
    ("department_name", "科室"),
    ("lot_no", "批号"),
    ("expiry", "失效日期"),
    ("quantity", "数量"),
    ("serials", "序列号/院内码"),
]

ENCOUNTER_COLUMNS = [
    ("encounter_no", "就诊号"),
    ("material_code", "物资编码"),
    ("name", "名称"),
    ("lot_no", "批号"),
    ("department_code", "科室编码"),
    ("department_name", "使用科室"),
    ("used", "使用数量"),
    ("returned", "退回数量"),
    ("net", "净使用数量"),
    ("first_used_at", "首次使用时间"),
    ("last_used_at", "末次使用时间"),
]


def stock_export_rows(recall: Recall) -> list[dict]:
    return [{**row, "serials": " ".join(row["serials"])} for row in recall_stock(recall)]
