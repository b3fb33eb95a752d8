"""The audit rules: uses matched against charges per encounter and item, set-based.

One module for the pre-discharge audit (出院预审核, ``until`` = now) and the nightly
reconciliation (``until`` = the end of the business day, Asia/Shanghai), so the ward sees
exactly what finance will see. Kinds and definitions are docs/contract.md's "Reconciliation":

- ``UNBILLED_USE`` (漏费): a chargeable item whose net used (uses - returns from the
  patient) is above its net charged (charged - refunded) in the encounter; quantity = the
  shortfall.
- ``DUPLICATE_CHARGE`` (重复收费): an item with net charged > net used > 0, whoever bills
  it (scan or HIS: where a use is known, a charge beyond it is known too); quantity = the
  excess.
- ``CHARGE_WITHOUT_USE`` (无使用收费): a scan-billed item with net charged > 0 and no use
  standing in the encounter (net used = 0: never used, or every use came back), so that
  every "charged more than used" case of a scan-billed item is exactly one of these two (or
  SUBSTITUTION). Scan-billed only: an item keyed in at HIS is often never scanned, so no
  scanned use is no evidence of no use.
- ``SUBSTITUTION`` (串换): an item A charged beyond its use (net charged > net used) in an
  encounter where another chargeable item B of the same generic classification (the first
  ``GENERIC_PREFIX`` = 10 characters of ``Consumable.insurance_code``: "C", category,
  generic name) was used beyond its charge. One finding per A; it *replaces* A's
  DUPLICATE_CHARGE or CHARGE_WITHOUT_USE (one finding per thing to fix) and, for an item
  keyed in at HIS and never scanned, is the only sign of its dear charge. B keeps its
  UNBILLED_USE: refunding A and charging B clears both. ``quantity`` = A's whole excess
  (what the ward refunds); ``detail.substituted`` = min(A's excess, the B items' shortfall),
  the part the cheaper items account for; ``detail.substitutes`` lists each B with its code,
  name, net figures and charge price, A's own charge price beside them.
- ``CHARGE_OVER_ORDER`` (超医嘱收费): per encounter and order code, net charged above the
  quantity of the encounter's doctor orders of that code ordered before ``until``, when at
  least one exists (no order at all is CHARGE_WITHOUT_ORDER); quantity = the excess,
  ``ref`` the latest charge line of the item, ``detail`` ordered, net_charged, order_code,
  doctors. The order code of an item is its master data's (the line copies it when
  charged), so the charges are the pairs' figures already summed: no second read of the
  lines. It stands beside the pair's own kind (a unit charged twice against an order for
  one is both DUPLICATE_CHARGE and CHARGE_OVER_ORDER: two things to fix, refund and order).
- ``PRICE_MISMATCH`` (超物价收费 / 少收费): a charge line whose unit price is not the approved
  charge price in force at its ``charged_at`` (or no approved price was in force then).
- ``CHARGE_WITHOUT_ORDER`` (无医嘱收费): a charge line linked to no doctor order and whose
  order code matches no doctor order of the encounter ordered before ``until``.
- ``SPLIT_CHARGE`` (分解收费): a charge line of an item that is not separately chargeable
  (``chargeable`` false: its cost is in a procedure fee). Such an item has no charge price,
  so its line is not also a PRICE_MISMATCH: one line, one finding of what is wrong.
- ``SELF_PAY_WITHOUT_CONSENT`` (自费未知情同意): a charge line of a ``self_pay`` or
  ``restricted`` item in an insured encounter (its insurance type now, ``InsuranceType.insured``)
  with no consent for that encounter and item signed before ``until``. The finding names the
  encounter's latest change of insurance type from its history (``insurance_change``,
  "自费 → 职工医保"), the usual cause of such a line.
"Scan-billed" is tracked by unit or ``billed_by`` scan (the item's master data now).

The cut-off. Every event strictly before ``until`` counts, nothing after it (half-open,
like the business day: the nightly run passes the next day's midnight). The running
counters (``Use.returned_quantity``, ``ChargeLine.refunded_quantity``) carry no time, so
they only say whether a return or refund exists at all (they only grow); the figures come
from the timed rows: returns are the ledger's return moves reversing one of the pair's use
moves (``StockMove.reverses``, ``occurred_at``), refunds the ``ChargeRefund`` rows
(``refunded_at``). A cut-off in the past therefore sees the encounter as it stood then. A
charge line fully refunded before the cut-off has no effect left and raises no line finding
(refunding and re-charging is how a ward fixes a wrong price).

Which pairs and lines. The audit looks at every pair and standing line of its encounters.
The nightly run (``findings_for_day``) reports, as docs/contract.md says, a pair "on each day
the encounter had a use or charge of that item" (a return or a refund is a negative use or
charge, so it counts too), matched on all its events before the day's end (a SUBSTITUTION
also on a day one of its B items had one, a CHARGE_OVER_ORDER on a day any item of its
order code had one); a line finding
is reported on the day the line was charged (it is a fact about that line, so a period
report counts it once).

Set-based. Two SQL statements whatever the number of encounters: the matching aggregates
the uses, returns, charges and refunds of the encounters concerned with ``GROUP BY`` (index
range scans per encounter, never the whole history), pairs the imbalanced items of one
encounter by generic classification (a hash join of the encounters' pairs with themselves),
sums the encounters' orders per code (index-only, ``order_enc_code_time_qty``) and decides
the kind with ``CASE``; the
line check reads the lines with their refunds, the price in force (``PRICE_SPANS``, a
window over the approved versions, joined by range), the item's master data and
``EXISTS`` on the orders, the insurance type and the consents. Python only turns the returned
rows into ``Finding`` objects; one more query, only when a line lacks a consent, reads the
encounters' changes of insurance type from their history. The SQL is plain SQL that
PostgreSQL and SQLite (the quick start) both run.

Department of a finding: for a line finding the charge line's department; for a matching
finding the department of the latest use of the item in the encounter, else of its latest
charge, else the encounter's ward. ``ref``: ``use:<id>`` (the latest use, for UNBILLED_USE)
or ``charge:<id>`` (the line, or the pair's latest line).

Entry points:
- ``findings(encounters, until=...)``: every kind for a queryset of encounters or an
  iterable of ids/encounters; the audit calls it with ``[encounter.pk]`` and
  ``until=timezone.now()``.
- ``findings_for_day(start=, end=)``: the nightly run's findings for [start, end).
- ``KINDS``/``Finding.explanation``/``Finding.action``: the Chinese explanation and what to
  do (补计费 / 退费 / 补医嘱 / 核对价格), for pages of both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import IntegerField, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from consumables.prices import PRICE_PLACES
from inventory.models import StockMove
from organisation.models import Location

from .models import ChargeLine, ChargeRefund, Encounter, Use

CENT = Decimal("0.01")

UNBILLED_USE = "UNBILLED_USE"
CHARGE_WITHOUT_USE = "CHARGE_WITHOUT_USE"
DUPLICATE_CHARGE = "DUPLICATE_CHARGE"
PRICE_MISMATCH = "PRICE_MISMATCH"
CHARGE_WITHOUT_ORDER = "CHARGE_WITHOUT_ORDER"
SPLIT_CHARGE = "SPLIT_CHARGE"
SELF_PAY_WITHOUT_CONSENT = "SELF_PAY_WITHOUT_CONSENT"
SUBSTITUTION = "SUBSTITUTION"
CHARGE_OVER_ORDER = "CHARGE_OVER_ORDER"
# The generic classification of a national insurance code: "C" + 6 digits of category + 3 of
# generic name (DESIGN.md), the first 10 characters.
GENERIC_PREFIX = 10


@dataclass(frozen=True)
class KindInfo:
    label: str
    action: str
    action_en: str
    advice: str


KINDS: dict[str, KindInfo] = {
    UNBILLED_USE: KindInfo(
        "漏费（使用未计费）",
        "补计费",
        "add the charge",
        "请在 HIS 补录计费，或核对是否漏扫、退回未登记。",
    ),
    CHARGE_WITHOUT_USE: KindInfo(
        "无使用收费",
        "退费",
        "refund",
        "确未使用的请退费；确已使用的请补扫使用记录。",
    ),
    DUPLICATE_CHARGE: KindInfo(
        "重复收费",
        "退费",
        "refund",
        "请退掉多收的数量。",
    ),
    PRICE_MISMATCH: KindInfo(
        "收费价格不符",
        "核对价格",
        "check the price",
        "请核对物价办核定的收费价，退费后按核定价格重新计费。",
    ),
    CHARGE_WITHOUT_ORDER: KindInfo(
        "无医嘱收费",
        "补医嘱",
        "add the doctor order",
        "请医生补开医嘱；如不应收费请退费。",
    ),
    SPLIT_CHARGE: KindInfo(
        "分解收费",
        "退费",
        "refund",
        "该耗材不单独收费（费用已含在手术或治疗项目中），请退费。",
    ),
    SELF_PAY_WITHOUT_CONSENT: KindInfo(
        "自费项目未签知情同意",
        "补签知情同意",
        "record the consent",
        "请患者或家属补签自费知情同意书并在床旁登记；患者不同意自费的请退费。",
    ),
    SUBSTITUTION: KindInfo(
        "串换收费",
        "退费并按实际使用计费",
        "refund, and charge what was used",
        "请退掉多收的耗材，并按实际使用的同类耗材计费。",
    ),
    CHARGE_OVER_ORDER: KindInfo(
        "超医嘱数量收费",
        "退费或补医嘱",
        "refund, or add the order",
        "请核对医嘱：多收的请退费；确已使用的请医生补开医嘱数量。",
    ),
}

# The HIS boundary (事中): the kinds a charge keyed in at HIS is checked against as it
# arrives, and where each is found: "line", a line finding of the new line itself
# (``charge_line_findings``); "encounter", a finding of the line's encounter and item
# (``findings`` of the encounter). A kind found per encounter (CHARGE_OVER_ORDER, per order
# code) is one more entry here.
LINE_SCOPE = "line"
ENCOUNTER_SCOPE = "encounter"
BOUNDARY_CHECKS: dict[str, str] = {
    PRICE_MISMATCH: LINE_SCOPE,
    CHARGE_WITHOUT_ORDER: LINE_SCOPE,
    SELF_PAY_WITHOUT_CONSENT: LINE_SCOPE,
    SPLIT_CHARGE: LINE_SCOPE,
    CHARGE_OVER_ORDER: ENCOUNTER_SCOPE,
}


def _price(text: str) -> str:
    """110.0000 -> 110.00, 3.1416 -> 3.1416: two decimal places at least, four at most."""
    value = Decimal(text)
    places = max(2, min(4, -value.normalize().as_tuple().exponent))
    return f"{value:.{places}f}"


def _yuan(text: str | None) -> str:
    return "—" if text is None else _price(text)


@dataclass(frozen=True)
class Finding:
    """One anomaly, in the shape of a reconciliation exception row (docs/contract.md)."""

    kind: str
    encounter: str
    department: str
    material_code: str
    quantity: int
    ref: str
    detail: dict = field(default_factory=dict, hash=False)

    @property
    def info(self) -> KindInfo:
        return KINDS[self.kind]

    @property
    def label(self) -> str:
        return self.info.label

    @property
    def action(self) -> str:
        return self.info.action

    @property
    def explanation(self) -> str:
        """What is wrong, in Chinese, with the figures, then what to do."""
        d = self.detail
        item = f"{d.get('name', '')}（{self.material_code}）"
        unit = d.get("unit", "")
        if self.kind == UNBILLED_USE:
            text = (
                f"{item} 净使用 {d['net_used']}{unit}，净计费 {d['net_charged']}{unit}，"
                f"少计费 {self.quantity}{unit}。"
            )
        elif self.kind == DUPLICATE_CHARGE:
            text = (
                f"{item} 净计费 {d['net_charged']}{unit}，净使用 {d['net_used']}{unit}，"
                f"多计费 {self.quantity}{unit}。"
            )
        elif self.kind == CHARGE_WITHOUT_USE:
            text = f"{item} 已计费 {d['net_charged']}{unit}，本次住院没有使用记录（扫码计费耗材）。"
        elif self.kind == PRICE_MISMATCH:
            if d.get("charge_price") is None:
                text = f"{item} 计费单价 {_price(d['unit_price'])}，计费时没有已批准的收费价。"
            else:
                text = (
                    f"{item} 计费单价 {_price(d['unit_price'])}，计费时执行的收费价为 "
                    f"{_price(d['charge_price'])}（差额 {d['amount_difference']} 元）。"
                )
        elif self.kind == SPLIT_CHARGE:
            text = f"{item} 不单独收费（含在项目收费中），却计费 {self.quantity}{unit}。"
        elif self.kind == SELF_PAY_WITHOUT_CONSENT:
            klass = "自费" if d.get("insurance_class") == "self_pay" else "限定支付"
            text = (
                f"{item} 为{klass}项目，{d.get('insurance_type', '')}患者计费 "
                f"{self.quantity}{unit}，没有自费知情同意记录。"
            )
            if d.get("insurance_change"):
                text += f"（医保类型已变更：{d['insurance_change']}。）"
        elif self.kind == SUBSTITUTION:
            others = "、".join(
                f"{s['name']}（{s['material_code']}，单价 {_yuan(s['charge_price'])}）"
                f"净使用 {s['net_used']}{unit}、净计费 {s['net_charged']}{unit}"
                for s in d["substitutes"]
            )
            text = (
                f"{item}（单价 {_yuan(d['charge_price'])}）净计费 {d['net_charged']}{unit}，"
                f"净使用 {d['net_used']}{unit}，多计费 {self.quantity}{unit}；同类耗材"
                f"（医保分类 {d['generic']}）{others}，疑似串换 {d['substituted']}{unit}。"
            )
        elif self.kind == CHARGE_OVER_ORDER:
            doctors = "、".join(d.get("doctors") or []) or "—"
            text = (
                f"{item} 医嘱编码 {d['order_code']} 医嘱数量 {d['ordered']}{unit}"
                f"（医生 {doctors}），净计费 {d['net_charged']}{unit}，"
                f"超医嘱 {self.quantity}{unit}。"
            )
        else:
            code = d.get("order_code") or "（无医嘱编码）"
            text = f"{item} 计费 {self.quantity}{unit}，医嘱编码 {code} 在本次住院没有医嘱。"
        return text + self.info.advice

    def as_row(self) -> dict:
        """What a caller outside (HIS, the discharge gate) is told: the row and its words."""
        return {
            "kind": self.kind,
            "material_code": self.material_code,
            "quantity": self.quantity,
            "ref": self.ref,
            "action": self.action,
            "explanation": self.explanation,
        }

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "encounter": self.encounter,
            "department": self.department,
            "material_code": self.material_code,
            "quantity": self.quantity,
            "ref": self.ref,
            "detail": self.detail,
        }


# -- reading raw rows on both databases -------------------------------------------------------


def sql_params(**values) -> dict:
    """Parameters for the raw SQL here: instants as the database stores them."""
    adapt = connection.ops.adapt_datetimefield_value
    return {k: adapt(v) if isinstance(v, dt.datetime) else v for k, v in values.items()}


def fetch(sql: str, params: dict) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def as_instant(value) -> dt.datetime:
    """PostgreSQL returns aware datetimes; SQLite the stored UTC text."""
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if timezone.is_aware(value) else timezone.make_aware(value, dt.UTC)


def as_price(value) -> Decimal | None:
    """SQLite hands decimals back as floats: back to four places."""
    return None if value is None else Decimal(str(value)).quantize(PRICE_PLACES)


def encounter_ids(encounters) -> list[int]:
    if isinstance(encounters, QuerySet):
        return list(encounters.values_list("pk", flat=True))
    return [getattr(e, "pk", e) for e in encounters]


def id_list(name: str, ids: list[int]) -> tuple[str, dict]:
    """``IN (...)`` of named parameters (``(NULL)`` when empty)."""
    if not ids:
        return "(NULL)", {}
    names = {f"{name}{i}": value for i, value in enumerate(ids)}
    return "(" + ", ".join(f"%({n})s" for n in names) + ")", names


# -- the price in force ---------------------------------------------------------------------

# The approved hospital prices as spans [valid_from, valid_to) per consumable, for versions
# effective before %(until)s: the rule of ``consumables.prices`` (latest effective_from, then
# latest decision, then latest id; NULLS FIRST is what PostgreSQL does with the ORM's
# ``-decided_at``), made joinable by range so that many rows find their price in one hash
# join instead of one lookup each. ``{consumables}`` may narrow the versions read.
PRICE_SPANS = """
price_steps AS (
    SELECT pv.id, pv.consumable_id, pv.purchase_price, pv.charge_price, pv.effective_from,
           ROW_NUMBER() OVER (
               PARTITION BY pv.consumable_id, pv.effective_from
               ORDER BY pv.decided_at DESC NULLS FIRST, pv.id DESC
           ) AS rank
    FROM consumables_priceversion pv
    WHERE pv.status = 'approved' AND pv.effective_from < %(until)s {consumables}
),
price_spans AS (
    SELECT id AS version_id, consumable_id, purchase_price, charge_price,
           effective_from AS valid_from,
           LEAD(effective_from) OVER (
               PARTITION BY consumable_id ORDER BY effective_from
           ) AS valid_to
    FROM price_steps WHERE rank = 1
)"""


def in_span(span: str, at: str) -> str:
    """SQL: the instant ``at`` lies in the price span ``span``."""
    return f"{span}.valid_from <= {at} AND ({span}.valid_to IS NULL OR {at} < {span}.valid_to)"


# -- matching per encounter and item ----------------------------------------------------------

_PAIR = "{a}.encounter_id = {b}.encounter_id AND {a}.consumable_id = {b}.consumable_id"

# The approved charge price in force at the cut-off of one item (the rule of PRICE_SPANS), for
# the few SUBSTITUTION rows only.
_CHARGE_PRICE = """
SELECT pv.charge_price FROM consumables_priceversion pv
WHERE pv.consumable_id = {item} AND pv.status = 'approved' AND pv.effective_from < %(until)s
ORDER BY pv.effective_from DESC, pv.decided_at DESC NULLS FIRST, pv.id DESC LIMIT 1
"""


def _doctors() -> str:
    """SQL: the distinct doctors of the orders ``o`` as one text (the one aggregate the two
    databases spell differently; SQLite 3.40 has no STRING_AGG)."""
    if connection.vendor == "postgresql":
        return "STRING_AGG(DISTINCT o.doctor, ',' ORDER BY o.doctor)"
    return "GROUP_CONCAT(DISTINCT o.doctor)"


# One row per event of the encounters concerned before the cut-off, each in its own column,
# then one GROUP BY per encounter and item: no join between the four kinds of event. The
# uses and charges are read by range scans of (encounter, consumable, time) indexes; only
# the few uses and lines that ever had a return or a refund (partial indexes) are looked up
# for timed returns and refunds.
MATCHING_SQL = """
WITH enc AS MATERIALIZED ({encounters}),
returned_uses AS MATERIALIZED (
    SELECT u.encounter_id, u.consumable_id,
           (SELECT SUM(r.quantity) FROM inventory_stockmove r
            WHERE r.reverses_id = u.move_id AND r.kind = 'return'
              AND r.occurred_at < %(until)s) AS quantity,
           (SELECT MAX(r.occurred_at) FROM inventory_stockmove r
            WHERE r.reverses_id = u.move_id AND r.kind = 'return'
              AND r.occurred_at < %(until)s) AS at
    FROM billing_use u
    WHERE u.encounter_id IN (SELECT encounter_id FROM enc) AND u.returned_quantity > 0
),
refunded_lines AS MATERIALIZED (
    SELECT c.encounter_id, c.consumable_id,
           (SELECT SUM(f.quantity) FROM billing_chargerefund f
            WHERE f.charge_id = c.id AND f.refunded_at < %(until)s) AS quantity,
           (SELECT MAX(f.refunded_at) FROM billing_chargerefund f
            WHERE f.charge_id = c.id AND f.refunded_at < %(until)s) AS at
    FROM billing_chargeline c
    WHERE c.encounter_id IN (SELECT encounter_id FROM enc) AND c.refunded_quantity > 0
),
events AS (
    SELECT u.encounter_id, u.consumable_id, u.quantity AS used, 0 AS returned,
           0 AS charged, 0 AS refunded, u.occurred_at AS at
    FROM billing_use u
    WHERE u.encounter_id IN (SELECT encounter_id FROM enc) AND u.occurred_at < %(until)s
    UNION ALL
    SELECT encounter_id, consumable_id, 0, quantity, 0, 0, at
    FROM returned_uses WHERE quantity IS NOT NULL
    UNION ALL
    SELECT c.encounter_id, c.consumable_id, 0, 0, c.quantity, 0, c.charged_at
    FROM billing_chargeline c
    WHERE c.encounter_id IN (SELECT encounter_id FROM enc) AND c.charged_at < %(until)s
    UNION ALL
    SELECT encounter_id, consumable_id, 0, 0, 0, quantity, at
    FROM refunded_lines WHERE quantity IS NOT NULL
),
figures AS MATERIALIZED (
    SELECT encounter_id, consumable_id, SUM(used) AS used, SUM(returned) AS returned,
           SUM(charged) AS charged, SUM(refunded) AS refunded,
           CASE WHEN {active} THEN 1 ELSE 0 END AS active
    FROM events
    GROUP BY encounter_id, consumable_id
),
items AS MATERIALIZED (
    SELECT x.*, x.used - x.returned AS net_used, x.charged - x.refunded AS net_charged,
           k.chargeable, k.order_code,
           CASE WHEN k.tracking = 'unit' OR k.billed_by = 'scan' THEN 1 ELSE 0 END AS scan,
           CASE WHEN LENGTH(k.insurance_code) >= 10
                THEN SUBSTR(k.insurance_code, 1, 10) END AS generic
    FROM figures x JOIN consumables_consumable k ON k.id = x.consumable_id
),
swaps AS MATERIALIZED (
    SELECT a.encounter_id, a.consumable_id, b.consumable_id AS other_id,
           b.net_used AS other_used, b.net_charged AS other_charged, b.active AS other_active
    FROM items a JOIN items b ON b.encounter_id = a.encounter_id AND b.generic = a.generic
         AND b.consumable_id <> a.consumable_id
    WHERE a.net_charged > a.net_used AND b.net_used > b.net_charged AND b.chargeable
),
swapped AS (
    SELECT encounter_id, consumable_id, MAX(other_active) AS other_active
    FROM swaps GROUP BY encounter_id, consumable_id
),
ordered AS MATERIALIZED (
    SELECT o.encounter_id, o.order_code, SUM(o.quantity) AS quantity
    FROM billing_doctororder o
    WHERE o.encounter_id IN (SELECT encounter_id FROM enc) AND o.ordered_at < %(until)s
    GROUP BY o.encounter_id, o.order_code
),
over_order AS (
    SELECT i.encounter_id, i.order_code, MAX(i.consumable_id) AS consumable_id,
           SUM(i.used) AS used, SUM(i.returned) AS returned, SUM(i.charged) AS charged,
           SUM(i.refunded) AS refunded, SUM(i.net_charged) AS net_charged,
           MAX(i.active) AS active
    FROM items i WHERE i.order_code IS NOT NULL AND i.order_code <> ''
    GROUP BY i.encounter_id, i.order_code
),
judged AS MATERIALIZED (
    SELECT * FROM (
        SELECT i.encounter_id, i.consumable_id, i.used, i.returned, i.charged, i.refunded,
               NULL AS ordered, NULL AS order_code,
               CASE WHEN i.active = 1 OR s.other_active = 1 THEN 1 ELSE 0 END AS active,
               CASE
                   WHEN i.chargeable AND i.net_used > i.net_charged THEN 'UNBILLED_USE'
                   WHEN s.consumable_id IS NOT NULL THEN 'SUBSTITUTION'
                   WHEN i.net_used > 0 AND i.net_charged > i.net_used
                       THEN 'DUPLICATE_CHARGE'
                   WHEN i.scan = 1 AND i.net_used = 0 AND i.net_charged > 0
                       THEN 'CHARGE_WITHOUT_USE'
               END AS kind
        FROM items i LEFT JOIN swapped s ON s.encounter_id = i.encounter_id
             AND s.consumable_id = i.consumable_id
        UNION ALL
        SELECT v.encounter_id, v.consumable_id, v.used, v.returned, v.charged, v.refunded,
               o.quantity, v.order_code, v.active, 'CHARGE_OVER_ORDER'
        FROM over_order v JOIN ordered o ON o.encounter_id = v.encounter_id
             AND o.order_code = v.order_code
        WHERE v.net_charged > o.quantity
    ) t
    WHERE kind IS NOT NULL AND active = 1
)
SELECT j.kind, k.material_code, k.name, k.unit, j.used, j.returned, j.charged, j.refunded,
       j.ordered, j.order_code, k.insurance_code,
       {price_a} AS charge_price,
       sw.other_id, sw.other_used, sw.other_charged, ko.material_code AS other_code,
       ko.name AS other_name, ko.insurance_code AS other_insurance_code,
       {price_b} AS other_price,
       CASE WHEN j.kind = 'CHARGE_OVER_ORDER' THEN (
           SELECT {doctors} FROM billing_doctororder o
           WHERE o.encounter_id = j.encounter_id AND o.order_code = j.order_code
             AND o.ordered_at < %(until)s) END AS doctors,
       (SELECT e.visit_no FROM billing_encounter e WHERE e.id = j.encounter_id) AS visit_no,
       (SELECT w.code FROM billing_encounter e
        JOIN organisation_department w ON w.id = e.department_id
        WHERE e.id = j.encounter_id) AS ward,
       (SELECT u.id FROM billing_use u WHERE {uj} AND u.occurred_at < %(until)s
        ORDER BY u.occurred_at DESC, u.id DESC LIMIT 1) AS last_use,
       (SELECT d.code FROM billing_use u JOIN organisation_department d ON d.id = u.department_id
        WHERE {uj} AND u.occurred_at < %(until)s
        ORDER BY u.occurred_at DESC, u.id DESC LIMIT 1) AS use_department,
       (SELECT c.id FROM billing_chargeline c WHERE {cj} AND c.charged_at < %(until)s
        ORDER BY c.charged_at DESC, c.id DESC LIMIT 1) AS last_charge,
       (SELECT d.code FROM billing_chargeline c
        JOIN organisation_department d ON d.id = c.department_id
        WHERE {cj} AND c.charged_at < %(until)s
        ORDER BY c.charged_at DESC, c.id DESC LIMIT 1) AS charge_department
FROM judged j
JOIN consumables_consumable k ON k.id = j.consumable_id
LEFT JOIN swaps sw ON j.kind = 'SUBSTITUTION' AND sw.encounter_id = j.encounter_id
     AND sw.consumable_id = j.consumable_id
LEFT JOIN consumables_consumable ko ON ko.id = sw.other_id
ORDER BY j.encounter_id, j.kind, j.consumable_id, sw.other_id
""".format(
    encounters="{encounters}",
    active="{active}",
    uj=_PAIR.format(a="u", b="j"),
    cj=_PAIR.format(a="c", b="j"),
    price_a="CASE WHEN j.kind = 'SUBSTITUTION' THEN {} END".format(
        "(" + _CHARGE_PRICE.format(item="j.consumable_id").strip() + ")"
    ),
    price_b="CASE WHEN j.kind = 'SUBSTITUTION' THEN {} END".format(
        "(" + _CHARGE_PRICE.format(item="sw.other_id").strip() + ")"
    ),
    doctors="{doctors}",
)

# A pair counts on a day when one of its events falls in [since, until): its latest one.
ACTIVE_SINCE = "MAX(at) >= %(since)s"

# The encounters with a use, charge, refund or return from the patient in [since, until).
DAY_ENCOUNTERS = """
    SELECT encounter_id FROM billing_use
    WHERE occurred_at >= %(since)s AND occurred_at < %(until)s
    UNION
    SELECT encounter_id FROM billing_chargeline
    WHERE charged_at >= %(since)s AND charged_at < %(until)s
    UNION
    SELECT c.encounter_id FROM billing_chargerefund f
    JOIN billing_chargeline c ON c.id = f.charge_id
    WHERE f.refunded_at >= %(since)s AND f.refunded_at < %(until)s
    UNION
    SELECT u.encounter_id FROM inventory_stockmove r
    JOIN billing_use u ON u.move_id = r.reverses_id
    WHERE r.kind = 'return' AND r.occurred_at >= %(since)s AND r.occurred_at < %(until)s
"""


def _matching(rows: list[dict]) -> list[Finding]:
    """Findings from the matching rows: one per row, except SUBSTITUTION, whose rows (one
    per item used in the charged item's place) make one finding of the charged item."""
    found: dict[tuple, Finding] = {}
    for row in rows:
        # SUM over bigint comes back as numeric on PostgreSQL: the figures are integers.
        figures = {k: int(row[k]) for k in ("used", "returned", "charged", "refunded")}
        net_used = figures["used"] - figures["returned"]
        net_charged = figures["charged"] - figures["refunded"]
        kind = row["kind"]
        key = (kind, row["visit_no"], row["material_code"])
        if kind == SUBSTITUTION and key in found:
            found[key].detail["substitutes"].append(_substitute(row))
            _substituted(found[key])
            continue
        detail = {
            "name": row["name"],
            "unit": row["unit"],
            **figures,
            "net_used": net_used,
            "net_charged": net_charged,
        }
        quantity = abs(net_used - net_charged)
        if kind == CHARGE_OVER_ORDER:
            quantity = net_charged - int(row["ordered"])
            doctors = sorted({d for d in (row["doctors"] or "").split(",") if d})
            detail.update(
                order_code=row["order_code"], ordered=int(row["ordered"]), doctors=doctors
            )
        elif kind == SUBSTITUTION:
            price = as_price(row["charge_price"])
            detail.update(
                insurance_code=row["insurance_code"],
                generic=(row["insurance_code"] or "")[:GENERIC_PREFIX],
                charge_price=None if price is None else str(price),
                substitutes=[_substitute(row)],
            )
        found[key] = Finding(
            kind=kind,
            encounter=row["visit_no"],
            department=row["use_department"] or row["charge_department"] or row["ward"],
            material_code=row["material_code"],
            quantity=quantity,
            ref=(
                f"use:{row['last_use']}" if kind == UNBILLED_USE else f"charge:{row['last_charge']}"
            ),
            detail=detail,
        )
        if kind == SUBSTITUTION:
            _substituted(found[key])
    return list(found.values())


def _substitute(row: dict) -> dict:
    """The item used in the charged one's place (B of a SUBSTITUTION), with its figures."""
    price = as_price(row["other_price"])
    used, charged = int(row["other_used"]), int(row["other_charged"])
    return {
        "material_code": row["other_code"],
        "name": row["other_name"],
        "insurance_code": row["other_insurance_code"],
        "charge_price": None if price is None else str(price),
        "net_used": used,
        "net_charged": charged,
        "shortfall": used - charged,
    }


def _substituted(finding: Finding) -> None:
    """``substituted``: how much of the excess the items used in its place account for."""
    shortfall = sum(s["shortfall"] for s in finding.detail["substitutes"])
    finding.detail["substituted"] = min(finding.quantity, shortfall)


def _matching_sql(encounters: str, active: str) -> str:
    return MATCHING_SQL.format(encounters=encounters, active=active, doctors=_doctors())


def matching_findings(encounters, *, until: dt.datetime) -> list[Finding]:
    """The pair kinds (UNBILLED_USE, SUBSTITUTION, DUPLICATE_CHARGE, CHARGE_WITHOUT_USE) and
    CHARGE_OVER_ORDER of ``encounters`` (one query)."""
    ids, params = id_list("e", encounter_ids(encounters))
    sql = _matching_sql(
        f"SELECT id AS encounter_id FROM billing_encounter WHERE id IN {ids}", "COUNT(*) > 0"
    )
    return _matching(fetch(sql, sql_params(until=until, **params)))


# -- charge lines ----------------------------------------------------------------------------

LINES_SQL = """
WITH lines AS MATERIALIZED (
    SELECT c.id, c.encounter_id, c.consumable_id, c.department_id, c.charge_code,
           c.order_code, c.order_id, c.source, c.quantity, c.unit_price, c.charged_at,
           CASE WHEN c.refunded_quantity > 0 THEN COALESCE(
               (SELECT SUM(f.quantity) FROM billing_chargerefund f
                WHERE f.charge_id = c.id AND f.refunded_at < %(until)s), 0)
           ELSE 0 END AS refunded
    FROM billing_chargeline c
    WHERE {scope} AND c.charged_at < %(until)s
),
{spans},
checked AS (
    SELECT l.*, s.charge_price, s.version_id,
           CASE WHEN k.chargeable AND (s.charge_price IS NULL OR s.charge_price <> l.unit_price)
                THEN 1 ELSE 0 END AS price_mismatch,
           CASE WHEN l.order_id IS NULL AND NOT EXISTS (
                    SELECT 1 FROM billing_doctororder o
                    WHERE o.encounter_id = l.encounter_id AND o.order_code = l.order_code
                      AND o.ordered_at < %(until)s)
                THEN 1 ELSE 0 END AS without_order,
           CASE WHEN k.chargeable THEN 0 ELSE 1 END AS split_charge,
           CASE WHEN k.insurance_class IN ('self_pay', 'restricted') AND EXISTS (
                    SELECT 1 FROM billing_encounter ie
                    JOIN billing_insurancetype it ON it.name = ie.insurance_type
                    WHERE ie.id = l.encounter_id AND it.insured)
                AND NOT EXISTS (
                    SELECT 1 FROM billing_consent n
                    WHERE n.encounter_id = l.encounter_id AND n.consumable_id = l.consumable_id
                      AND n.signed_at < %(until)s)
                THEN 1 ELSE 0 END AS without_consent
    FROM lines l JOIN consumables_consumable k ON k.id = l.consumable_id
         LEFT JOIN price_spans s ON s.consumable_id = l.consumable_id
         AND {in_span}
    WHERE l.quantity > l.refunded
)
SELECT ch.id, ch.charge_code, ch.order_code, ch.source, ch.quantity, ch.refunded,
       ch.unit_price, ch.charged_at, ch.charge_price, ch.version_id, ch.price_mismatch,
       ch.without_order, ch.split_charge, ch.without_consent, e.visit_no, e.insurance_type,
       COALESCE(d.code, w.code) AS department,
       k.material_code, k.name, k.unit, k.insurance_class
FROM checked ch
JOIN billing_encounter e ON e.id = ch.encounter_id
JOIN organisation_department w ON w.id = e.department_id
LEFT JOIN organisation_department d ON d.id = ch.department_id
JOIN consumables_consumable k ON k.id = ch.consumable_id
WHERE ch.price_mismatch = 1 OR ch.without_order = 1 OR ch.split_charge = 1
   OR ch.without_consent = 1
""".format(
    scope="{scope}",
    spans=PRICE_SPANS.format(
        consumables="AND pv.consumable_id IN (SELECT consumable_id FROM lines)"
    ).strip(),
    in_span=in_span("s", "l.charged_at"),
)


def _line_findings(rows: list[dict], until: dt.datetime | None = None) -> list[Finding]:
    found = []
    changes: dict[str, str] | None = None
    for row in rows:
        refunded = int(row["refunded"])
        net = row["quantity"] - refunded
        unit_price = as_price(row["unit_price"])
        common = {
            "kind": None,
            "encounter": row["visit_no"],
            "department": row["department"] or "",
            "material_code": row["material_code"],
            "quantity": net,
            "ref": f"charge:{row['id']}",
        }
        detail = {
            "name": row["name"],
            "unit": row["unit"],
            "charge_code": row["charge_code"],
            "source": row["source"],
            "charged": row["quantity"],
            "refunded": refunded,
            "unit_price": str(unit_price),
            "charged_at": as_instant(row["charged_at"]).isoformat(),
        }
        if row["price_mismatch"]:
            price = as_price(row["charge_price"])
            difference = None if price is None else ((unit_price - price) * net).quantize(CENT)
            common["kind"] = PRICE_MISMATCH
            found.append(
                Finding(
                    **common,
                    detail={
                        **detail,
                        "charge_price": None if price is None else str(price),
                        "price_version": row["version_id"],
                        "amount_difference": None if difference is None else str(difference),
                    },
                )
            )
        if row["without_order"]:
            common["kind"] = CHARGE_WITHOUT_ORDER
            found.append(Finding(**common, detail={**detail, "order_code": row["order_code"]}))
        if row["split_charge"]:
            common["kind"] = SPLIT_CHARGE
            found.append(Finding(**common, detail=detail))
        if row["without_consent"]:
            common["kind"] = SELF_PAY_WITHOUT_CONSENT
            if changes is None:
                changes = _insurance_changes(rows, until)
            found.append(
                Finding(
                    **common,
                    detail={
                        **detail,
                        "insurance_type": row["insurance_type"],
                        "insurance_class": row["insurance_class"],
                        "insurance_change": changes.get(row["visit_no"], ""),
                    },
                )
            )
    return found


INSURANCE_CHANGE_LABEL = "医保类型 "


def _insurance_changes(rows: list[dict], until: dt.datetime | None) -> dict[str, str]:
    """``{visit_no: "自费 → 职工医保"}``: the latest change of insurance type before ``until``
    of the encounters of ``rows`` that have a SELF_PAY_WITHOUT_CONSENT line, from the
    encounter's history (``services.encounters`` writes the reason). One query."""
    visits = {row["visit_no"] for row in rows if row["without_consent"]}
    history = Encounter.history.filter(
        visit_no__in=visits, history_change_reason__contains=INSURANCE_CHANGE_LABEL
    )
    if until is not None:
        history = history.filter(history_date__lt=until)
    changes: dict[str, str] = {}
    for visit_no, reason in history.order_by("history_date", "history_id").values_list(
        "visit_no", "history_change_reason"
    ):
        for part in reason.removeprefix("HIS: ").split("; "):
            if part.startswith(INSURANCE_CHANGE_LABEL):
                changes[visit_no] = part.removeprefix(INSURANCE_CHANGE_LABEL)
    return changes


def line_findings(encounters, *, until: dt.datetime) -> list[Finding]:
    """The line findings (PRICE_MISMATCH, CHARGE_WITHOUT_ORDER, SPLIT_CHARGE,
    SELF_PAY_WITHOUT_CONSENT) of the standing lines of ``encounters``."""
    ids, params = id_list("e", encounter_ids(encounters))
    sql = LINES_SQL.format(scope=f"c.encounter_id IN {ids}")
    return _line_findings(fetch(sql, sql_params(until=until, **params)), until)


def charge_line_findings(charge_id: int, *, until: dt.datetime) -> list[Finding]:
    """The line findings of the one line ``charge_id`` (the HIS boundary's check of a new
    line: the same statement as the audit's, scoped to the line)."""
    sql = LINES_SQL.format(scope="c.id = %(line)s")
    return _line_findings(fetch(sql, sql_params(until=until, line=charge_id)), until)


# -- entry points ------------------------------------------------------------------------------


def _sort_key(finding: Finding):
    return (finding.encounter, finding.kind, finding.material_code, finding.ref)


def findings(encounters: QuerySet[Encounter] | Iterable, *, until: dt.datetime) -> list[Finding]:
    """Every finding of ``encounters`` (a queryset, or ids) counting events before ``until``.

    Two queries whatever the number of encounters (three for a queryset, read for its
    ids; one more when a SELF_PAY_WITHOUT_CONSENT line names an insurance change). Sorted
    by encounter, kind, item, ref.
    """
    ids = encounter_ids(encounters)
    found = matching_findings(ids, until=until) + line_findings(ids, until=until)
    return sorted(found, key=_sort_key)


def findings_for_day(*, start: dt.datetime, end: dt.datetime) -> list[Finding]:
    """The nightly run's findings for [start, end): every encounter/item pair that had a
    use, charge, return or refund in the day, matched on all its events before ``end``, and
    the line findings of the lines charged in the day and standing at ``end``. Two queries
    (three when a SELF_PAY_WITHOUT_CONSENT line is found: ``_insurance_changes``).
    """
    params = sql_params(since=start, until=end)
    matching = _matching_sql(DAY_ENCOUNTERS, ACTIVE_SINCE)
    lines = LINES_SQL.format(scope="c.charged_at >= %(since)s")
    found = _matching(fetch(matching, params)) + _line_findings(fetch(lines, params), end)
    return sorted(found, key=_sort_key)


# -- figures as correlated subqueries (the audit page's item table) ---------------------------


def subquery_sum(queryset: QuerySet, group: str, field: str = "quantity", output_field=None):
    """SUM(``field``) of a correlated ``queryset`` as a scalar subquery, 0 when it is empty.

    ``group`` is a column the correlation fixes, so the GROUP BY yields one row at most.
    """
    output_field = output_field or IntegerField()
    summed = queryset.order_by().values(group).annotate(total=Sum(field)).values("total")[:1]
    return Coalesce(
        Subquery(summed, output_field=output_field), Value(0), output_field=output_field
    )


def pair_figures(*, encounter, visit_no, item, until: dt.datetime) -> dict:
    """``used``, ``returned``, ``charged``, ``refunded`` of one encounter and item up to
    ``until``, as subqueries. ``encounter``/``visit_no``/``item`` are values or ``OuterRef``s.
    """
    returns = StockMove.objects.filter(
        kind=StockMove.Kind.RETURN,
        from_location__usage=Location.Usage.PATIENT,
        encounter_no=visit_no,
        consumable_id=item,
        occurred_at__lt=until,
    )
    return {
        "used": subquery_sum(
            Use.objects.filter(encounter_id=encounter, consumable_id=item, occurred_at__lt=until),
            "consumable_id",
        ),
        "returned": subquery_sum(returns, "consumable_id"),
        "charged": subquery_sum(
            ChargeLine.objects.filter(
                encounter_id=encounter, consumable_id=item, charged_at__lt=until
            ),
            "consumable_id",
        ),
        "refunded": subquery_sum(
            ChargeRefund.objects.filter(
                charge__encounter_id=encounter, charge__consumable_id=item, refunded_at__lt=until
            ),
            "charge__consumable_id",
        ),
    }
