"""Reads for pages, reports and the scan handlers."""

from __future__ import annotations

import datetime as dt

from django.db.models import Case, Count, Exists, F, OuterRef, Q, Sum, Value, When
from django.db.models.functions import Coalesce

from organisation.models import Department, Location

from .models import Lot, Recall, ScanEvent, StockBalance, StockMove, TrackedUnit


def usable_lots(consumable_id: int, on: dt.date):
    """Lots of an item that may be issued or used on ``on``: not expired, not recalled."""
    recalled = list(
        Recall.objects.filter(consumable_id=consumable_id).values_list("lot_no", flat=True)
    )
    lots = Lot.objects.filter(consumable_id=consumable_id).filter(
        Q(expiry__isnull=True) | Q(expiry__gte=on)
    )
    if "" in recalled:  # a recall without a lot covers every lot
        return lots.none()
    return lots.exclude(lot_no__in=recalled)


def fefo_balances(location: Location, consumable_id: int, on: dt.date):
    """Usable stock of an item at a location, first-expiry-first-out (no expiry last)."""
    return (
        StockBalance.objects.select_related("lot")
        .filter(location=location, consumable_id=consumable_id, quantity__gt=0)
        .filter(lot__in=usable_lots(consumable_id, on).values("pk"))
        .order_by(F("lot__expiry").asc(nulls_last=True), "lot__lot_no", "lot_id")
    )


def fefo_allocation(location: Location, consumable_id: int, quantity: int, on: dt.date):
    """[(lot, quantity)] covering ``quantity`` first-expiry-first-out, or None if short."""
    plan, left = [], quantity
    for balance in fefo_balances(location, consumable_id, on):
        take = min(left, balance.quantity)
        plan.append((balance.lot, take))
        left -= take
        if left == 0:
            return plan
    return None


# ------------------------------------------------------------------ pages (stock, history)

NEAR_EXPIRY_DAYS = 30
# As in services/receive.py: stores and theatres receive; issues leave stores only.
RECEIVING_KINDS = (Department.Kind.STORE, Department.Kind.THEATRE)
CONSUMER_KINDS = (Department.Kind.WARD, Department.Kind.THEATRE)


def receiving_departments(user):
    """The user's own stores and theatres, where he may receive (入库)."""
    from organisation.selectors import visible_departments

    return visible_departments(user).filter(kind__in=RECEIVING_KINDS).order_by("code")


def issuing_departments(user):
    """The user's own stores, from which he may issue (出库)."""
    from organisation.selectors import visible_departments

    return visible_departments(user).filter(kind=Department.Kind.STORE).order_by("code")


def consuming_departments():
    """Every active ward and theatre: anyone may be issued to (领用科室)."""
    return Department.objects.filter(is_active=True, kind__in=CONSUMER_KINDS).order_by("code")


def consumable_text_q(text: str, prefix: str = "") -> Q:
    """Any of the five codes (UDI-DI through the package levels) or the name contains
    ``text``. ``prefix`` is the path to the consumable (``"consumable__"`` from a balance)."""
    from consumables.models import DeviceIdentifier

    p = prefix
    by_di = DeviceIdentifier.objects.filter(
        consumable=OuterRef(f"{p}pk" if p else "pk"), udi_di__icontains=text
    )
    return (
        Q(**{f"{p}name__icontains": text})
        | Q(**{f"{p}material_code__icontains": text})
        | Q(**{f"{p}charge_code__icontains": text})
        | Q(**{f"{p}order_code__icontains": text})
        | Q(**{f"{p}insurance_code__icontains": text})
        | Q(Exists(by_di))
    )


def stock_on_hand(
    *,
    departments,
    on: dt.date,
    text: str = "",
    consumable_id: int | None = None,
    near_days: int = NEAR_EXPIRY_DAYS,
):
    """Positive balances at ``departments`` (a queryset or list), one row per department,
    consumable and lot, in one query. Each row carries ``expiry_status``: ``expired``
    (expiry before ``on``), ``near`` (within ``near_days``) or ``ok``. ``consumable_id``
    narrows to one item (a scanned code); else ``text`` matches the five codes, the name
    or the lot number."""
    near = on + dt.timedelta(days=near_days)
    rows = StockBalance.objects.filter(
        quantity__gt=0, location__department__in=departments
    ).select_related("location__department", "consumable", "lot")
    if consumable_id is not None:
        rows = rows.filter(consumable_id=consumable_id)
    elif text:
        rows = rows.filter(consumable_text_q(text, "consumable__") | Q(lot__lot_no__icontains=text))
    return rows.annotate(
        expiry_status=Case(
            When(lot__expiry__lt=on, then=Value("expired")),
            When(lot__expiry__lte=near, then=Value("near")),
            default=Value("ok"),
        )
    ).order_by(
        "location__department__code",
        "consumable__material_code",
        F("lot__expiry").asc(nulls_last=True),
        "lot__lot_no",
    )


def stock_totals(rows, *, on: dt.date, near_days: int = NEAR_EXPIRY_DAYS) -> dict:
    """Totals of ``stock_on_hand`` rows in one aggregate query: lines, items, quantity and
    the lines expired / near expiry."""
    near = on + dt.timedelta(days=near_days)
    return rows.order_by().aggregate(
        lines=Count("pk"),
        items=Count("consumable", distinct=True),
        quantity=Coalesce(Sum("quantity"), 0),
        expired=Count("pk", filter=Q(lot__expiry__lt=on)),
        near=Count("pk", filter=Q(lot__expiry__gte=on, lot__expiry__lte=near)),
    )


def stocked_consumables(*, location: Location, text: str, limit: int = 10):
    """Consumables matching ``text`` that have stock at ``location`` (FEFO panel search)."""
    from consumables.models import Consumable

    stocked = StockBalance.objects.filter(
        location=location, consumable=OuterRef("pk"), quantity__gt=0
    )
    return list(
        Consumable.objects.filter(consumable_text_q(text))
        .filter(Exists(stocked))
        .order_by("material_code")[:limit]
    )


def _history(moves):
    return moves.select_related(
        "consumable", "lot", "from_location", "to_location", "user"
    ).order_by("occurred_at", "pk")


def lot_moves(lot: Lot):
    """Every move of a lot, in time order."""
    return _history(StockMove.objects.filter(lot=lot))


def unit_moves(unit: TrackedUnit):
    """The moves of one tracked unit (一物一码), in time order.

    A move names a lot, not a unit, so the unit's moves are its lot's moves whose scan
    (``ScanEvent``, same ``event_id``) named this unit: its serial or in-hospital label in
    the answer, or among the labels created by its receipt. Moves written without a scan
    (stocktake adjustments, admin) are not attributed to a unit.
    """
    label = unit.serial
    named = ScanEvent.objects.filter(event_id=OuterRef("event_id")).filter(
        Q(response__serial=label)
        | Q(response__hospital_barcode=label)
        # Exact element of the JSON list: labels are fixed-width, quoted in the JSON text.
        | Q(response__labels__icontains=f'"{label}"')
    )
    return _history(
        StockMove.objects.filter(consumable_id=unit.consumable_id, lot_id=unit.lot_id).filter(
            Exists(named)
        )
    )


def moves_touching(moves, departments):
    """Only the moves from or to a location of ``departments``."""
    return moves.filter(
        Q(from_location__department__in=departments) | Q(to_location__department__in=departments)
    )
