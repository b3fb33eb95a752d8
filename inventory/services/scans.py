"""POST /api/v1/scans: one idempotent entry point for every scanned write.

``scan_record`` runs the action's handler exactly once per ``event_id`` (see
``idempotency.run_once``): a replay gets the first answer, a refusal records nothing.
A handler returns what the scan did (``ScanResult``); the caller's ``answer`` (the API's
output serializer) renders it, and that rendering is what is stored for the replays.

Handlers are registered per action (``register``); the billing app registers ``use`` and
the return from a patient, so the inventory app never depends on billing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from typing import Any

from django.db.models import Exists, FilteredRelation, OuterRef, Q
from django.utils import timezone

from config.errors import DomainError
from config.event_times import refuse_unless_in_window
from consumables.prices import approved_version_in_force, version_in_force_relation
from consumables.resolve import Reads, Resolution, consumable_ref, resolve_code
from organisation.models import Department

from .. import errors
from ..models import Lot, Recall, Receipt, ScanEvent
from .idempotency import AlreadyRecorded, WriteOutcome, fingerprint, run_once

ACTIONS = ("receive", "issue", "use", "return", "scrap")


@dataclass(frozen=True)
class ScanRequest:
    event_id: uuid.UUID
    action: str
    code: str
    department: str
    from_department: str | None = None
    to_department: str | None = None
    quantity: int | None = None
    encounter: str | None = None
    order: str | None = None
    occurred_at: dt.datetime | None = None
    supplier: str | None = None
    invoice_no: str | None = None
    unit_cost: Decimal | None = None
    ownership: str | None = None
    reason: str | None = None

    def fingerprint(self) -> str:
        # Every field is a plain value: no need for asdict's deep copy.
        return fingerprint(
            {f.name: getattr(self, f.name) for f in fields(self) if f.name != "event_id"}
        )


@dataclass(frozen=True)
class MovedLot:
    lot: str | None
    quantity: int


@dataclass(frozen=True, kw_only=True)
class ScanResult:
    """What a scan did: the answer of docs/contract.md before it is rendered (``api``)."""

    event_id: uuid.UUID
    action: str
    quantity: int
    resolution: Resolution  # the consumable, and the DI it was scanned by
    lot: str | None
    expiry: dt.date | None
    serial: str | None = None
    hospital_barcode: str | None = None
    charge: Any = None  # the charge a use made or a return reversed (billing)
    warnings: list[str] = field(default_factory=list)
    # Of some actions only (absent from the answers of the others):
    labels: list[str] | None = None  # receive: the in-hospital labels made
    moves: list[MovedLot] | None = None
    encounter: str | None = None  # use, return from a patient
    from_department: str | None = None  # issue
    to: str | None = None  # return: the location it went back to
    receipt: Receipt | None = None  # receive


@dataclass
class ScanContext:
    request: ScanRequest
    resolution: Resolution
    department: Department
    occurred_at: dt.datetime
    user: object | None
    warnings: list[str] = field(default_factory=list)
    memo: dict = field(default_factory=dict)  # rows read once per scan (the locked unit)

    @property
    def consumable(self):
        return self.resolution.consumable

    @property
    def business_date(self) -> dt.date:
        return timezone.localdate(self.occurred_at)

    def price_in_force(self):
        """The approved price version in force at the scan's time (read with the code)."""
        if "price_in_force" in self.resolution.reads:
            return self.resolution.reads["price_in_force"]
        return approved_version_in_force(self.consumable.pk, self.occurred_at)

    def scanned_lot(self, lot_no: str) -> Lot | None:
        """The consumable's lot ``lot_no``, with ``recalled`` (a recall covers it): read with
        the code when that is the lot the code names, else one query."""
        reads = self.resolution.reads
        if "scanned_lot" in reads and (self.resolution.parsed.lot or "") == lot_no:
            lot = reads["scanned_lot"]
            if lot is not None:
                lot.recalled = reads["scanned_lot_recalled"]
                Lot.consumable.field.set_cached_value(lot, self.consumable)
            return lot
        return (
            Lot.objects.filter(consumable=self.consumable, lot_no=lot_no)
            .annotate(recalled=recall_exists(self.consumable, lot_no))
            .first()
        )


def _scan_annotations(path: str, *, lot_no: str, at: dt.datetime, event_id: uuid.UUID) -> dict:
    ref = consumable_ref(path)
    return {
        # Not about the consumable, but read in the same round trip: is this a replay?
        "event_recorded": Exists(ScanEvent.objects.filter(event_id=event_id)),
        "scanned_lot": FilteredRelation(
            f"{path}lots", condition=Q(**{f"{path}lots__lot_no": lot_no})
        ),
        "scanned_lot_recalled": Exists(
            Recall.objects.filter(consumable=OuterRef(ref), lot_no__in=["", lot_no])
        ),
        "price_in_force": version_in_force_relation(path, at),
    }


def scan_reads(at: dt.datetime, event_id: uuid.UUID) -> Reads:
    """What every scan reads with the consumable (``resolve.Reads``): the lot the code names
    (or the no-lot lot), whether a recall covers it, the price version in force at ``at``,
    and whether ``event_id`` is recorded already (a replay)."""
    return Reads(_scan_annotations, {"at": at, "event_id": event_id})


def scan_result(
    context: ScanContext,
    *,
    quantity: int,
    lot: Lot | None,
    serial: str | None = None,
    hospital_barcode: str | None = None,
    **extra,
) -> ScanResult:
    """The result of a scan of ``quantity`` of ``lot``; ``extra``: the action's own fields."""
    expiry = (lot.expiry if lot else None) or context.resolution.expiry
    return ScanResult(
        event_id=context.request.event_id,
        action=context.request.action,
        quantity=quantity,
        resolution=context.resolution,
        lot=(lot.lot_no or None) if lot else None,
        expiry=expiry,
        serial=serial,
        hospital_barcode=hospital_barcode,
        **extra,
    )


Handler = Callable[[ScanContext], ScanResult]
HANDLERS: dict[str, Handler] = {}


def register(action: str, handler: Handler) -> None:
    HANDLERS[action] = handler


def active_departments(code: str):
    """The active department ``code`` (none or one), with its location."""
    return Department.objects.select_related("location").filter(code=code, is_active=True)


def department_by_code(code: str | None, field: str = "department") -> Department:
    department = active_departments(code).first() if code else None
    if department is None:
        raise errors.unknown_department(code or "", field)
    return department


def resolve_consumable(
    code: str, at: dt.datetime | None = None, event_id: uuid.UUID | None = None
) -> Resolution:
    """Resolve a scanned code for a write (UNKNOWN_CODE when it names no consumable).

    A GS1 string whose last variable field may have swallowed a dropped separator is
    refused only when the other reading is the likelier one: it finds an expiry the strict
    reading lacks, or a serial for an item tracked per unit. Otherwise the strict reading
    stands and the answer carries the warning (a lot ending in '21..' is common and legal).
    With ``at`` and ``event_id``, the resolution reads what the scan needs (``scan_reads``).
    """
    reads = scan_reads(at, event_id) if at is not None and event_id is not None else None
    resolution = resolve_code(code, reads=reads)
    if resolution.consumable is None:
        raise errors.unknown_code(code)
    parsed = resolution.parsed
    alternative = parsed.extra.get("alternative") or {}
    if "POSSIBLE_MISSING_SEPARATOR" in parsed.warnings and (
        (alternative.get("expiry") and not parsed.expiry)
        or (
            alternative.get("serial")
            and not parsed.serial
            and resolution.consumable.tracking == "unit"
        )
    ):
        raise DomainError(
            "UNREADABLE_CODE",
            "条码可能缺少分隔符，批号/序列号无法确定：请重新扫描或检查扫码枪 GS 设置",
            "The code may have lost a GS separator: lot/serial are uncertain, rescan",
            detail={"reason": "AMBIGUOUS_SEPARATOR", "alternative": alternative},
            http_status=400,
        )
    return resolution


def separator_doubt_stands(context: ScanContext) -> bool:
    """Whether a scan's answer carries POSSIBLE_MISSING_SEPARATOR (the doubt that stayed
    below refusing, see ``resolve_consumable``). A lot the ledger already holds for this
    consumable, exactly as the strict reading has it, is that lot: the doubt belongs to the
    first receipt of a lot, not to every later issue and use of a valid lot whose last digits
    happen to parse as an AI (D262110 = D26 + serial 10)."""
    parsed = context.resolution.parsed
    if "POSSIBLE_MISSING_SEPARATOR" not in parsed.warnings:
        return False
    return not (parsed.lot and context.scanned_lot(parsed.lot) is not None)


def _recalls(consumable, lot_no: str | None):
    return Recall.objects.filter(consumable=consumable, lot_no__in=["", lot_no or ""])


def recall_exists(consumable, lot_no: str | None) -> Exists:
    """Whether a recall covers the lot, as an annotation (saves a query per scan)."""
    return Exists(_recalls(consumable, lot_no))


def refuse_if_recalled(consumable, lot_no: str | None) -> None:
    recall = _recalls(consumable, lot_no).order_by("pk").first()
    if recall is not None:
        raise errors.recalled(recall)


def refuse_if_expired(expiry: dt.date | None, on: dt.date, lot_no: str | None) -> None:
    if expiry is not None and expiry < on:
        raise errors.expired(expiry, lot_no or "")


def scan_record(
    *,
    request: ScanRequest,
    user,
    answer: Callable[[ScanResult], dict],
    department: Department | None = None,
) -> WriteOutcome:
    """Record one scan exactly once; see the module docstring for the guarantees.

    ``answer`` renders the ``ScanResult`` as the body stored and sent (``api.scan_answer``);
    the outcome carries both. ``department``: a department the caller has read already
    (``active_departments``); used when it is the request's own, to save a query, else
    ignored."""
    if department is not None and department.code != request.department:
        department = None
    if request.action not in ACTIONS or request.action not in HANDLERS:
        raise errors.validation(
            "action", f"不支持的操作 {request.action}", f"Unsupported action {request.action}"
        )

    def work(actor) -> ScanResult:
        if request.occurred_at is not None:
            refuse_unless_in_window(request.occurred_at, field="occurred_at")
        occurred_at = request.occurred_at or timezone.now()
        resolution = resolve_consumable(request.code, occurred_at, request.event_id)
        if resolution.reads.get("event_recorded"):
            raise AlreadyRecorded  # a replay: nothing done yet, the first answer is sent
        context = ScanContext(
            request=request,
            resolution=resolution,
            department=department or department_by_code(request.department),
            occurred_at=occurred_at,
            user=actor,
        )
        if separator_doubt_stands(context):
            context.warnings.append("POSSIBLE_MISSING_SEPARATOR")
        result = HANDLERS[request.action](context)
        return replace(result, warnings=sorted(set(context.warnings) | set(result.warnings)))

    return run_once(
        event_id=request.event_id,
        action=request.action,
        digest=request.fingerprint(),
        user=user,
        work=work,
        answer=answer,
        look_first=False,  # the code's read tells (scan_reads)
    )
