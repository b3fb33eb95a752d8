"""Reading raw SQL rows the same way on PostgreSQL and SQLite, and the price in force as
joinable spans (``PRICE_SPANS``), for the rules and the reconciliation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from consumables.prices import PRICE_PLACES


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
