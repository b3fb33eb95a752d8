"""import_consumable_rows: plan the whole file in memory, then write it in bulk.

1. Every row is checked on its own (``rows.parse_row``).
2. The database state the file touches is read in a few queries (consumables by material code
   and by code, live DIs, platform/VBP prices, price versions).
3. Rows are planned in file order against that state plus what earlier good rows of the file
   claimed, so a code or DI taken earlier in the file refuses a later row naming the first.
4. Prices are planned by ``pricing.PricePlanning`` (see there for the rules).
5. The plan is written in one transaction with ``bulk_create_with_history`` /
   ``bulk_update_with_history``: master-data history is kept, nothing is saved row by row.

Rules for several rows of one material code (package levels): the first good row defines the
consumable; later rows add their ``udi_di`` and may repeat the first row's values (or leave
them empty) but not contradict them. If the first row is refused, the next row of the same
material code defines the consumable if it can stand on its own (it needs a name).

A code may move from one consumable to another in one file when the row giving it up comes
before the row taking it (the later row is refused otherwise: run the file again). A retired
consumable named by the file is refused (CONSUMABLE_INACTIVE) rather than silently revived.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import DatabaseError, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from consumables.insurance import insurance_terms_problem
from consumables.models import Consumable, DeviceIdentifier, ExternalPrice, PriceVersion

from .pricing import APPROVED, PROPOSED, REJECTED, PricePlanning
from .report import ImportFileError, ImportReport, RowError, row_error
from .rows import (
    CODE_FIELDS,
    CONSUMABLE_FIELDS,
    PRICE_FIELDS,
    REQUIRED_COLUMNS,
    RESTRICTED,
    ParsedRow,
    parse_row,
)

SYSTEM_USERNAME = "import_master"
CHANGE_REASON = "import_master"
BATCH = 1000
IN_LIMIT = 500  # above this many keys, read the whole table once and filter in Python
CONFLICT_CODES = {
    "charge_code": ("CHARGE_CODE_CONFLICT", "计费编码"),
    "order_code": ("ORDER_CODE_CONFLICT", "医嘱编码"),
    "insurance_code": ("INSURANCE_CODE_CONFLICT", "医保耗材编码"),
}
CONSUMABLE_ATTNAMES = [f.attname for f in Consumable._meta.concrete_fields]
DI_ATTNAMES = [f.attname for f in DeviceIdentifier._meta.concrete_fields]
# Plain strings: enum member look-ups cost a descriptor call each, in a loop of 30,000 rows.
SCAN, HIS = str(Consumable.BilledBy.SCAN), str(Consumable.BilledBy.HIS)
UNIT = str(Consumable.Tracking.UNIT)


@functools.cache
def _defaults() -> dict[str, object]:
    """A new consumable's field values before the row's own (the model's defaults)."""
    return {n: Consumable._meta.get_field(n).get_default() for n in CONSUMABLE_FIELDS}


@dataclass
class _Plan:
    """What one material code's good rows will write."""

    line: int
    consumable: Consumable
    is_new: bool
    final: dict[str, object]
    prices: dict[str, Decimal]
    effective_date: dt.date
    changed: set[str] = field(default_factory=set)
    dis: dict[str, tuple[int, int | None, str | None]] = field(default_factory=dict)
    new_dis: list[DeviceIdentifier] = field(default_factory=list)
    di_updates: list[DeviceIdentifier] = field(default_factory=list)
    external_new: list[ExternalPrice] = field(default_factory=list)
    external_updates: list[ExternalPrice] = field(default_factory=list)
    price_version: PriceVersion | None = None

    @property
    def touched(self) -> bool:
        return bool(
            self.changed
            or self.new_dis
            or self.di_updates
            or self.external_new
            or self.external_updates
            or self.price_version
        )


def _fetch(queryset, keys: dict[str, set], names: list[str]) -> list[dict]:
    """Rows of ``queryset`` whose field ``k`` is in ``keys[k]`` for some ``k``: one query.

    Small key sets become ``IN`` lists; a big file reads the table once and filters here
    (SQLite limits the number of query parameters, and one scan beats many batches).
    """
    keys = {k: v for k, v in keys.items() if v}
    if not keys:
        return []
    if sum(len(v) for v in keys.values()) <= IN_LIMIT:
        condition = None
        for name, values in keys.items():
            q = queryset.filter(**{f"{name}__in": sorted(values, key=str)})
            condition = q if condition is None else condition | q
        return list(condition.values(*names))
    return [
        row
        for row in queryset.values(*names).iterator(chunk_size=5000)
        if any(row[k] in v for k, v in keys.items())
    ]


class _Importer(PricePlanning):
    def __init__(self, *, user, today: dt.date, source: str, change_reason: str):
        self.user = user
        self.change_reason = change_reason
        self.today = today
        self.now = timezone.now()
        self.now_ts = self.now.timestamp()
        self.source = source
        self.report = ImportReport()
        self.plans: dict[str, _Plan] = {}
        self.refused: dict[str, list[int]] = defaultdict(list)  # material code -> lines

    # -- 2. what the database already holds ------------------------------------------------
    def load_state(self, rows: list[ParsedRow]) -> None:
        material_codes = {r.material_code for r in rows}
        codes = {name: {r.values[name] for r in rows if name in r.values} for name in CODE_FIELDS}
        dis = {r.udi_di for r in rows if r.udi_di}

        found = _fetch(
            Consumable.objects.all(),
            {"material_code": material_codes, **codes},
            CONSUMABLE_ATTNAMES,
        )
        self.existing: dict[str, dict] = {r["material_code"]: r for r in found}
        # code -> (material code, line in this file or None for the database)
        self.owners: dict[str, dict[str, tuple[str, int | None]]] = {n: {} for n in CODE_FIELDS}
        for r in found:
            if r["is_active"]:
                for name in CODE_FIELDS:
                    if r[name] is not None:
                        self.owners[name][r[name]] = (r["material_code"], None)

        live_dis = _fetch(
            DeviceIdentifier.objects.filter(is_active=True),
            {"udi_di": dis},
            [*DI_ATTNAMES, "consumable__material_code"],
        )
        self.db_dis = {r["udi_di"]: r for r in live_dis}
        self.di_owners: dict[str, tuple[str, int | None]] = {
            r["udi_di"]: (r["consumable__material_code"], None) for r in live_dis
        }

        ids = {r["id"] for mc, r in self.existing.items() if mc in material_codes}
        self.external: dict[tuple[int, str], list] = defaultdict(list)
        self.external_rows: dict[tuple[int, str, float], dict] = {}
        external = _fetch(
            ExternalPrice.objects.order_by("effective_from"),
            {"consumable_id": ids},
            [f.attname for f in ExternalPrice._meta.concrete_fields],
        )
        # Instants as POSIX timestamps: hashing and comparing aware datetimes of different
        # time zones costs a utcoffset() call each time, 30,000 times over.
        external.sort(key=lambda r: r["effective_from"])
        for r in external:
            at = r["effective_from"].timestamp()
            self.external[(r["consumable_id"], r["kind"])].append((at, r["price"]))
            self.external_rows[(r["consumable_id"], r["kind"], at)] = r
        self.approved: dict[int, list[dict]] = defaultdict(list)
        self.pending: dict[int, set[tuple[Decimal, Decimal]]] = defaultdict(set)
        versions = _fetch(
            PriceVersion.objects.exclude(status=REJECTED),
            {"consumable_id": ids},
            [
                "id",
                "consumable_id",
                "status",
                "effective_from",
                "decided_at",
                "purchase_price",
                "charge_price",
            ],
        )
        for r in versions:
            if r["status"] == APPROVED:
                self.approved[r["consumable_id"]].append(r)
            else:
                self.pending[r["consumable_id"]].add((r["purchase_price"], r["charge_price"]))

    # -- 3. planning, row by row in file order --------------------------------------------
    def plan(self, row: ParsedRow) -> list[RowError]:
        plan = self.plans.get(row.material_code)
        if plan is None:
            return self._define(row)
        return self._repeat(row, plan)

    def _define(self, row: ParsedRow) -> list[RowError]:
        mc = row.material_code
        existing = self.existing.get(mc)
        errors: list[RowError] = []
        if existing is not None and not existing["is_active"]:
            return [
                row_error(
                    row.line,
                    "CONSUMABLE_INACTIVE",
                    f"耗材 {mc} 已停用，请先在系统中启用后再导入",
                    f"consumable {mc} is retired: reactivate it before importing it",
                )
            ]
        if "name" not in row.values:
            earlier = self.refused.get(mc)
            note_zh = f"（第 {earlier[0]} 行已被拒绝）" if earlier else ""
            note_en = f" (line {earlier[0]} was refused)" if earlier else ""
            return [
                row_error(
                    row.line,
                    "VALIDATION_ERROR",
                    f"名称必填：这是物资编码 {mc} 的首个可导入行{note_zh}",
                    f"name is required on the first loadable row of {mc}{note_en}",
                )
            ]
        if existing is None:
            final = dict(_defaults())
        else:
            final = {n: existing[n] for n in CONSUMABLE_FIELDS}
        final.update(row.values)
        if "billed_by" not in row.values and (
            existing is None or final["tracking"] != existing["tracking"]
        ):
            final["billed_by"] = SCAN if final["tracking"] == UNIT else HIS
        errors += _insurance_class_errors(row, final)
        for name in CODE_FIELDS:
            value = final[name]
            holder = self.owners[name].get(value) if value is not None else None
            if holder is not None and holder[0] != mc:
                errors.append(self._code_conflict(row.line, name, value, holder))

        if existing is None:
            consumable = Consumable(material_code=mc, **final)
        else:
            consumable = Consumable.from_db(
                "default", CONSUMABLE_ATTNAMES, [existing[n] for n in CONSUMABLE_ATTNAMES]
            )
        plan = _Plan(
            line=row.line,
            consumable=consumable,
            is_new=existing is None,
            final=final,
            prices=row.prices,
            effective_date=row.effective_date or self.today,
            changed={n for n in CONSUMABLE_FIELDS if existing and final[n] != existing[n]},
        )
        errors += self._plan_di(row, plan)
        errors += self._plan_prices(row, plan)
        if errors:
            return errors
        for name in plan.changed:
            setattr(consumable, name, final[name])
        for name in CODE_FIELDS:
            old = existing[name] if existing else None
            if (
                old is not None
                and old != final[name]
                and self.owners[name].get(old, ("",))[0] == mc
            ):
                del self.owners[name][old]
            if final[name] is not None:
                self.owners[name][final[name]] = (mc, row.line)
        self._commit_di(row, plan)
        self.plans[mc] = plan
        return []

    def _repeat(self, row: ParsedRow, plan: _Plan) -> list[RowError]:
        mc = row.material_code
        differences = []
        for name, value in row.values.items():
            if value != plan.final[name]:
                differences.append((name, value, plan.final[name]))
        for name in PRICE_FIELDS:
            if name in row.prices and row.prices[name] != plan.prices.get(name):
                differences.append((name, row.prices[name], plan.prices.get(name)))
        if row.effective_date and row.effective_date != plan.effective_date:
            differences.append(("price_effective_from", row.effective_date, plan.effective_date))
        if differences:
            zh = "；".join(f"{n}「{v}」≠「{_show(w)}」" for n, v, w in differences)
            en = "; ".join(f"{n} '{v}' != '{_show(w)}'" for n, v, w in differences)
            return [
                row_error(
                    row.line,
                    "VALIDATION_ERROR",
                    f"与第 {plan.line} 行（定义物资编码 {mc} 的行）不一致：{zh}",
                    f"contradicts line {plan.line}, which defines {mc}: {en}",
                )
            ]
        errors = self._plan_di(row, plan)
        if not errors:
            self._commit_di(row, plan)
        return errors

    def _code_conflict(self, line, name, value, holder) -> RowError:
        code, label = CONFLICT_CODES[name]
        other, other_line = holder
        where_zh = f"（本文件第 {other_line} 行）" if other_line else ""
        where_en = f" (line {other_line} of this file)" if other_line else ""
        return row_error(
            line,
            code,
            f"{label} {value} 已被另一在用耗材 {other} 使用{where_zh}",
            f"{name} {value} is already used by another live consumable {other}{where_en}",
        )

    def _plan_di(self, row: ParsedRow, plan: _Plan) -> list[RowError]:
        di = row.udi_di
        if di is None:
            return []
        mc = row.material_code
        holder = self.di_owners.get(di)
        if holder is not None and holder[0] != mc:
            other, other_line = holder
            where_zh = f"（本文件第 {other_line} 行）" if other_line else ""
            where_en = f" (line {other_line} of this file)" if other_line else ""
            return [
                row_error(
                    row.line,
                    "UDI_DI_CONFLICT",
                    f"UDI-DI {di} 已属于另一耗材 {other}{where_zh}",
                    f"UDI-DI {di} already belongs to another consumable {other}{where_en}",
                )
            ]
        if di in plan.dis:
            first_line, units, level = plan.dis[di]
            if (row.units_per_package or units or 1) != (units or 1) or (
                row.package_level and level and row.package_level != level
            ):
                return [
                    row_error(
                        row.line,
                        "VALIDATION_ERROR",
                        f"UDI-DI {di} 的包装数量/层级与第 {first_line} 行不一致",
                        f"UDI-DI {di}: units_per_package or package_level contradicts line "
                        f"{first_line}",
                    )
                ]
        return []

    def _commit_di(self, row: ParsedRow, plan: _Plan) -> None:
        di = row.udi_di
        if di is None or di in plan.dis:
            return
        plan.dis[di] = (row.line, row.units_per_package, row.package_level)
        self.di_owners[di] = (row.material_code, row.line)
        stored = self.db_dis.get(di)
        if stored is None:
            plan.new_dis.append(
                DeviceIdentifier(
                    consumable_id=plan.consumable.pk,
                    udi_di=di,
                    issuer=row.issuer,
                    units_per_package=row.units_per_package or 1,
                    package_level=row.package_level or "",
                )
            )
            return
        changes = {}
        if row.units_per_package and row.units_per_package != stored["units_per_package"]:
            changes["units_per_package"] = row.units_per_package
        if row.package_level and row.package_level != stored["package_level"]:
            changes["package_level"] = row.package_level
        if changes:
            instance = DeviceIdentifier.from_db(
                "default", DI_ATTNAMES, [stored[n] for n in DI_ATTNAMES]
            )
            for name, value in changes.items():
                setattr(instance, name, value)
            plan.di_updates.append(instance)

    # -- 4. writing --------------------------------------------------------------------------
    def write(self) -> None:
        plans = list(self.plans.values())
        history = {
            "batch_size": BATCH,
            "default_user": self.user,
            "default_change_reason": self.change_reason,
            "default_date": self.now,  # one import, one instant in the history
        }
        proposals = [
            p.price_version for p in plans if p.price_version and p.price_version.status == PROPOSED
        ]
        if proposals and self.user is None:
            system = _system_user()
            for version in proposals:
                version.proposed_by = system

        # A code moving from one consumable to another: free it first, so no intermediate
        # state of the bulk update breaks the unique indexes.
        freed: dict[str, list[int]] = defaultdict(list)
        for plan in plans:
            existing = self.existing.get(plan.consumable.material_code)
            for name in set(CODE_FIELDS) & plan.changed:
                old = existing[name]
                if old is not None and old in self.owners[name]:
                    freed[name].append(plan.consumable.pk)
        for name, pks in freed.items():
            Consumable.objects.filter(pk__in=pks).update(**{name: None})

        by_fields: dict[frozenset, list[Consumable]] = defaultdict(list)
        for plan in plans:
            if plan.changed:
                plan.consumable.updated_at = self.now
                by_fields[frozenset(plan.changed)].append(plan.consumable)
        for names, objs in by_fields.items():
            bulk_update_with_history(objs, Consumable, [*sorted(names), "updated_at"], **history)
        new_plans = [p for p in plans if p.is_new]
        if new_plans:
            created = bulk_create_with_history(
                [p.consumable for p in new_plans], Consumable, **history
            )
            for plan, consumable in zip(new_plans, created, strict=True):
                for obj in (*plan.new_dis, *plan.external_new, plan.price_version):
                    if obj is not None:
                        obj.consumable_id = consumable.pk

        di_updates = [d for p in plans for d in p.di_updates]
        for names in {frozenset(_changed(d, self.db_dis[d.udi_di])) for d in di_updates}:
            objs = [d for d in di_updates if frozenset(_changed(d, self.db_dis[d.udi_di])) == names]
            bulk_update_with_history(objs, DeviceIdentifier, sorted(names), **history)
        self._create(DeviceIdentifier, [d for p in plans for d in p.new_dis], history)
        external_updates = [e for p in plans for e in p.external_updates]
        if external_updates:
            bulk_update_with_history(external_updates, ExternalPrice, ["price"], **history)
        self._create(ExternalPrice, [e for p in plans for e in p.external_new], history)
        self._create(PriceVersion, [p.price_version for p in plans if p.price_version], history)

    @staticmethod
    def _create(model, objs: list, history: dict) -> None:
        if objs:
            bulk_create_with_history(objs, model, **history)

    def count(self) -> None:
        report = self.report
        for plan in self.plans.values():
            if plan.is_new:
                report.created += 1
            elif plan.touched:
                report.updated += 1
            else:
                report.unchanged += 1
            report.device_identifiers_created += len(plan.new_dis)
            report.device_identifiers_updated += len(plan.di_updates)
            report.external_prices_created += len(plan.external_new)
            report.external_prices_updated += len(plan.external_updates)
            if plan.price_version is not None:
                if plan.price_version.status == APPROVED:
                    report.prices_approved += 1
                else:
                    report.prices_proposed += 1


def _insurance_class_errors(row: ParsedRow, final: dict) -> list[RowError]:
    """限定支付, by ``insurance.insurance_terms_problem`` on the item's final terms. A row that
    takes an item out of the restricted class without a restriction of its own drops the
    stored condition (it belonged to the class the item leaves): an empty cell cannot clear
    it, so the import would otherwise refuse that change for ever."""
    if final["insurance_class"] != RESTRICTED and "insurance_restriction" not in row.values:
        final["insurance_restriction"] = ""
    problem = insurance_terms_problem(final["insurance_class"], final["insurance_restriction"])
    if problem is None:
        return []
    column = "restriction" if problem.field == "insurance_restriction" else problem.field
    return [
        row_error(
            row.line,
            problem.code,
            f"{problem.message}（{column}）",
            f"{problem.message_en} ({column}; insurance_class '{final['insurance_class']}')",
        )
    ]


def _changed(instance, stored: dict) -> list[str]:
    return [n for n in ("units_per_package", "package_level") if getattr(instance, n) != stored[n]]


def _show(value) -> str:
    return "" if value is None else str(value)


def _system_user():
    """The proposer of price changes loaded without a named user; it cannot log in."""
    user, created = get_user_model().objects.get_or_create(
        username=SYSTEM_USERNAME, defaults={"first_name": "主数据导入"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def import_consumable_rows(
    rows: Iterable[tuple[int, dict[str, str]]],
    *,
    user=None,
    today: dt.date | None = None,
    source: str = "import_master",
    change_reason: str = CHANGE_REASON,
) -> ImportReport:
    """Load or update consumables from rows of consumables.csv (docs/contract.md).

    A bad row is reported with its line number and loads nothing of itself; the rest loads
    in one transaction. If the database refuses the load, nothing is written and the report
    has ``failed`` set and one error with line 0. ``change_reason`` is written on the
    master-data history rows (who loaded them is ``user``).
    """
    importer = _Importer(
        user=user,
        today=today or timezone.localdate(),
        source=source,
        change_reason=change_reason,
    )
    report = importer.report
    parsed: list[ParsedRow] = []
    for index, (line, raw) in enumerate(rows):
        if index == 0:
            missing = [c for c in REQUIRED_COLUMNS if c not in raw]
            if missing:
                raise ImportFileError(
                    "MISSING_COLUMNS", columns=", ".join(missing), detail={"missing": missing}
                )
        report.rows += 1
        row = parse_row(line, raw)
        if row.errors:
            report.errors += row.errors
            if row.material_code:
                importer.refused[row.material_code].append(line)
        else:
            parsed.append(row)
    importer.load_state(parsed)
    for row in parsed:
        errors = importer.plan(row)
        if errors:
            report.errors += errors
            importer.refused[row.material_code].append(row.line)
    report.errors.sort(key=lambda e: e.line)
    try:
        with transaction.atomic():
            importer.write()
    except DatabaseError as exc:
        report.failed = True
        report.errors.append(
            RowError(
                line=0,
                code="DATABASE_ERROR",
                message=f"数据库拒绝写入，未导入任何数据：{exc} / "
                f"the database refused the load, nothing was imported: {exc}",
            )
        )
        return report
    importer.count()
    return report
