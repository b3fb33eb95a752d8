"""Several new rows, of several tables, inserted in one SQL statement.

A write that records a row and the rows hanging off it (a stock move, the use it is, the
charge line of that use) would send one INSERT each and wait for each answer in turn.
``insert_chain`` sends them as one statement, a data-modifying ``WITH`` in which a later row
takes the id of an earlier one from that earlier ``INSERT ... RETURNING id``:

    WITH "r0" AS (INSERT INTO move ... RETURNING id),
         "r1" AS (INSERT INTO use (move_id, ...) VALUES ((SELECT id FROM "r0"), ...) RETURNING id)
    SELECT (SELECT id FROM "r0"), (SELECT id FROM "r1")

It is plumbing, not logic: every value is computed in Python, as ``Model.objects.create``
would have it. Like ``bulk_create`` it calls no ``save()`` and sends no signals, so it is
for models that have neither (the ledger's moves, uses, charge lines). Foreign keys hold:
Django's are checked at the commit, and PostgreSQL checks even an immediate one only once
the whole statement is done. On a database without data-modifying ``WITH`` (SQLite, the
quick start) the rows go in one INSERT each, in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model
from django.db.models.expressions import DatabaseDefault, Value


@cache
def _columns(model: type[Model]):
    opts = model._meta
    return tuple(
        f for f in opts.local_concrete_fields if f is not opts.auto_field and not f.generated
    )


def insert_chain(
    rows: Sequence[Model],
    using: str = DEFAULT_DB_ALIAS,
    *,
    guard: tuple[str, Sequence] | None = None,
) -> bool:
    """Insert ``rows`` (new, unsaved model instances) in this order, in one statement, and
    set their primary keys. A foreign key of a row may point at an earlier row of ``rows``
    (set as the related object, ``Use(move=move)``): it gets that row's new id.

    ``guard``: a data-modifying statement with its parameters, ending in ``RETURNING``
    (the ledger's balance decrease, ``UPDATE ... WHERE quantity >= %s RETURNING ...``), run
    first in the same statement; the rows are inserted only if it returns a row. Returns
    whether it did (True without a guard); when it did not, nothing is inserted and no key
    is set. Where several statements run in one ``WITH`` their order is PostgreSQL's to
    choose: a guard that takes row locks must take one row's only."""
    connection = connections[using]
    if any(not row._state.adding for row in rows):
        raise ValueError("insert_chain inserts new rows only")
    if connection.vendor != "postgresql":
        if guard is not None:
            with connection.cursor() as cursor:
                cursor.execute(*guard)
                if cursor.fetchone() is None:
                    return False
        for row in rows:  # bulk_create takes the ids of the related rows saved before
            type(row)._base_manager.using(using).bulk_create([row])
        return True
    position = {id(row): n for n, row in enumerate(rows)}
    shape, params = [], []
    for n, row in enumerate(rows):
        links = []
        for field in _columns(type(row)):
            related = field.get_cached_value(row, None) if field.is_relation else None
            earlier = position.get(id(related)) if related is not None else None
            if earlier is None:
                value = field.pre_save(row, add=True)
                if isinstance(value, DatabaseDefault):  # a constant database default: its value
                    default = field.db_default
                    value = default.value if isinstance(default, Value) else default
                if hasattr(value, "resolve_expression"):
                    raise TypeError(f"{field}: expressions are not inserted by insert_chain")
                params.append(field.get_db_prep_save(value, connection=connection))
            elif earlier >= n:
                raise ValueError(f"{row!r} points at a row inserted after it")
            links.append(earlier)
        shape.append((type(row), tuple(links)))
    if guard is not None:
        params[:0] = guard[1]
    with connection.cursor() as cursor:
        cursor.execute(_statement(tuple(shape), using, guard and guard[0]), params)
        new_ids = cursor.fetchone()
    if None in new_ids:  # the guard returned no row: nothing was inserted
        return False
    for row, pk in zip(rows, new_ids, strict=True):
        row.pk = pk
        row._state.adding = False
        row._state.db = using
    for row in rows:  # the foreign keys to earlier rows, now that those have ids
        for field in _columns(type(row)):
            if field.is_relation:
                related = field.get_cached_value(row, None)
                if related is not None and id(related) in position:
                    row.__dict__[field.attname] = related.pk
    return True


@cache
def _statement(
    shape: tuple[tuple[type[Model], tuple[int | None, ...]], ...], using: str, guard: str | None
) -> str:
    """The statement inserting rows of these models, each column a parameter or, where
    ``shape`` gives the position of an earlier row, that row's new id (kept per shape and
    guard). With a guard, each row is inserted only if the guard returned a row."""
    _qn = connections[using].ops.quote_name
    parts = [f"{_qn('g')} AS ({guard})"] if guard else []
    if_guarded = f" WHERE EXISTS (SELECT FROM {_qn('g')})" if guard else ""
    for n, (model, links) in enumerate(shape):
        values = []
        for field, earlier in zip(_columns(model), links, strict=True):
            if earlier is None:
                values.append("%s")
                continue
            if field.target_field is not field.related_model._meta.pk:
                raise ValueError(f"{field}: only a key to the primary key is chained")
            earlier_pk = shape[earlier][0]._meta.pk.column
            values.append(f"(SELECT {_qn(earlier_pk)} FROM {_qn(f'r{earlier}')})")
        columns = ", ".join(_qn(f.column) for f in _columns(model))
        parts.append(
            f"{_qn(f'r{n}')} AS (INSERT INTO {_qn(model._meta.db_table)} ({columns}) "
            f"{'SELECT' if guard else 'VALUES ('} {', '.join(values)}{'' if guard else ')'}"
            f"{if_guarded} RETURNING {_qn(model._meta.pk.column)})"
        )
    ids = ", ".join(
        f"(SELECT {_qn(model._meta.pk.column)} FROM {_qn(f'r{n}')})"
        for n, (model, _) in enumerate(shape)
    )
    return f"WITH {', '.join(parts)} SELECT {ids}"
