"""Promotion of clean materials from the workspace into the live master.

A material is clean when no blocking conflict touches it (``conflicts.clean_material_codes``).
Its staged rows become rows of consumables.csv and go through ``import_consumable_rows``,
the very code path of ``import_master``: the same row check, the same five-code uniqueness,
history, prices. Nothing here validates a second time.

A material already in the live master keeps its codes: the codes and DIs the workspace
gives it that differ from the master become a mapping change for two-person review
(``MappingChange`` with origin ``staging``), so the live master changes only on approval.
Its other fields (name, spec...) update as an import would. Its insurance class and
restriction, when the workspace gives them and they differ, join the codes in that mapping
change (they are under review like the five codes).

The HRP supplier list is promoted first, through ``import_supplier_rows`` (the code path of
``import_master --suppliers``): every supplier no supplier conflict touches.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from ..importing import ImportReport, import_consumable_rows, import_supplier_rows
from ..insurance import RESTRICTED, insurance_terms_problem
from ..mappings.services import mapping_change_propose_from_staging
from ..models import Consumable, DeviceIdentifier
from .conflicts import clean_material_codes, clean_supplier_codes, take_snapshot
from .models import ConflictSnapshot, StagingRow, StagingSource

CODE_FIELDS = ("charge_code", "order_code", "insurance_code")
PACKAGE = ("udi_di", "units_per_package", "package_level")
DESCRIPTION = ("name", "spec", "unit", "manufacturer", "registration_no", "category")
IN_LIMIT = 500
CHANGE_REASON = "对码工作区入主数据 / promoted from the code-conflict workspace"


@dataclass
class PromotionResult:
    promoted: list[str] = field(default_factory=list)  # material codes now in the master
    refused: dict[str, str] = field(default_factory=dict)  # material code -> reason
    proposals: int = 0  # mapping changes proposed for items already live
    report: ImportReport | None = None
    suppliers_promoted: list[str] = field(default_factory=list)  # supplier codes
    suppliers_refused: dict[str, str] = field(default_factory=dict)  # supplier code -> reason
    supplier_report: ImportReport | None = None


def _pending_rows(material_codes: list[str]) -> dict[str, list[StagingRow]]:
    queryset = StagingRow.objects.filter(status=StagingRow.Status.PENDING).exclude(
        source=StagingSource.HIS_ORDER
    )
    wanted = set(material_codes)
    if len(wanted) <= IN_LIMIT:
        queryset = queryset.filter(material_code__in=wanted)
    by_material: dict[str, list[StagingRow]] = defaultdict(list)
    for row in queryset.select_related("batch").order_by("batch__imported_at", "batch_id", "line"):
        if row.material_code in wanted:
            by_material[row.material_code].append(row)
    return by_material


def _charge_orders() -> dict[str, str]:
    """Order code of each charge code, from the pending rows (unique for clean materials)."""
    pairs = (
        StagingRow.objects.filter(status=StagingRow.Status.PENDING)
        .exclude(charge_code=None)
        .exclude(order_code=None)
        .values_list("charge_code", "order_code")
        .distinct()
    )
    return dict(pairs.iterator(chunk_size=5000))


def _first(rows: list[StagingRow], name: str):
    return next((getattr(r, name) for r in rows if getattr(r, name) is not None), None)


def _material_rows(mc: str, rows: list[StagingRow], orders: dict[str, str]) -> list[dict]:
    """The consumables.csv rows of one material: the first carries its fields and codes,
    one more row per further DI."""
    hrp = next((r for r in rows if r.source == StagingSource.HRP), rows[0])
    charge = _first(rows, "charge_code")
    order = _first(rows, "order_code") or (orders.get(charge) if charge else None)
    head = {
        "material_code": mc,
        **{name: getattr(hrp, name) for name in DESCRIPTION},
        **hrp.extra,
        "charge_code": charge or "",
        "order_code": order or "",
        "insurance_code": _first(rows, "insurance_code") or "",
    }
    if hrp.chargeable is not None:
        head["chargeable"] = "1" if hrp.chargeable else "0"
    dis: dict[str, StagingRow] = {}
    for row in rows:
        if row.udi_di and row.udi_di not in dis:
            dis[row.udi_di] = row
    out = []
    for i, (di, row) in enumerate(dis.items() or [("", None)]):
        package = {
            "udi_di": di,
            "units_per_package": str(row.units_per_package or "") if row else "",
            "package_level": row.package_level if row else "",
        }
        out.append({**head, **package} if i == 0 else {"material_code": mc, **package})
    return out


def _split_live(planned: dict[str, list[dict]], user) -> int:
    """For materials already live: keep only their descriptive fields (and prices) in the
    import, and propose the codes and new DIs the workspace gives them for review instead.
    Returns the number of proposals."""
    if len(planned) <= IN_LIMIT:
        live = Consumable.objects.filter(material_code__in=list(planned), is_active=True)
    else:
        live = Consumable.objects.filter(is_active=True)
    live = {c.material_code: c for c in live.iterator(chunk_size=5000)
            if c.material_code in planned}
    if not live:
        return 0
    live_dis: dict[int, set[str]] = defaultdict(set)
    for consumable_id, udi_di in DeviceIdentifier.objects.filter(
        consumable__in=list(live.values()), is_active=True
    ).values_list("consumable_id", "udi_di"):
        live_dis[consumable_id].add(udi_di)
    proposals = 0
    for mc, consumable in live.items():
        rows = planned[mc]
        head = {k: v for k, v in rows[0].items() if k not in PACKAGE}
        changes = {}
        for name in CODE_FIELDS:
            staged = head.pop(name) or None
            if staged is not None and staged != getattr(consumable, name):
                changes[name] = {"from": getattr(consumable, name), "to": staged}
        changes.update(_insurance_changes(head, consumable))
        add_dis = [
            {
                "udi_di": r["udi_di"],
                "units_per_package": int(r["units_per_package"] or 1),
                "package_level": r["package_level"],
            }
            for r in rows
            if r["udi_di"] and r["udi_di"] not in live_dis[consumable.pk]
        ]
        planned[mc] = [head]
        if (changes or add_dis) and mapping_change_propose_from_staging(
            consumable=consumable, changes=changes, add_dis=add_dis, proposed_by=user
        ):
            proposals += 1
    return proposals


def _promote_suppliers(result: PromotionResult, user, now) -> None:
    """The clean supplier rows through ``import_supplier_rows``, the code path of
    ``import_master --suppliers``: a supplier it refuses stays pending with the reason on its
    rows, the others' rows become ``promoted``. A live supplier is updated as an import
    would (suppliers carry no code under review)."""
    clean = set(clean_supplier_codes())
    if not clean:
        return
    rows = [
        row
        for row in StagingRow.objects.filter(
            status=StagingRow.Status.PENDING, source=StagingSource.SUPPLIER
        ).select_related("batch").order_by("batch__imported_at", "batch_id", "line")
        if row.supplier_code in clean
    ]
    lines, line_code = [], {}
    for row in rows:
        line = len(lines) + 2  # as a file: line 1 would be the header
        lines.append((line, {
            "code": row.supplier_code, "name": row.name, "credit_code": row.credit_code,
            "license_no": row.license_no,
        }))  # fmt: skip
        line_code[line] = row.supplier_code
    report = import_supplier_rows(lines, user=user, change_reason=CHANGE_REASON)
    result.supplier_report = report
    errors: dict[str, list[str]] = defaultdict(list)
    for error in report.errors:
        code = line_code.get(error.line)
        for each in [code] if code else sorted(clean):  # line 0: the database refused all
            errors[each].append(f"{error.code} {error.message}")
    for row in rows:
        code = row.supplier_code
        if code in errors:
            result.suppliers_refused[code] = "；".join(errors[code])
            row.promotion_error = result.suppliers_refused[code][:2000]
        else:
            row.status, row.promoted_at, row.promotion_error = (
                StagingRow.Status.PROMOTED, now, "",
            )  # fmt: skip
    result.suppliers_promoted = sorted(clean - set(errors))
    _save_rows(rows, user)


def _save_rows(rows: list[StagingRow], user) -> None:
    if rows:
        bulk_update_with_history(
            rows,
            StagingRow,
            ["status", "promoted_at", "promotion_error"],
            batch_size=1000,
            default_user=user,
            default_change_reason=CHANGE_REASON[:100],
        )


def _insurance_changes(head: dict, consumable: Consumable) -> dict:
    """The insurance class and restriction the workspace gives a live item, as mapping-change
    entries (taken out of ``head``). Terms that break the rule stay in ``head``, so that the
    import refuses the material with the reason, as it would refuse the row."""
    given_class = head.get("insurance_class") or None
    given_restriction = head.get("restriction") or None
    if given_class is None and given_restriction is None:
        return {}
    new_class = (given_class or consumable.insurance_class).lower()
    if given_restriction is not None:
        new_restriction = given_restriction
    elif new_class == RESTRICTED:
        new_restriction = consumable.insurance_restriction
    else:
        new_restriction = ""  # the condition of a class the item leaves
    if insurance_terms_problem(new_class, new_restriction) is not None:
        return {}
    head.pop("insurance_class", None)
    head.pop("restriction", None)
    changes = {}
    for name, value in (("insurance_class", new_class), ("insurance_restriction", new_restriction)):
        if value != getattr(consumable, name):
            changes[name] = {"from": getattr(consumable, name), "to": value}
    return changes


@transaction.atomic
def staging_promote(
    *, user, material_codes: list[str] | None = None, suppliers: bool | None = None
) -> PromotionResult:
    """Promote the clean suppliers and materials (all, or the materials of
    ``material_codes``) into the master, suppliers first.

    ``suppliers``: promote the clean supplier rows too (default: when promoting all, i.e.
    ``material_codes`` is None). A material or supplier the import refuses stays pending with
    the reason on its rows (``promotion_error``); the others' rows become ``promoted``.
    Takes a snapshot.
    """
    result = PromotionResult()
    if suppliers if suppliers is not None else material_codes is None:
        _promote_suppliers(result, user, timezone.now())
    clean = clean_material_codes(material_codes)
    if material_codes is not None:
        for mc in sorted(set(material_codes) - set(clean)):
            result.refused[mc] = "存在未解决的冲突 / an unresolved conflict touches it"
    if not clean:
        take_snapshot(trigger=ConflictSnapshot.Trigger.PROMOTION, user=user)
        return result
    staged = _pending_rows(clean)
    orders = _charge_orders()
    planned = {mc: _material_rows(mc, staged[mc], orders) for mc in clean if staged.get(mc)}
    result.proposals = _split_live(planned, user)

    lines: list[tuple[int, dict[str, str]]] = []
    line_material: dict[int, str] = {}
    for mc, rows in planned.items():
        for row in rows:
            line = len(lines) + 2  # as a file: line 1 would be the header
            lines.append((line, row))
            line_material[line] = mc
    report = import_consumable_rows(
        lines, user=user, source="对码工作区 / staging", change_reason=CHANGE_REASON
    )
    result.report = report
    errors: dict[str, list[str]] = defaultdict(list)
    for error in report.errors:
        mc = line_material.get(error.line)
        if mc is None:  # the database refused the whole load
            for code in planned:
                errors[code].append(error.message)
        else:
            errors[mc].append(f"{error.code} {error.message}")

    now = timezone.now()
    changed: list[StagingRow] = []
    for mc in planned:
        rows = staged[mc]
        if mc in errors:
            result.refused[mc] = "；".join(errors[mc])
            for row in rows:
                row.promotion_error = result.refused[mc][:2000]
        else:
            result.promoted.append(mc)
            for row in rows:
                row.status, row.promoted_at, row.promotion_error = (
                    StagingRow.Status.PROMOTED, now, "",
                )
        changed += rows
    _save_rows(changed, user)
    take_snapshot(trigger=ConflictSnapshot.Trigger.PROMOTION, user=user)
    return result
