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
- ``findings_for_day(start=, end=)``: the nightly run's findings for [start, end); its two
  halves ``matching_for_day`` and ``lines_for_day`` (the run reads the first beside its
  writes, ``config.beside``) and ``sort_findings`` to put them back in order.
- ``KINDS``/``Finding.explanation``/``Finding.action``: the Chinese explanation and what to
  do (补计费 / 退费 / 补医嘱 / 核对价格), for pages of both.

Layout: ``kinds`` (the kinds, their words, ``Finding``), ``sql`` (raw rows on both
databases, the price in force), ``matching`` (the per-encounter statement), ``lines`` (the
per-line statement); this module re-exports their names and holds the entry points.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import IntegerField, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from billing.models import ChargeLine, ChargeRefund, Encounter, Use
from inventory.models import StockMove
from organisation.models import Location

from .kinds import (  # noqa: F401  (re-exported: ``from billing.rules import ...``)
    BOUNDARY_CHECKS,
    CENT,
    CHARGE_OVER_ORDER,
    CHARGE_WITHOUT_ORDER,
    CHARGE_WITHOUT_USE,
    DUPLICATE_CHARGE,
    ENCOUNTER_SCOPE,
    GENERIC_PREFIX,
    KINDS,
    LINE_SCOPE,
    PRICE_MISMATCH,
    SELF_PAY_WITHOUT_CONSENT,
    SPLIT_CHARGE,
    SUBSTITUTION,
    UNBILLED_USE,
    Finding,
    KindInfo,
)
from .lines import (  # noqa: F401
    INSURANCE_CHANGE_LABEL,
    LINES_SQL,
    _line_findings,
    charge_line_findings,
    line_findings,
)
from .matching import (  # noqa: F401
    ACTIVE_SINCE,
    DAY_ENCOUNTERS,
    MATCHING_SQL,
    _matching,
    _matching_sql,
    matching_findings,
)
from .sql import (  # noqa: F401
    PRICE_SPANS,
    as_instant,
    as_price,
    encounter_ids,
    fetch,
    id_list,
    in_span,
    sql_params,
)

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
    return sort_findings(matching_findings(ids, until=until) + line_findings(ids, until=until))


def findings_for_day(*, start: dt.datetime, end: dt.datetime) -> list[Finding]:
    """The nightly run's findings for [start, end): every encounter/item pair that had a
    use, charge, return or refund in the day, matched on all its events before ``end``, and
    the line findings of the lines charged in the day and standing at ``end``. Two queries
    (three when a SELF_PAY_WITHOUT_CONSENT line is found: ``_insurance_changes``).
    """
    found = matching_for_day(start=start, end=end) + lines_for_day(start=start, end=end)
    return sort_findings(found)


def matching_for_day(*, start: dt.datetime, end: dt.datetime) -> list[Finding]:
    """The pair findings of ``findings_for_day`` (one query), unsorted."""
    params = sql_params(since=start, until=end)
    return _matching(fetch(_matching_sql(DAY_ENCOUNTERS, ACTIVE_SINCE), params))


def lines_for_day(*, start: dt.datetime, end: dt.datetime) -> list[Finding]:
    """The line findings of ``findings_for_day`` (one query, or two), unsorted."""
    params = sql_params(since=start, until=end)
    lines = LINES_SQL.format(scope="c.charged_at >= %(since)s")
    return _line_findings(fetch(lines, params), end)


def sort_findings(found: list[Finding]) -> list[Finding]:
    """``found`` in the order every entry point returns: encounter, kind, item, ref."""
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
