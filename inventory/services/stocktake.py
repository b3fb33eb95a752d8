"""Stocktake (盘点): count one department's location, a second person confirms, then the
differences are posted to the ledger as stocktake adjustments.

How a count works, and the decisions behind it:

- Opening a count snapshots the book: one line per (consumable, lot) on hand at the
  location, ``expected`` = the balance at that moment. One live count per location at a
  time (a database constraint), so the same stock is never adjusted twice.
- Counting: each scan adds to the counted quantity of its consumable + lot. Items tracked
  one-item-one-code count 1 per scanned serial or in-hospital label, and each unit only once
  per count. Lot and untracked items take the scanned package's units (or a typed quantity);
  a typed material code without a lot is accepted when the count holds exactly one lot of
  that item (else ``LOT_REQUIRED``). Nothing is refused for being expired or recalled: the
  count records what is on the shelf, and flags it.
- Scans keep flowing while a count is open (the bedside never waits for a stocktake), so
  the book may move between opening and posting. The confirm page shows that drift per
  line; confirming a count with drift needs ``accept_drift`` (else
  ``STOCK_MOVED_DURING_COUNT``). What is posted is ``counted - book at posting time``, so
  after posting the book equals what was counted, and each such difference needs a reason
  (``REASON_REQUIRED``).
- Confirmation is by a second person: not the one who opened the count and not anyone who
  scanned or corrected a line (``SELF_CONFIRMATION``; the database also refuses a posted
  count whose ``confirmed_by`` is its ``counted_by``). The stocktake row is locked and must
  be ``submitted``, so posting twice is impossible (``ALREADY_POSTED``).
- Tracked units: a unit on the book here and not counted is missing: the shortage is posted
  and its ``TrackedUnit.location`` is cleared (recorded as a ``missing`` entry). A unit found
  here that the book has at another location is moved here by a ``transfer`` move at
  posting (both books become right, no adjustment needed). A unit whose last count found it
  missing may be counted again (it comes back as a surplus). A unit the ledger says was used,
  scrapped or returned is refused (``UNIT_LEFT_STOCK``): that record must be corrected by a
  return, not by a stocktake. A unit counted but used or scrapped after it was scanned is
  left as the ledger says.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import DomainError
from consumables.models import Consumable
from consumables.resolve import resolve_code
from organisation.models import Department, Location

from .. import errors
from ..ledger import NewMove, department_location, post_moves, virtual_location
from ..models import (
    Lot,
    Recall,
    StockBalance,
    StockMove,
    Stocktake,
    StocktakeEntry,
    StocktakeLine,
    TrackedUnit,
)
from .common import lot_for

Status = Stocktake.Status


def _locked(stocktake_id: int) -> Stocktake:
    stocktake = (
        Stocktake.objects.select_for_update(of=("self",))
        .select_related("location", "department")
        .filter(pk=stocktake_id)
        .first()
    )
    if stocktake is None:
        raise DomainError("NOT_FOUND", case="stocktake", detail={"stocktake": stocktake_id})
    return stocktake


def _require(stocktake: Stocktake, wanted: str) -> None:
    if stocktake.status == wanted:
        return
    detail = {"stocktake": stocktake.pk, "status": stocktake.status}
    if stocktake.status == Status.POSTED:
        raise DomainError("ALREADY_POSTED", detail=detail)
    if stocktake.status == Status.CANCELLED:
        raise DomainError("STOCKTAKE_CANCELLED", detail=detail)
    if wanted == Status.OPEN:
        raise DomainError("STOCKTAKE_NOT_OPEN", detail=detail)
    raise DomainError("STOCKTAKE_NOT_SUBMITTED", detail=detail)


def _line_for(stocktake: Stocktake, lot: Lot) -> StocktakeLine:
    # The stocktake row is locked by the caller, so lines are not created concurrently.
    line, _ = StocktakeLine.objects.get_or_create(
        stocktake=stocktake,
        lot=lot,
        defaults={"consumable_id": lot.consumable_id, "expected": 0},
    )
    return line


@transaction.atomic
def stocktake_open(*, department: Department, user) -> Stocktake:
    """Open a count of ``department``'s location, with the book snapshot as ``expected``.

    Refused with ``STOCKTAKE_IN_PROGRESS`` while another count of it is open or submitted.
    """
    location = department_location(department)
    live = Stocktake.objects.filter(location=location, status__in=Stocktake.LIVE).first()
    in_progress = DomainError(
        "STOCKTAKE_IN_PROGRESS",
        department=department.name,
        detail={"stocktake": live.pk if live else None},
    )
    if live is not None:
        raise in_progress
    try:
        with transaction.atomic():
            stocktake = Stocktake.objects.create(
                department=department, location=location, counted_by=user
            )
    except IntegrityError as error:  # opened concurrently by someone else
        raise in_progress from error
    StocktakeLine.objects.bulk_create(
        [
            StocktakeLine(stocktake=stocktake, consumable_id=item, lot_id=lot, expected=qty)
            for item, lot, qty in StockBalance.objects.filter(
                location=location, quantity__gt=0
            ).values_list("consumable_id", "lot_id", "quantity")
        ]
    )
    return stocktake


@dataclass(frozen=True)
class CountResult:
    line: StocktakeLine
    quantity: int
    serial: str | None = None
    warnings: list[str] = field(default_factory=list)


def _warnings(lot: Lot, on: dt.date) -> list[str]:
    found = []
    if lot.expiry is not None and lot.expiry < on:
        found.append("EXPIRED")
    if Recall.objects.filter(
        consumable_id=lot.consumable_id, lot_no__in=["", lot.lot_no]
    ).exists():
        found.append("RECALLED")
    return found


def _lot_to_count(stocktake, consumable: Consumable, resolution, lot_no: str | None) -> Lot:
    wanted = (lot_no or "").strip() or resolution.lot
    if wanted:
        return lot_for(consumable, wanted, resolution.expiry)
    lots = list(
        Lot.objects.filter(
            pk__in=stocktake.lines.filter(consumable=consumable).values("lot_id")
        ).order_by("lot_no")
    )
    if len(lots) == 1:
        return lots[0]
    if not lots and consumable.tracking == Consumable.Tracking.NONE:
        return lot_for(consumable, "", None)
    raise errors.validation(
        "lot_no",
        "该耗材按批号盘点：请扫描含批号的条码，或输入批号",
        "Counting this item needs its lot: scan a code with the lot or type it",
        reason="LOT_REQUIRED",
        lots=[lot.lot_no for lot in lots],
    )


def _unit_of(resolution, consumable: Consumable) -> TrackedUnit | None:
    units = TrackedUnit.objects.select_for_update(of=("self",)).select_related("lot")
    if resolution.hospital_label is not None:
        return units.filter(hospital_label=resolution.hospital_label).first()
    if not resolution.parsed.serial:
        return None
    return units.filter(consumable=consumable, serial=resolution.parsed.serial).first()


def _last_count_found_missing(unit: TrackedUnit) -> bool:
    last = (
        StocktakeEntry.objects.filter(unit=unit, stocktake__status=Status.POSTED)
        .order_by("-stocktake__posted_at", "-pk")
        .values_list("kind", flat=True)
        .first()
    )
    return last == StocktakeEntry.Kind.MISSING


def _count_unit(stocktake, consumable, resolution, code: str, quantity, user) -> CountResult:
    if quantity not in (None, 1):
        raise errors.validation(
            "quantity",
            "一物一码耗材须逐件扫描，每次计 1 件",
            "Items tracked per unit are counted one scan per unit",
            reason="ONE_PER_UNIT",
        )
    unit = _unit_of(resolution, consumable)
    if unit is None:
        if resolution.parsed.serial or resolution.hospital_label is not None:
            raise DomainError("UNKNOWN_UNIT", detail={"serial": resolution.parsed.serial})
        raise errors.validation(
            "code",
            "高值耗材须扫描带序列号的条码或院内码（一物一码）",
            "Items tracked per unit need a code with a serial or an in-hospital label",
            reason="SERIAL_REQUIRED",
        )
    if StocktakeEntry.objects.filter(stocktake=stocktake, unit=unit).exists():
        raise DomainError("ALREADY_COUNTED", serial=unit.serial, detail={"serial": unit.serial})
    warnings, was_at = [], None
    if unit.location_id is not None and unit.location_id != stocktake.location_id:
        was_at = unit.location_id
        warnings.append("UNIT_RECORDED_ELSEWHERE")
    elif unit.location_id is None:
        if not _last_count_found_missing(unit):
            raise DomainError(
                "UNIT_LEFT_STOCK", serial=unit.serial, detail={"serial": unit.serial}
            )
        warnings.append("UNIT_WAS_MISSING")
    line = _line_for(stocktake, unit.lot)
    line.counted += 1
    line.save(update_fields=["counted"])
    StocktakeEntry.objects.create(
        stocktake=stocktake,
        line=line,
        quantity=1,
        unit=unit,
        unit_was_at_id=was_at,
        code=code,
        user=user,
    )
    warnings += _warnings(unit.lot, timezone.localdate())
    return CountResult(line=line, quantity=1, serial=unit.serial, warnings=warnings)


@transaction.atomic
def stocktake_count(
    *,
    stocktake_id: int,
    code: str,
    user,
    quantity: int | None = None,
    lot_no: str | None = None,
) -> CountResult:
    """Add one scan (or a typed code + quantity) to an open count.

    Raises UNREADABLE_CODE, UNKNOWN_CODE, AMBIGUOUS_CODE, VALIDATION_ERROR (LOT_REQUIRED,
    SERIAL_REQUIRED...), UNKNOWN_UNIT, ALREADY_COUNTED, UNIT_LEFT_STOCK, or a status code.
    """
    stocktake = _locked(stocktake_id)
    _require(stocktake, Status.OPEN)
    if not (code or "").strip():
        raise errors.validation("code", "请扫描或输入条码", "A code is required")
    if quantity is not None and quantity <= 0:
        raise errors.validation("quantity", "数量必须大于 0", "quantity must be positive")
    resolution = resolve_code(code)
    consumable = resolution.consumable
    if consumable is None:
        raise errors.unknown_code(code)
    if consumable.tracking == Consumable.Tracking.UNIT:
        return _count_unit(stocktake, consumable, resolution, code, quantity, user)
    lot = _lot_to_count(stocktake, consumable, resolution, lot_no)
    added = quantity or resolution.units_per_package or 1
    line = _line_for(stocktake, lot)
    line.counted += added
    line.save(update_fields=["counted"])
    StocktakeEntry.objects.create(
        stocktake=stocktake, line=line, quantity=added, code=code, user=user
    )
    return CountResult(line=line, quantity=added, warnings=_warnings(lot, timezone.localdate()))


@transaction.atomic
def stocktake_set_count(*, stocktake_id: int, line_id: int, counted: int, user) -> StocktakeLine:
    """Correct the counted quantity of a lot or untracked line (a box scanned twice...).

    Units tracked one-item-one-code are counted by scanning only.
    """
    stocktake = _locked(stocktake_id)
    _require(stocktake, Status.OPEN)
    line = stocktake.lines.select_related("consumable").filter(pk=line_id).first()
    if line is None:
        raise DomainError("NOT_FOUND", case="stocktake_line", detail={"line": line_id})
    if line.consumable.tracking == Consumable.Tracking.UNIT:
        raise errors.validation(
            "counted",
            "一物一码耗材只能逐件扫描计数",
            "Items tracked per unit are counted by scanning each unit",
            reason="SCAN_EACH_UNIT",
        )
    if counted is None or counted < 0:
        raise errors.validation("counted", "实盘数不能为负", "counted must not be negative")
    delta = counted - line.counted
    if delta:
        StocktakeEntry.objects.create(
            stocktake=stocktake,
            line=line,
            kind=StocktakeEntry.Kind.CORRECTION,
            quantity=delta,
            user=user,
        )
        line.counted = counted
        line.save(update_fields=["counted"])
    return line


@transaction.atomic
def stocktake_submit(*, stocktake_id: int, user) -> Stocktake:
    """Hand an open count over for confirmation by a second person; counting stops."""
    stocktake = _locked(stocktake_id)
    _require(stocktake, Status.OPEN)
    stocktake.status = Status.SUBMITTED
    stocktake.submitted_at = timezone.now()
    stocktake.save(update_fields=["status", "submitted_at"])
    return stocktake


@transaction.atomic
def stocktake_reopen(*, stocktake_id: int, user) -> Stocktake:
    """Send a submitted count back to counting (复盘)."""
    stocktake = _locked(stocktake_id)
    _require(stocktake, Status.SUBMITTED)
    stocktake.status = Status.OPEN
    stocktake.submitted_at = None
    stocktake.save(update_fields=["status", "submitted_at"])
    return stocktake


@transaction.atomic
def stocktake_cancel(*, stocktake_id: int, user) -> Stocktake:
    """Drop a count that was not posted; nothing reaches the ledger."""
    stocktake = _locked(stocktake_id)
    if stocktake.status not in Stocktake.LIVE:
        _require(stocktake, Status.OPEN)
    stocktake.status = Status.CANCELLED
    stocktake.cancelled_at = timezone.now()
    stocktake.save(update_fields=["status", "cancelled_at"])
    return stocktake


def took_part_in_count(stocktake: Stocktake, user) -> bool:
    """Whether ``user`` opened the count or scanned or corrected any of its lines."""
    if stocktake.counted_by_id == user.pk:
        return True
    return stocktake.entries.filter(
        user=user, kind__in=[StocktakeEntry.Kind.SCAN, StocktakeEntry.Kind.CORRECTION]
    ).exists()


@dataclass(frozen=True)
class PostingResult:
    stocktake: Stocktake
    moves: list[StockMove]
    missing_serials: list[str]


@transaction.atomic
def stocktake_confirm(
    *,
    stocktake_id: int,
    user,
    reasons: dict[int, str] | None = None,
    accept_drift: bool = False,
) -> PostingResult:
    """Second-person confirmation: post the differences and close the count.

    ``reasons`` maps line id -> reason; every line whose count differs from the book at
    posting time needs one. Afterwards each line's book quantity equals its count. See the
    module docstring for drift and tracked units.
    """
    reasons = {int(k): (v or "").strip() for k, v in (reasons or {}).items()}
    stocktake = _locked(stocktake_id)
    _require(stocktake, Status.SUBMITTED)
    if took_part_in_count(stocktake, user):
        raise DomainError("SELF_CONFIRMATION", detail={"stocktake": stocktake.pk})
    location, now = stocktake.location, timezone.now()
    lines = list(
        stocktake.lines.select_related("lot", "consumable").order_by("consumable_id", "lot_id")
    )
    by_lot = {line.lot_id: line for line in lines}
    # Lock the book of every line (in the ledger's key order) before reading it.
    book = dict(
        StockBalance.objects.select_for_update()
        .filter(location=location, lot_id__in=list(by_lot))
        .order_by("consumable_id", "lot_id")
        .values_list("lot_id", "quantity")
    )
    drifted = [line for line in lines if book.get(line.lot_id, 0) != line.expected]
    if drifted and not accept_drift:
        raise DomainError(
            "STOCK_MOVED_DURING_COUNT",
            detail={
                "lines": [
                    {
                        "line": line.pk,
                        "material_code": line.consumable.material_code,
                        "lot": line.lot.lot_no,
                        "expected": line.expected,
                        "on_hand": book.get(line.lot_id, 0),
                    }
                    for line in drifted
                ],
            },
        )

    counted_units = {
        unit.pk: unit
        for unit in TrackedUnit.objects.select_for_update(of=("self",))
        .select_related("lot", "location")
        .filter(pk__in=stocktake.entries.filter(unit__isnull=False).values("unit_id"))
        .order_by("pk")
    }
    moves, transfers_in, gone, move_here = [], Counter(), Counter(), []
    for unit in counted_units.values():
        if unit.location_id == location.pk:
            continue
        if unit.location_id is not None:  # found here, on the book elsewhere: move it
            moves.append(
                NewMove(
                    kind="transfer",
                    lot=unit.lot,
                    quantity=1,
                    from_location=unit.location,
                    to_location=location,
                    occurred_at=now,
                    user=user,
                    note=f"盘点 #{stocktake.pk} 发现 {unit.serial}",
                )
            )
            transfers_in[unit.lot_id] += 1
            move_here.append(unit)
        elif _last_count_found_missing(unit):
            move_here.append(unit)
        else:  # used or scrapped after it was scanned: the ledger wins
            gone[unit.lot_id] += 1

    adjustment = virtual_location(Location.Usage.ADJUSTMENT)
    unexplained = []
    for line in lines:
        line.on_hand_at_post = book.get(line.lot_id, 0) + transfers_in[line.lot_id]
        line.adjusted = line.counted - gone[line.lot_id] - line.on_hand_at_post
        line.reason = reasons.get(line.pk, line.reason)[:200]
        if line.adjusted and not line.reason:
            unexplained.append(line)
        if line.adjusted:
            surplus = line.adjusted > 0
            moves.append(
                NewMove(
                    kind="adjust",
                    lot=line.lot,
                    quantity=abs(line.adjusted),
                    from_location=adjustment if surplus else location,
                    to_location=location if surplus else adjustment,
                    occurred_at=now,
                    user=user,
                    note=f"盘点 #{stocktake.pk}: {line.reason}"[:200],
                )
            )
    if unexplained:
        raise errors.validation(
            "reason",
            "每一项盘盈盘亏都须填写差异原因",
            "Every difference needs a reason",
            reason="REASON_REQUIRED",
            lines=[line.pk for line in unexplained],
        )
    posted = post_moves(moves) if moves else []
    StocktakeLine.objects.bulk_update(lines, ["on_hand_at_post", "adjusted", "reason"])

    for unit in move_here:
        unit.location = location
        unit.save(update_fields=["location"])
    missing = list(
        TrackedUnit.objects.select_for_update(of=("self",))
        .filter(location=location, lot_id__in=list(by_lot))
        .exclude(pk__in=list(counted_units))
        .order_by("pk")
    )
    StocktakeEntry.objects.bulk_create(
        [
            StocktakeEntry(
                stocktake=stocktake,
                line=by_lot[unit.lot_id],
                kind=StocktakeEntry.Kind.MISSING,
                quantity=-1,
                unit=unit,
                user=user,
            )
            for unit in missing
        ]
    )
    TrackedUnit.objects.filter(pk__in=[unit.pk for unit in missing]).update(location=None)

    stocktake.status = Status.POSTED
    stocktake.confirmed_by = user
    stocktake.posted_at = now
    stocktake.drift_accepted = bool(drifted)
    stocktake.save(update_fields=["status", "confirmed_by", "posted_at", "drift_accepted"])
    return PostingResult(
        stocktake=stocktake, moves=posted, missing_serials=[unit.serial for unit in missing]
    )


# Reads for the pages (selectors).


@dataclass
class LineRow:
    line: StocktakeLine
    on_hand: int
    serials: list[str]
    flags: list[str]
    arriving: int = 0  # counted units the book has elsewhere: moved here when posting
    entered_reason: str = ""

    @property
    def difference(self) -> int:
        return self.line.counted - self.line.expected

    @property
    def drift(self) -> int:
        return self.on_hand - self.line.expected

    @property
    def to_post(self) -> int:
        """The adjustment confirming now would post."""
        if self.line.adjusted is not None:
            return self.line.adjusted
        return self.line.counted - self.on_hand - self.arriving


def stocktake_rows(stocktake: Stocktake) -> list[LineRow]:
    """Counted vs expected per line, with the book now, counted serials and flags
    (EXPIRED, RECALLED, UNIT_RECORDED_ELSEWHERE). Four queries whatever the size."""
    lines = list(
        stocktake.lines.select_related("consumable", "lot").order_by(
            "consumable__material_code", "lot__lot_no"
        )
    )
    on_hand = dict(
        StockBalance.objects.filter(
            location=stocktake.location_id, lot_id__in=[line.lot_id for line in lines]
        ).values_list("lot_id", "quantity")
    )
    serials, elsewhere = defaultdict(list), Counter()
    for line_id, serial, now_at in (
        stocktake.entries.filter(unit__isnull=False, kind=StocktakeEntry.Kind.SCAN)
        .order_by("unit__serial")
        .values_list("line_id", "unit__serial", "unit__location_id")
    ):
        serials[line_id].append(serial)
        if now_at is not None and now_at != stocktake.location_id:
            elsewhere[line_id] += 1
    recalled = set(
        Recall.objects.filter(
            consumable_id__in={line.consumable_id for line in lines}
        ).values_list("consumable_id", "lot_no")
    )
    today = timezone.localdate()
    rows = []
    for line in lines:
        flags = []
        if line.lot.expiry and line.lot.expiry < today:
            flags.append("EXPIRED")
        if {(line.consumable_id, ""), (line.consumable_id, line.lot.lot_no)} & recalled:
            flags.append("RECALLED")
        if elsewhere[line.pk]:
            flags.append("UNIT_RECORDED_ELSEWHERE")
        rows.append(
            LineRow(
                line=line,
                on_hand=on_hand.get(line.lot_id, 0),
                serials=serials[line.pk],
                flags=flags,
                arriving=elsewhere[line.pk],
            )
        )
    return rows


def uncounted_units(stocktake: Stocktake):
    """Tracked units the book has at the location that this count has not found yet."""
    if stocktake.status == Status.POSTED:
        return TrackedUnit.objects.filter(
            pk__in=stocktake.entries.filter(kind=StocktakeEntry.Kind.MISSING).values("unit_id")
        ).select_related("consumable", "lot")
    return (
        TrackedUnit.objects.filter(location=stocktake.location_id)
        .exclude(pk__in=stocktake.entries.filter(unit__isnull=False).values("unit_id"))
        .select_related("consumable", "lot")
        .order_by("consumable__material_code", "serial")
    )
