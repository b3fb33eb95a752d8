"""Pages: receiving (入库), issuing (出库), stock on hand (库存), movement history (流转记录).

Receiving and issuing are scan pages: the browser posts every scan to ``POST /api/v1/scans``
(``static/js/scanpage.js``), which checks the role and the department again; these views
only render the pickers, offering the user's own stores. Stock and history are read-only,
scoped to the departments the user may see (``visible_departments``). History: finance,
the insurance office and administrators (``READ_ALL_ROLES``) see every move of a unit or
lot; storekeepers and nurses only the moves from or to their own departments.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _

from config import roles
from config.errors import DomainError
from config.permissions import READ_ALL_ROLES, has_role, role_required
from consumables.models import Consumable
from consumables.resolve import Resolution, resolve_code
from organisation.models import Location, Supplier
from organisation.selectors import visible_departments

from .. import errors
from ..models import Lot, Receipt, TrackedUnit
from ..selectors import (
    consuming_departments,
    fefo_balances,
    issuing_departments,
    lot_moves,
    moves_touching,
    receiving_departments,
    stock_on_hand,
    stock_totals,
    stocked_consumables,
    unit_moves,
)

SCANNERS = (roles.STOREKEEPER, roles.ADMINISTRATOR)
READERS = (
    roles.STOREKEEPER,
    roles.NURSE,
    roles.FINANCE,
    roles.INSURANCE_OFFICE,
    roles.ADMINISTRATOR,
)
STOCK_ROW_LIMIT = 500
HISTORY_ROW_LIMIT = 1000
LOT_PICKER_LIMIT = 100


def _pick(departments, code: str | None):
    """The department with ``code`` among ``departments``, else the only one, else None."""
    if code:
        return next((d for d in departments if d.code == code), None)
    return departments[0] if len(departments) == 1 else None


def _resolve(code: str) -> tuple[Resolution | None, DomainError | None]:
    try:
        return resolve_code(code), None
    except DomainError as error:
        return None, error


def _location_of(department) -> Location | None:
    # Read-only: a department that never held stock has no location yet.
    return Location.objects.filter(department=department).first() if department else None


@role_required(*SCANNERS)
def receive_page(request):
    stores = list(receiving_departments(request.user))
    return render(
        request,
        "inventory/stock/receive.html",
        {
            "stores": stores,
            "store": _pick(stores, request.GET.get("store")),
            "suppliers": Supplier.objects.filter(is_active=True).order_by("code"),
            "supplier": request.GET.get("supplier", ""),
            "invoice_no": request.GET.get("invoice_no", ""),
            "unit_cost": request.GET.get("unit_cost", ""),
            "ownerships": Receipt.Ownership.choices,
            "ownership": request.GET.get("ownership") or Receipt.Ownership.OWNED,
            "scan_disabled": not stores,
        },
    )


def _fefo_panel(store, text: str) -> dict:
    """Usable lots at ``store`` first-expiry-first-out, for the item a code names or the
    items whose codes or name contain ``text``."""
    on = timezone.localdate()
    location = _location_of(store)
    resolution, error = _resolve(text)
    scanned_lot = None
    if resolution is not None and resolution.consumable is not None:
        consumables, scanned_lot = [resolution.consumable], resolution.lot
    elif location is not None:
        consumables = stocked_consumables(location=location, text=text)
    else:
        consumables = []
    items = []
    for consumable in consumables:
        balances = list(fefo_balances(location, consumable.pk, on)) if location else []
        lots = [b.lot.lot_no for b in balances]
        items.append(
            {
                "consumable": consumable,
                "balances": balances,
                "total": sum(b.quantity for b in balances),
                "scanned_lot": scanned_lot,
                "scanned_lot_usable": scanned_lot in lots,
                "scanned_lot_not_first": bool(scanned_lot and lots and lots[0] != scanned_lot),
                "first_lot": lots[0] if lots else None,
            }
        )
    return {"items": items, "error": error if not items else None}


@role_required(*SCANNERS)
def issue_page(request):
    stores = list(issuing_departments(request.user))
    wards = list(consuming_departments())
    store = _pick(stores, request.GET.get("store"))
    query = request.GET.get("q", "")
    return render(
        request,
        "inventory/stock/issue.html",
        {
            "stores": stores,
            "store": store,
            "wards": wards,
            "ward": _pick(wards, request.GET.get("ward")),
            "q": query,
            "fefo": _fefo_panel(store, query) if store and query.strip() else None,
            "scan_disabled": not stores,
        },
    )


@role_required(*READERS)
def stock_page(request):
    visible = list(visible_departments(request.user).order_by("code"))
    code = request.GET.get("department", "")
    if code:
        department = _pick(visible, code)
        if department is None:
            raise PermissionDenied(_("无权查看该科室库存 / You may not see this department"))
        departments = [department]
    else:
        department = _pick(visible, None)
        departments = visible
    on = timezone.localdate()
    query = request.GET.get("q", "")
    consumable_id = None
    if query.strip():
        resolution, _ignored = _resolve(query)
        if resolution is not None and resolution.consumable is not None:
            consumable_id = resolution.consumable.pk
    rows = stock_on_hand(
        departments=[d.pk for d in departments],
        on=on,
        text=query.strip(),
        consumable_id=consumable_id,
    )
    totals = stock_totals(rows, on=on)
    return render(
        request,
        "inventory/stock/on_hand.html",
        {
            "departments": visible,
            "department": department,
            "q": query,
            "rows": rows[:STOCK_ROW_LIMIT],
            "totals": totals,
            "truncated": totals["lines"] > STOCK_ROW_LIMIT,
            "row_limit": STOCK_ROW_LIMIT,
            "today": on,
        },
    )


def _unit_named(resolution: Resolution) -> TrackedUnit | None:
    units = TrackedUnit.objects.select_related("lot", "location", "hospital_label")
    if resolution.hospital_label is not None:
        return units.filter(hospital_label=resolution.hospital_label).first()
    if resolution.parsed.serial and resolution.consumable is not None:
        return units.filter(
            consumable=resolution.consumable, serial=resolution.parsed.serial
        ).first()
    return None


def _history_subject(request) -> dict:
    """What the scanned text (or ``consumable`` + ``lot``) names: a unit, a lot, or an item
    whose lot is still to be picked. ``lot`` present but empty means the item's no-lot lot."""
    code = request.GET.get("code", "")
    material_code = request.GET.get("consumable", "").strip()
    lot_no = request.GET.get("lot")
    subject = {"unit": None, "lot": None, "lots": None, "consumable": None, "notice": None}
    if code.strip():
        resolution, error = _resolve(code)
        if error is not None:
            return {**subject, "error": error}
        if resolution.consumable is None:
            return {**subject, "error": errors.unknown_code(code.strip())}
        consumable = resolution.consumable
        if lot_no is None:
            subject["unit"] = _unit_named(resolution)
            if subject["unit"] is None and (resolution.parsed.serial or resolution.hospital_label):
                subject["notice"] = _("该单件没有入库记录 / This unit was never received")
            lot_no = resolution.lot
    elif material_code:
        consumable = Consumable.objects.filter(material_code=material_code).first()
        if consumable is None:
            return {**subject, "error": errors.unknown_code(material_code)}
    else:
        return subject
    subject["consumable"] = consumable
    if subject["unit"] is not None:
        subject["lot"] = subject["unit"].lot
    elif lot_no is not None:
        subject["lot"] = Lot.objects.filter(consumable=consumable, lot_no=lot_no).first()
        if subject["lot"] is None:
            subject["notice"] = _("批号 %(lot)s 没有记录 / No records of this lot") % {
                "lot": lot_no or _("（无）")
            }
    else:
        lots = list(consumable.lots.order_by("expiry", "lot_no")[: LOT_PICKER_LIMIT + 1])
        if len(lots) == 1:
            subject["lot"] = lots[0]
        else:
            subject["lots"] = lots[:LOT_PICKER_LIMIT]
    return subject


@role_required(*READERS)
def history_page(request):
    subject = _history_subject(request)
    moves, truncated = None, False
    scoped = not has_role(request.user, *READ_ALL_ROLES)
    if subject["unit"] is not None or subject["lot"] is not None:
        moves = unit_moves(subject["unit"]) if subject["unit"] else lot_moves(subject["lot"])
        if scoped:
            moves = moves_touching(moves, visible_departments(request.user))
        moves = list(moves[: HISTORY_ROW_LIMIT + 1])
        truncated = len(moves) > HISTORY_ROW_LIMIT
        moves = moves[:HISTORY_ROW_LIMIT]
    return render(
        request,
        "inventory/stock/history.html",
        {
            **subject,
            "code": request.GET.get("code", ""),
            "moves": moves,
            "truncated": truncated,
            "row_limit": HISTORY_ROW_LIMIT,
            "scoped": scoped,
        },
    )


urlpatterns = [
    path("receive/", receive_page, name="receive"),
    path("issue/", issue_page, name="issue"),
    path("stock/", stock_page, name="stock"),
    path("history/", history_page, name="history"),
]
