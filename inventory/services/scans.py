"""POST /api/v1/scans: one idempotent entry point for every scanned write.

``scan_record`` runs the action's handler exactly once per ``event_id`` (see
``idempotency.run_once``): a replay gets the first answer, a refusal records nothing.

Handlers are registered per action (``register``); the billing app registers ``use`` and
the return from a patient, so the inventory app never depends on billing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from django.db.models import Exists
from django.utils import timezone

from config.errors import DomainError
from config.event_times import refuse_unless_in_window
from consumables.resolve import Resolution, resolve_code
from organisation.models import Department

from .. import errors
from ..models import Lot, Recall
from .idempotency import WriteOutcome, fingerprint, run_once

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
        data = asdict(self)
        data.pop("event_id")
        return fingerprint(data)


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


Handler = Callable[[ScanContext], dict]
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


def resolve_consumable(code: str) -> Resolution:
    """Resolve a scanned code for a write (UNKNOWN_CODE when it names no consumable).

    A GS1 string whose last variable field may have swallowed a dropped separator is
    refused only when the other reading is the likelier one: it finds an expiry the strict
    reading lacks, or a serial for an item tracked per unit. Otherwise the strict reading
    stands and the answer carries the warning (a lot ending in '21..' is common and legal).
    """
    resolution = resolve_code(code)
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


def separator_doubt_stands(resolution: Resolution) -> bool:
    """Whether a scan's answer carries POSSIBLE_MISSING_SEPARATOR (the doubt that stayed
    below refusing, see ``resolve_consumable``). A lot the ledger already holds for this
    consumable, exactly as the strict reading has it, is that lot: the doubt belongs to the
    first receipt of a lot, not to every later issue and use of a valid lot whose last digits
    happen to parse as an AI (D262110 = D26 + serial 10)."""
    parsed = resolution.parsed
    if "POSSIBLE_MISSING_SEPARATOR" not in parsed.warnings:
        return False
    known = parsed.lot and Lot.objects.filter(consumable=resolution.consumable, lot_no=parsed.lot)
    return not (known and known.exists())


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
    *, request: ScanRequest, user, department: Department | None = None
) -> WriteOutcome:
    """Record one scan exactly once; see the module docstring for the guarantees.

    ``department``: a department the caller has read already (``active_departments``);
    used when it is the request's own, to save a query, else ignored."""
    if department is not None and department.code != request.department:
        department = None
    if request.action not in ACTIONS or request.action not in HANDLERS:
        raise errors.validation(
            "action", f"不支持的操作 {request.action}", f"Unsupported action {request.action}"
        )

    def work(event) -> dict:
        if request.occurred_at is not None:
            refuse_unless_in_window(request.occurred_at, field="occurred_at")
        context = ScanContext(
            request=request,
            resolution=resolve_consumable(request.code),
            department=department or department_by_code(request.department),
            occurred_at=request.occurred_at or timezone.now(),
            user=event.user,
        )
        if separator_doubt_stands(context.resolution):
            context.warnings.append("POSSIBLE_MISSING_SEPARATOR")
        body = HANDLERS[request.action](context)
        return {
            "event_id": str(request.event_id),
            "action": request.action,
            **body,
            "warnings": sorted(set(context.warnings) | set(body.get("warnings", []))),
        }

    return run_once(
        event_id=request.event_id,
        action=request.action,
        digest=request.fingerprint(),
        user=user,
        work=work,
    )
