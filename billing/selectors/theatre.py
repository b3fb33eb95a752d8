"""每日手术室高值耗材报表: the theatres' high-value daily report for finance.

Every high-value unit used in a theatre on one business day: the patient, the item and its
unit (serial or in-hospital label), the charge and what became of it, and the supplier with
the ownership of the stock (寄售/跟台 consignment or hospital-owned), so that finance can pay
consignment suppliers for exactly what was used and charged. One query for the rows.

The supplier is the receipt line the unit came in on: for a tracked unit the line received
with it (same lot, same instant), otherwise the latest receipt of the lot before the use.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import F, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from billing.models import ChargeLine, Use
from billing.selectors.common import ZERO, display_name
from config.business_day import business_day_bounds
from consumables.models import Consumable
from inventory.models import Receipt, ReceiptLine
from organisation.models import Department

STATUS = {
    "charged": "已计费 / charged",
    "his": "HIS 已计费 / charged at HIS",
    "refunded": "已退费 / refunded",
    "partly_refunded": "部分退费 / partly refunded",
    "returned": "已退回 / returned unused",
    "unbilled": "未计费（漏费）/ not charged",
    "not_chargeable": "不收费 / not chargeable",
}


def _receipt(field: str):
    line = ReceiptLine.objects.filter(
        lot_id=OuterRef("lot_id"), received_at__lte=OuterRef("received_by")
    ).order_by("-received_at", "-pk")
    return Subquery(line.values(field)[:1])


def _his_charged(end: dt.datetime):
    """Net quantity charged at HIS (no use behind the line) for the use's encounter and item."""
    lines = (
        ChargeLine.objects.filter(
            encounter_id=OuterRef("encounter_id"),
            consumable_id=OuterRef("consumable_id"),
            use__isnull=True,
            charged_at__lt=end,
        )
        .order_by()
        .values("consumable_id")
        .annotate(net=Sum(F("quantity") - F("refunded_quantity")))
        .values("net")
    )
    return Coalesce(Subquery(lines, output_field=IntegerField()), Value(0))


def theatre_uses(*, day: dt.date, department: Department | None = None) -> list[dict]:
    """High-value uses in theatres on ``day`` (Asia/Shanghai), in time order."""
    start, end = business_day_bounds(day)
    uses = Use.objects.filter(
        occurred_at__gte=start,
        occurred_at__lt=end,
        department__kind=Department.Kind.THEATRE,
        consumable__value_class=Consumable.ValueClass.HIGH,
    )
    if department is not None:
        uses = uses.filter(department=department)
    rows = (
        uses.annotate(received_by=Coalesce("tracked_unit__received_at", "occurred_at"))
        .annotate(
            supplier_code=_receipt("receipt__supplier__code"),
            supplier_name=_receipt("receipt__supplier__name"),
            ownership=_receipt("receipt__ownership"),
            invoice_no=_receipt("receipt__invoice_no"),
            his_charged=_his_charged(end),
        )
        .order_by("occurred_at", "pk")
        .values(
            "pk",
            "occurred_at",
            "department__code",
            "department__name",
            "encounter__visit_no",
            "encounter__patient__name",
            "consumable__material_code",
            "consumable__name",
            "consumable__spec",
            "consumable__unit",
            "consumable__chargeable",
            "lot__lot_no",
            "tracked_unit__serial",
            "tracked_unit__udi_di",
            "quantity",
            "returned_quantity",
            "charge__pk",
            "charge__unit_price",
            "charge__quantity",
            "charge__refunded_quantity",
            "charge__udi_di",
            "charge__insurance_code",
            "supplier_code",
            "supplier_name",
            "ownership",
            "invoice_no",
            "his_charged",
            "user__username",
            "user__first_name",
            "user__last_name",
        )
    )
    return [_with_charge_status(row) for row in rows]


def _with_charge_status(row: dict) -> dict:
    net_used = row["quantity"] - row["returned_quantity"]
    row["net_used"] = net_used
    row["consignment"] = row["ownership"] == Receipt.Ownership.CONSIGNMENT
    row["udi_di"] = row["tracked_unit__udi_di"] or row["charge__udi_di"] or ""
    row["user_name"] = display_name(
        row["user__first_name"], row["user__last_name"], row["user__username"]
    )
    price = row["charge__unit_price"]
    if row["charge__pk"] is not None:
        net_charged = row["charge__quantity"] - row["charge__refunded_quantity"]
        row["net_charged"] = net_charged
        row["charged_amount"] = (price * net_charged).quantize(Decimal("0.01"))
        if net_charged == 0:
            status = "returned" if net_used == 0 else "refunded"
        else:
            status = "charged" if net_charged >= net_used else "partly_refunded"
    else:
        row["net_charged"] = row["his_charged"]
        row["charged_amount"] = None
        if not row["consumable__chargeable"]:
            status = "not_chargeable"
        elif net_used == 0:
            status = "returned"
        elif row["his_charged"] > 0:
            status = "his"
        else:
            status = "unbilled"
    row["status"] = status
    row["status_label"] = STATUS[status]
    row["problem"] = status in ("unbilled", "refunded", "partly_refunded")
    return row


def theatre_totals(rows: list[dict]) -> dict:
    """Units and charged amounts of the day, split consignment / hospital-owned (no query)."""
    totals = {
        "uses": len(rows),
        "units": sum(r["net_used"] for r in rows),
        "charged_amount": sum((r["charged_amount"] or ZERO for r in rows), ZERO),
        "consignment_units": sum(r["net_used"] for r in rows if r["consignment"]),
        "consignment_amount": sum(
            (r["charged_amount"] or ZERO for r in rows if r["consignment"]), ZERO
        ),
        "problems": sum(1 for r in rows if r["problem"]),
    }
    totals["owned_units"] = totals["units"] - totals["consignment_units"]
    totals["owned_amount"] = totals["charged_amount"] - totals["consignment_amount"]
    return totals
