"""Findings by person (个人问题排名): the staff behind the exceptions of a period.

Uses, charge lines and stock moves carry the user who made them; an exception names the
person through its ``ref`` (``use:<id>`` -> the use's user, ``charge:<id>`` -> the charge
line's, ``receipt_line:<id>`` -> the receiving move's), or directly through
``ExceptionRow.user`` when the run recorded one. The ref is resolved in SQL (a correlated
subquery per ref type), so the ranking is one query. Variances and four-price findings are
not one person's act and stay unattributed. Many hospitals follow up the top three every
month (e.g. 拒付金额排名前三位 … 连续三个月监测); ``FOLLOW_UP_TOP`` marks them.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import BigIntegerField, Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from billing.models import ChargeLine, Use
from billing.selectors.common import (
    KIND_ORDER,
    Period,
    display_name,
    exceptions_in,
    finding_key,
    ref_id,
)
from inventory.models import ReceiptLine

FOLLOW_UP_TOP = 3


def with_person(rows: QuerySet) -> QuerySet:
    """Annotate exception rows with ``person``: the id of the user behind each, or NULL."""
    rows = rows.annotate(
        use_ref=ref_id("use"), charge_ref=ref_id("charge"), receipt_ref=ref_id("receipt_line")
    )
    return rows.annotate(
        person=Coalesce(
            "user_id",
            Subquery(Use.objects.filter(pk=OuterRef("use_ref")).values("user_id")[:1]),
            Subquery(ChargeLine.objects.filter(pk=OuterRef("charge_ref")).values("user_id")[:1]),
            Subquery(
                ReceiptLine.objects.filter(pk=OuterRef("receipt_ref")).values("move__user_id")[:1]
            ),
            output_field=BigIntegerField(),
        )
    )


def _kind_counts() -> dict:
    key = finding_key()
    return {f"n_{k}": Count(key, distinct=True, filter=Q(kind=k)) for k in KIND_ORDER}


def people_ranking(period: Period) -> list[dict]:
    """Staff ranked by findings over ``period`` (a pair seen on several days counts once),
    with counts per kind and the departments involved; the first ``FOLLOW_UP_TOP`` are
    flagged for follow-up. Three queries: the ranking, the departments, the users."""
    attributed = with_person(exceptions_in(period))
    rows = list(
        attributed.exclude(person=None)
        .order_by()
        .values("person")
        .annotate(findings=Count(finding_key(), distinct=True), rows=Count("pk"), **_kind_counts())
        .order_by("-findings", "-rows", "person")
    )
    departments: dict[int, list[tuple[str, int]]] = {}
    for person, code, n in (
        attributed.exclude(person=None)
        .order_by()
        .values("person", "department_code")
        .annotate(n=Count(finding_key(), distinct=True))
        .order_by("person", "-n", "department_code")
        .values_list("person", "department_code", "n")
    ):
        departments.setdefault(person, []).append((code, n))
    users = {
        u["pk"]: u
        for u in get_user_model()
        .objects.filter(pk__in=[r["person"] for r in rows])
        .values("pk", "username", "first_name", "last_name")
    }
    ranked = []
    for position, row in enumerate(rows, start=1):
        user = users.get(row["person"], {})
        ranked.append(
            {
                "rank": position,
                "follow_up": position <= FOLLOW_UP_TOP,
                "user_id": row["person"],
                "username": user.get("username", ""),
                "name": display_name(
                    user.get("first_name"), user.get("last_name"), user.get("username")
                ),
                "departments": departments.get(row["person"], []),
                "findings": row["findings"],
                "rows": row["rows"],
                "by_kind": {k: row[f"n_{k}"] for k in KIND_ORDER},
            }
        )
    return ranked


def unattributed_count(period: Period) -> int:
    """Findings of the period with no person behind them (one query)."""
    return (
        with_person(exceptions_in(period))
        .filter(person=None)
        .aggregate(n=Count(finding_key(), distinct=True))["n"]
    )


def person_exceptions(period: Period, user_id: int) -> QuerySet:
    """The exception rows of ``period`` behind one person, latest day first (one query)."""
    return (
        with_person(exceptions_in(period))
        .filter(person=user_id)
        .select_related("run")
        .order_by("-run__date", "kind", "department_code", "material_code", "ref")
    )
