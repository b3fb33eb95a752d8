"""The checks of each standing charge line: PRICE_MISMATCH, CHARGE_WITHOUT_ORDER,
SPLIT_CHARGE and SELF_PAY_WITHOUT_CONSENT (definitions in ``billing.rules``)."""

from __future__ import annotations

import datetime as dt

from billing.models import Encounter

from .kinds import (
    CENT,
    CHARGE_WITHOUT_ORDER,
    PRICE_MISMATCH,
    SELF_PAY_WITHOUT_CONSENT,
    SPLIT_CHARGE,
    Finding,
)
from .sql import (
    PRICE_SPANS,
    as_instant,
    as_price,
    encounter_ids,
    fetch,
    id_list,
    in_span,
    sql_params,
)

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
