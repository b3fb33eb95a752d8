"""The code-conflict report: set-based SQL over the workspace and the live master.

Every kind of conflict is one ``GROUP BY ... HAVING`` over ``links``, the union of the
pending staging rows and the live master (consumables and their live DIs), so that a row
disagreeing with an item already live is reported too. The whole summary (every count, the
materials pending and the clean ones) is one statement, and a page of one kind is one more
statement plus the rows it involves: a bounded number of queries whatever the rows.

Blocking kinds keep the materials they touch out of the live master until fixed; the others
(missing codes, an order code with no charge code) are reported but do not block promotion,
because suppliers submit insurance codes and DIs later and the master allows a code to be
missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.utils.translation import gettext_lazy as _

from ..models.master import Consumable, DeviceIdentifier
from .models import ConflictSnapshot, StagingRow


@dataclass(frozen=True)
class Kind:
    code: str
    label: str  # Chinese / English
    lookup: str  # the field whose value is the conflict's key
    blocking: bool
    sql: str  # SELECT key, n ... over the CTEs of WITH_SQL


def _multi(key: str, other: str) -> str:
    # COUNT(DISTINCT) over distinct pairs: the same answer as COUNT(DISTINCT other) per key,
    # but both steps can hash instead of sorting every group.
    return (
        f"SELECT {key} AS k, COUNT(*) AS n FROM (SELECT DISTINCT {key}, {other} FROM links "
        f"WHERE {key} IS NOT NULL AND {other} IS NOT NULL) pairs "
        f"GROUP BY {key} HAVING COUNT(*) > 1"
    )


NOT_CHARGEABLE = "SUM(CASE WHEN chargeable = FALSE THEN 1 ELSE 0 END) = 0"


def _missing(code: str, chargeable_only: bool) -> str:
    # Materials of the HRP list (hrp > 0) with no ``code`` anywhere in the links.
    having = f"SUM(hrp) > 0 AND COUNT({code}) = 0"
    if chargeable_only:
        having += f" AND {NOT_CHARGEABLE}"
    return (
        "SELECT material_code AS k, COUNT(*) AS n FROM links WHERE material_code IS NOT NULL "
        f"GROUP BY material_code HAVING {having}"
    )


KINDS: dict[str, Kind] = {
    k.code: k
    for k in [
        Kind("MATERIAL_MULTI_CHARGE", _("一个物资编码对应多个计费编码 / material code with several "
             "charge codes"), "material_code", True, _multi("material_code", "charge_code")),
        Kind("CHARGE_MULTI_MATERIAL", _("一个计费编码对应多个物资编码 / charge code with several "
             "materials"), "charge_code", True, _multi("charge_code", "material_code")),
        Kind("CHARGE_MULTI_ORDER", _("一个计费编码对应多个医嘱编码 / charge code with several "
             "order codes"), "charge_code", True, _multi("charge_code", "order_code")),
        Kind("ORDER_MULTI_CHARGE", _("一个医嘱编码对应多个计费编码 / order code with several "
             "charge codes"), "order_code", True, _multi("order_code", "charge_code")),
        Kind("MATERIAL_MULTI_INSURANCE", _("一个物资编码对应多个医保编码 / material code with "
             "several insurance codes"), "material_code", True,
             _multi("material_code", "insurance_code")),
        Kind("INSURANCE_MULTI_MATERIAL", _("一个医保编码用于多个物资 / insurance code on several "
             "items"), "insurance_code", True, _multi("insurance_code", "material_code")),
        Kind("DI_MULTI_MATERIAL", _("一个 UDI-DI 对应多个物资 / DI on several materials"),
             "udi_di", True, _multi("udi_di", "material_code")),
        Kind("INVALID_ROW", _("编码格式错误 / invalid codes in a row"), "row_key", True,
             "SELECT COALESCE(material_code, charge_code, order_code) AS k, COUNT(*) AS n "
             "FROM pending WHERE problems <> '' "
             "GROUP BY COALESCE(material_code, charge_code, order_code)"),
        Kind("ORDER_WITHOUT_CHARGE", _("医嘱编码无计费编码 / order code without a charge code"),
             "order_code", False,
             "SELECT order_code AS k, COUNT(*) AS n FROM links WHERE order_code IS NOT NULL "
             "GROUP BY order_code HAVING COUNT(charge_code) = 0"),
        Kind("MISSING_CHARGE_CODE", _("缺计费编码 / no charge code"), "material_code", False,
             _missing("charge_code", chargeable_only=True)),
        Kind("MISSING_ORDER_CODE", _("缺医嘱编码 / no order code"), "material_code", False,
             # No order code of its own, and none of its charge codes has one.
             "SELECT material_code AS k, COUNT(*) AS n FROM links "
             "WHERE material_code IS NOT NULL GROUP BY material_code "
             "HAVING SUM(hrp) > 0 AND COUNT(order_code) = 0 AND COUNT(charge_code) > 0 "
             f"AND {NOT_CHARGEABLE} AND SUM(CASE WHEN charge_code IN "
             "(SELECT charge_code FROM charge_orders) THEN 1 ELSE 0 END) = 0"),
        Kind("MISSING_INSURANCE_CODE", _("缺医保编码 / no insurance code"), "material_code", False,
             _missing("insurance_code", chargeable_only=True)),
        Kind("MISSING_UDI_DI", _("缺 UDI-DI / no UDI-DI"), "material_code", False,
             _missing("udi_di", chargeable_only=False)),
        # The HRP supplier list: a row import_master would refuse, or one supplier code given
        # different names or numbers. Each keeps that supplier (only) out of the master.
        Kind("SUPPLIER_INVALID_ROW", _("供应商行数据错误 / invalid supplier row"),
             "supplier_code", True,
             "SELECT supplier_code AS k, COUNT(*) AS n FROM supplier_pending "
             "WHERE problems <> '' GROUP BY supplier_code"),
        Kind("SUPPLIER_CONTRADICTS", _("一个供应商编码的多行不一致 / supplier code with "
             "contradicting rows"), "supplier_code", True,
             "SELECT supplier_code AS k, COUNT(*) AS n FROM supplier_pending "
             "GROUP BY supplier_code HAVING COUNT(DISTINCT NULLIF(name, '')) > 1 "
             "OR COUNT(DISTINCT NULLIF(credit_code, '')) > 1 "
             "OR COUNT(DISTINCT NULLIF(license_no, '')) > 1"),
    ]
}  # fmt: skip


def kind_table(code: str) -> str:
    """The CTE holding the conflicts (k, n) of one kind."""
    return f"kind_{code.lower()}"


def cte_sql() -> str:
    """The WITH clause every report statement starts with.

    Joins between these CTEs are avoided on purpose: PostgreSQL estimates a CTE's rows
    poorly and may then choose a nested loop over two 30,000-row sets. Each kind is a
    GROUP BY over ``links``; membership tests are ``IN (subquery)`` inside an OR or a CASE,
    which PostgreSQL runs as hashed subplans whatever its estimates.
    """
    staging = StagingRow._meta.db_table
    consumable = Consumable._meta.db_table
    di = DeviceIdentifier._meta.db_table
    # MATERIALIZED: each CTE is read many times in one statement; PostgreSQL and SQLite
    # then compute it once instead of once per reference.
    kinds = ",\n    ".join(
        f"{kind_table(code)} AS MATERIALIZED ({kind.sql})" for code, kind in KINDS.items()
    )
    return f"""
    WITH pending AS MATERIALIZED (
        SELECT source, material_code, charge_code, order_code, insurance_code, udi_di,
               chargeable, problems
        FROM {staging} WHERE status = 'pending' AND source <> 'supplier'
    ),
    supplier_pending AS MATERIALIZED (
        SELECT supplier_code, name, credit_code, license_no, problems
        FROM {staging} WHERE status = 'pending' AND source = 'supplier'
    ),
    links AS MATERIALIZED (
        SELECT material_code, charge_code, order_code, insurance_code, udi_di, chargeable,
               CASE WHEN source = 'hrp' THEN 1 ELSE 0 END AS hrp
        FROM pending
        UNION ALL
        SELECT material_code, charge_code, order_code, insurance_code, NULL, chargeable, 0
        FROM {consumable} WHERE is_active = TRUE
        UNION ALL
        SELECT c.material_code, NULL, NULL, NULL, d.udi_di, NULL, 0
        FROM {di} d JOIN {consumable} c ON c.id = d.consumable_id
        WHERE d.is_active = TRUE AND c.is_active = TRUE
    ),
    materials AS MATERIALIZED (
        SELECT DISTINCT material_code FROM pending
        WHERE source = 'hrp' AND material_code IS NOT NULL
    ),
    charge_orders AS MATERIALIZED (
        SELECT DISTINCT charge_code FROM links
        WHERE charge_code IS NOT NULL AND order_code IS NOT NULL
    ),
    {kinds},
    blocked AS MATERIALIZED (
        {_blocked_sql()}
    )
    """


def _blocked_sql() -> str:
    """Material codes touched by a blocking conflict: directly, or through one of their
    charge codes, insurance codes, DIs, or an order code of one of their charge codes."""
    k = {code: f"SELECT k FROM {kind_table(code)}" for code in KINDS}
    order_charges = (
        "SELECT charge_code FROM links WHERE charge_code IS NOT NULL AND "
        f"CASE WHEN order_code IN ({k['ORDER_MULTI_CHARGE']}) THEN 1 ELSE 0 END = 1"
    )
    return (
        "SELECT material_code FROM links WHERE material_code IS NOT NULL AND ("
        f"material_code IN ({k['MATERIAL_MULTI_CHARGE']}) "
        f"OR material_code IN ({k['MATERIAL_MULTI_INSURANCE']}) "
        f"OR charge_code IN ({k['CHARGE_MULTI_MATERIAL']}) "
        f"OR charge_code IN ({k['CHARGE_MULTI_ORDER']}) "
        f"OR charge_code IN ({order_charges}) "
        f"OR insurance_code IN ({k['INSURANCE_MULTI_MATERIAL']}) "
        f"OR udi_di IN ({k['DI_MULTI_MATERIAL']})) "
        "UNION SELECT material_code FROM pending WHERE problems <> '' "
        "AND material_code IS NOT NULL"
    )


@dataclass(frozen=True)
class Summary:
    counts: dict[str, int]  # kind -> conflicts
    materials_pending: int
    materials_clean: int

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def blocking(self) -> int:
        return blocking_count(self.counts)


def blocking_count(counts: dict[str, int]) -> int:
    """Conflicts of the kinds that keep a material out of the master, of ``counts``."""
    return sum(n for kind, n in counts.items() if kind in KINDS and KINDS[kind].blocking)


def conflict_summary() -> Summary:
    """Every count of the report in one SQL statement."""
    parts = [f"SELECT '{code}' AS kind, COUNT(*) FROM {kind_table(code)}" for code in KINDS]
    parts.append("SELECT '_pending', COUNT(*) FROM materials")
    parts.append(
        "SELECT '_clean', COUNT(*) FROM materials "
        "WHERE material_code NOT IN (SELECT material_code FROM blocked "
        "WHERE material_code IS NOT NULL)"
    )
    with connection.cursor() as cursor:
        cursor.execute(cte_sql() + " UNION ALL ".join(parts))
        found = dict(cursor.fetchall())
    return Summary(
        counts={code: found.get(code, 0) for code in KINDS},
        materials_pending=found.get("_pending", 0),
        materials_clean=found.get("_clean", 0),
    )


def conflict_keys(kind: str, *, limit: int = 100, offset: int = 0) -> list[tuple[str, int]]:
    """One page of the conflicts of ``kind``: (key, number of distinct values or rows)."""
    sql = f"{cte_sql()} SELECT k, n FROM {kind_table(kind)} ORDER BY k LIMIT %s OFFSET %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [limit, offset])
        return [(k, n) for k, n in cursor.fetchall()]


def clean_material_codes(material_codes: list[str] | None = None) -> list[str]:
    """Material codes of the pending HRP rows that no blocking conflict touches
    (restricted to ``material_codes`` when given). One statement."""
    sql = (
        f"{cte_sql()} SELECT material_code FROM materials WHERE material_code NOT IN "
        "(SELECT material_code FROM blocked WHERE material_code IS NOT NULL) "
        "ORDER BY material_code"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        found = [code for (code,) in cursor.fetchall()]
    if material_codes is not None:
        wanted = set(material_codes)
        found = [code for code in found if code in wanted]
    return found


SUPPLIER_KINDS = ("SUPPLIER_INVALID_ROW", "SUPPLIER_CONTRADICTS")


def clean_supplier_codes() -> list[str]:
    """Supplier codes of the pending supplier rows that no supplier kind touches. One
    statement."""
    blocked = " UNION ".join(f"SELECT k FROM {kind_table(code)}" for code in SUPPLIER_KINDS)
    sql = (
        f"{cte_sql()} SELECT DISTINCT supplier_code FROM supplier_pending "
        f"WHERE supplier_code NOT IN ({blocked}) ORDER BY supplier_code"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [code for (code,) in cursor.fetchall()]


def take_snapshot(*, trigger: str, batch=None, user=None) -> ConflictSnapshot:
    """Record today's counts, so that "the count going down" is a real series."""
    summary = conflict_summary()
    return ConflictSnapshot.objects.create(
        trigger=trigger,
        batch=batch,
        user=user,
        counts=summary.counts,
        total=summary.total,
        materials_pending=summary.materials_pending,
        materials_clean=summary.materials_clean,
    )
