"""Mapping changes: propose, approve (a second person), reject. One transaction each.

A mapping change carries new codes, DIs to link and retire, and a new insurance class and
payment restriction (限定支付条件): all that a live item changes only under review. The live
master changes only in ``mapping_change_approve``, through ``linking.link_apply``.
"""

from __future__ import annotations

from django.db import transaction

from config.errors import DomainError

from ..insurance import RESTRICTED, checked_insurance_terms
from ..linking import (
    LINKED_CODES,
    PackageDI,
    checked_codes,
    checked_di,
    conflict_error,
    link_apply,
    link_conflicts,
)
from ..models import Consumable, DeviceIdentifier
from ..reviews.services import (
    ReviewKind,
    required_reason,
    review_approve,
    review_propose,
    review_reject,
)
from ..staging.conflicts import take_snapshot
from ..staging.models import ConflictSnapshot
from .models import MappingChange

# The insurance terms a mapping change may set, beside the codes (``MappingChange.changes``).
INSURANCE_FIELDS = ("insurance_class", "insurance_restriction")


@transaction.atomic
def mapping_change_propose(
    *,
    consumable: Consumable,
    codes: dict[str, str | None] | None = None,
    add_dis: list[PackageDI] = (),
    retire_dis: list[str] = (),
    insurance_class: str | None = None,
    insurance_restriction: str | None = None,
    reason: str,
    proposed_by,
) -> MappingChange:
    """Propose new codes (``codes``: field -> new value, None to clear), DIs to link, DIs to
    retire and a new insurance class and payment restriction (None: unchanged) for
    ``consumable``. Nothing changes in the master until approved.

    Refused: nothing to change, an invalid code or DI, a code or DI another live item
    holds (that item named), retiring a DI the item does not have, insurance terms that
    break ``insurance.insurance_terms_problem`` (a restricted item without its condition).
    """
    reason = required_reason(reason)
    codes = codes or {}
    unknown = set(codes) - set(LINKED_CODES)
    if unknown:
        raise ValueError(f"not a linked code: {sorted(unknown)}")
    new_values = dict(checked_codes(codes))
    if insurance_class is not None or insurance_restriction is not None:
        new_class = consumable.insurance_class if insurance_class is None else insurance_class
        if insurance_restriction is None:
            # As in import_master: an item leaving the restricted class loses its condition.
            keeps = new_class.strip() == RESTRICTED
            insurance_restriction = consumable.insurance_restriction if keeps else ""
        terms = checked_insurance_terms(new_class, insurance_restriction)
        new_values.update(zip(INSURANCE_FIELDS, terms, strict=True))
    changes = {
        name: {"from": getattr(consumable, name), "to": value}
        for name, value in new_values.items()
        if value != getattr(consumable, name)
    }
    live = set(
        DeviceIdentifier.objects.filter(consumable=consumable, is_active=True).values_list(
            "udi_di", flat=True
        )
    )
    retire = sorted(set(retire_dis))
    missing = [di for di in retire if di not in live]
    if missing:
        raise DomainError(
            "VALIDATION_ERROR",
            f"该耗材没有在用的 UDI-DI {'、'.join(missing)}",
            f"the item has no live UDI-DI {', '.join(missing)}",
            detail={"udi_di": missing},
            http_status=400,
        )
    adds = [d for d in add_dis if d.udi_di not in live or d.udi_di in retire]
    if not changes and not adds and not retire:
        raise DomainError("NOTHING_TO_CHANGE")
    conflicts = link_conflicts(
        consumable=consumable,
        codes={n: c["to"] for n, c in changes.items() if n in LINKED_CODES},
        dis=[d.udi_di for d in adds],
    )
    if conflicts:
        raise conflict_error(conflicts)
    return review_propose(
        record=MappingChange(
            consumable=consumable,
            changes=changes,
            add_dis=[d.as_dict() for d in adds],
            retire_dis=retire,
            reason=reason,
        ),
        proposed_by=proposed_by,
    )


def mapping_change_propose_from_staging(
    *, consumable: Consumable, changes: dict, add_dis: list[dict], proposed_by
) -> MappingChange | None:
    """The codes the code-conflict workspace gives an item already live, as a proposal
    (None when the same proposal already awaits review). Runs inside the promotion's
    transaction; conflicts are left to the approval, which checks them again."""
    packages = [
        checked_di(d["udi_di"], d.get("units_per_package", 1), d.get("package_level", ""))
        for d in add_dis
    ]
    add = [p.as_dict() for p in packages]
    waiting = MappingChange.objects.filter(
        consumable=consumable, status=MappingChange.Status.PROPOSED
    ).values_list("changes", "add_dis")
    if any(c == changes and a == add for c, a in waiting):
        return None
    return review_propose(
        record=MappingChange(
            consumable=consumable,
            changes=changes,
            add_dis=add,
            origin=MappingChange.Origin.STAGING,
            reason="对码工作区导入的编码与主数据不同 / the workspace's codes differ from the "
            "master",
        ),
        proposed_by=proposed_by,
    )


def _apply(change: MappingChange, approver, at) -> None:
    """The approval's effect: the proposal applied to the live master, only if the item still
    has the codes and insurance terms the proposer saw (MAPPING_STALE otherwise) and no other
    item holds the new codes. The history of the item names the approver and the change."""
    consumable = Consumable.objects.select_for_update().get(pk=change.consumable_id)
    stale = {
        name: {"proposed_from": c["from"], "now": getattr(consumable, name)}
        for name, c in change.changes.items()
        if getattr(consumable, name) != c["from"]
    }
    if stale:
        raise DomainError("MAPPING_STALE", detail={"fields": stale})
    link_apply(
        consumable_id=consumable.pk,
        codes={n: c["to"] for n, c in change.changes.items() if n in LINKED_CODES},
        fields={n: c["to"] for n, c in change.changes.items() if n in INSURANCE_FIELDS},
        add_dis=[PackageDI(**d) for d in change.add_dis],
        retire_dis=change.retire_dis,
        user=approver,
        reason=f"对码变更 #{change.pk} 批准 / mapping change approved",
    )


MAPPING_REVIEW = ReviewKind(
    model=MappingChange,
    code="MAPPING_CHANGE_NOT_PENDING",
    case="mapping",
    reason_required=("驳回须填写原因", "a rejection needs a reason"),
    on_approve=_apply,
)


@transaction.atomic
def mapping_change_approve(*, change: MappingChange, approver, note: str = "") -> MappingChange:
    """Apply a proposal to the live master (``_apply``), decided by a second person."""
    change = review_approve(kind=MAPPING_REVIEW, record=change, decider=approver, reason=note)
    take_snapshot(trigger=ConflictSnapshot.Trigger.MASTER, user=approver)
    return change


def mapping_change_reject(*, change: MappingChange, approver, note: str) -> MappingChange:
    """Reject a proposal with a reason; the master does not change."""
    return review_reject(kind=MAPPING_REVIEW, record=change, decider=approver, reason=note)
