"""Reads for the workspace pages: the rows behind a page of conflicts, the series of
snapshots, exports. Each is a bounded number of queries."""

from __future__ import annotations

from collections import defaultdict

from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from organisation.models import Supplier

from ..models import Consumable, DeviceIdentifier
from .conflicts import KINDS, blocking_count, conflict_keys, cte_sql, kind_table
from .models import ConflictSnapshot, StagingImport, StagingRow

ROW_KEY_FIELDS = ("material_code", "charge_code", "order_code")
ROW_COLUMNS = [
    ("kind", _("冲突类型 / kind")),
    ("key", _("冲突编码 / code in conflict")),
    ("n", _("数量 / count")),
    ("file", _("文件 / file")),
    ("line", _("行号 / line")),
    ("source", _("来源 / source")),
    ("material_code", "物资编码"),
    ("charge_code", "计费编码"),
    ("order_code", "医嘱编码"),
    ("insurance_code", "医保耗材编码"),
    ("udi_di", "UDI-DI"),
    ("name", "名称"),
    ("problems", _("数据问题 / problems")),
]


def _row_key(row: StagingRow) -> str | None:
    return row.material_code or row.charge_code or row.order_code


def rows_for(kind: str, keys: list[str]) -> dict[str, list[StagingRow]]:
    """The pending rows behind the conflicts ``keys`` of ``kind`` (one query)."""
    if not keys:
        return {}
    rows = StagingRow.objects.filter(status=StagingRow.Status.PENDING).select_related("batch")
    lookup = KINDS[kind].lookup
    if lookup == "row_key":
        condition = Q()
        for name in ROW_KEY_FIELDS:
            condition |= Q(**{f"{name}__in": keys})
        rows = rows.filter(condition).exclude(problems="")
    else:
        rows = rows.filter(**{f"{lookup}__in": keys})
    found: dict[str, list[StagingRow]] = defaultdict(list)
    for row in rows.order_by("source", "batch_id", "line"):
        key = _row_key(row) if lookup == "row_key" else getattr(row, lookup)
        found[key].append(row)
    return found


def live_for(kind: str, keys: list[str]) -> dict[str, list[Consumable]]:
    """The live consumables holding the conflicting codes ``keys`` (one query); for a
    supplier kind, the suppliers of those codes."""
    lookup = KINDS[kind].lookup
    found: dict[str, list[Consumable]] = defaultdict(list)
    if not keys or lookup == "row_key":
        return found
    if lookup == "supplier_code":  # the live suppliers of those codes
        for supplier in Supplier.objects.filter(code__in=keys):
            found[supplier.code].append(supplier)
        return found
    if lookup == "udi_di":
        for di in DeviceIdentifier.objects.filter(
            udi_di__in=keys, is_active=True, consumable__is_active=True
        ).select_related("consumable"):
            found[di.udi_di].append(di.consumable)
        return found
    for item in Consumable.objects.filter(is_active=True, **{f"{lookup}__in": keys}):
        found[getattr(item, lookup)].append(item)
    return found


def conflict_page(kind: str, *, page: int, per_page: int = 50) -> list[dict]:
    """One page of conflicts of ``kind``, each with its rows and live items (3 queries)."""
    pairs = conflict_keys(kind, limit=per_page, offset=(page - 1) * per_page)
    keys = [k for k, _ in pairs]
    rows = rows_for(kind, keys)
    live = live_for(kind, keys)
    return [{"key": k, "n": n, "rows": rows.get(k, []), "live": live.get(k, [])} for k, n in pairs]


def export_rows(kind: str):
    """Every conflict of ``kind`` with each pending row behind it, for a download: one
    statement joining the conflicts to the staging rows."""
    lookup = KINDS[kind].lookup
    staging = StagingRow._meta.db_table
    batch = StagingImport._meta.db_table
    if lookup == "row_key":
        on = "q.k = COALESCE(s.material_code, s.charge_code, s.order_code) AND s.problems <> ''"
    else:
        on = f"q.k = s.{lookup}"
    sql = (
        f"{cte_sql()} SELECT q.k, q.n, b.file_name, s.line, s.source, s.material_code, "
        "s.charge_code, s.order_code, s.insurance_code, s.udi_di, s.name, s.problems "
        f"FROM {kind_table(kind)} q "
        f"LEFT JOIN {staging} s ON {on} AND s.status = 'pending' "
        f"LEFT JOIN {batch} b ON b.id = s.batch_id ORDER BY q.k, s.source, s.line"
    )
    label = KINDS[kind].label
    with connection.cursor() as cursor:
        cursor.execute(sql)
        for k, n, *rest in cursor.fetchall():
            yield {"kind": label, "key": k, "n": n, **dict(zip([c for c, _ in ROW_COLUMNS[3:]],
                                                              rest, strict=True))}


def recent_snapshots(limit: int = 10) -> list[ConflictSnapshot]:
    """The latest snapshots, newest first, each with ``blocking`` (its blocking conflicts)."""
    snapshots = list(ConflictSnapshot.objects.select_related("user", "batch")[:limit])
    for snapshot in snapshots:
        snapshot.blocking = blocking_count(snapshot.counts)
    return snapshots


def snapshot_series(limit: int = 60) -> list[ConflictSnapshot]:
    """The last snapshot of each day, oldest first (at most ``limit`` days)."""
    by_day: dict = {}
    for snapshot in ConflictSnapshot.objects.order_by("-taken_at", "-pk")[: limit * 20]:
        day = timezone.localdate(snapshot.taken_at)
        by_day.setdefault(day, snapshot)
        if len(by_day) >= limit:
            break
    return [by_day[day] for day in sorted(by_day)]


SNAPSHOT_COLUMNS = [
    ("taken_at", _("时间 / taken at")),
    ("trigger", _("触发 / trigger")),
    ("total", _("冲突合计 / conflicts")),
    ("materials_pending", _("待处理物资 / materials pending")),
    ("materials_clean", _("可入主数据 / clean")),
    *[(code, kind.label) for code, kind in KINDS.items()],
]


def snapshot_rows(limit: int = 10_000):
    for s in ConflictSnapshot.objects.order_by("-taken_at", "-pk")[:limit]:
        yield {
            "taken_at": s.taken_at,
            "trigger": s.get_trigger_display(),
            "total": s.total,
            "materials_pending": s.materials_pending,
            "materials_clean": s.materials_clean,
            **{code: s.counts.get(code, 0) for code in KINDS},
        }


IMPORT_COLUMNS = [
    ("id", _("导入号 / no.")),
    ("source", _("来源 / source")),
    ("file_name", _("文件 / file")),
    ("rows_read", _("读取行数 / rows read")),
    ("rows_loaded", _("载入行数 / rows staged")),
    ("rows_refused", _("未载入行数 / rows refused")),
    ("rows_superseded", _("被替换行数 / rows superseded")),
    ("imported_by", _("导入人 / imported by")),
    ("imported_at", _("导入时间 / imported at")),
]


def import_rows(limit: int = 10_000):
    for b in StagingImport.objects.select_related("imported_by")[:limit]:
        user = b.imported_by
        yield {
            "id": b.pk,
            "source": b.get_source_display(),
            "file_name": b.file_name,
            "rows_read": b.rows_read,
            "rows_loaded": b.rows_loaded,
            "rows_refused": len(b.errors),
            "rows_superseded": b.rows_superseded,
            "imported_by": (user.get_full_name() or user.username) if user else "",
            "imported_at": b.imported_at,
        }
