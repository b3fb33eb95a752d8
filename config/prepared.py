"""Querysets built and compiled once per process, then run with other values.

Django builds a queryset (``filter``, ``annotate``, joins resolved field by field) and
compiles it to SQL on every call. For the few reads every bedside scan makes (the code's
consumable with its lot, recall and price in force; the encounter with its order, consent
and approval) that work was most of the scan's cost in Python: resolving a code with its lot
and price took 3.8 ms of CPU through the ORM, 0.4 ms prepared, running the statement and
making the rows included (measured in-process on a busy two-CPU machine).

``PreparedQuery(build, name=kind, ...)`` calls ``build(name=stand_in, ...)`` once per
database with a stand-in value of each kind, compiles the queryset it returns, and notes
where each stand-in landed among the statement's parameters; ``rows(name=value, ...)`` runs
that statement with the values in their places and makes model instances as the queryset
would have (``select_related`` rows and annotations included). So the queryset stays the
one definition of the read; only its compiling is shared. The compiled statement is only
read after, so one serves every thread.

On PostgreSQL, that is: elsewhere the queryset is built and run on every call.

The shape of what ``build`` returns must not depend on the values (a caller with several
shapes keeps a ``PreparedQuery`` per shape), and each stand-in must reach the SQL as given:
exact, comparison and ``__in`` lookups do; lookups that rewrite their value (``contains``,
``iexact``) do not, and are refused when the query is prepared.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators
from django.db.transaction import TransactionManagementError

_counter = itertools.count(1)


def stand_in(kind: type) -> Any:
    """A value of ``kind`` no caller ever passes, found again among a statement's params."""
    n = next(_counter)
    if kind is str:
        return f"\x00stand-in {n}\x00"
    if kind is int:  # inside even a 32-bit column's range: Django 5 drops out-of-range lookups
        return -2_000_000_000 - n
    if kind is uuid.UUID:
        return uuid.UUID(int=n)
    if kind is dt.datetime:
        return dt.datetime(1, 1, 1, 0, 0, n // 1_000_000, n % 1_000_000, tzinfo=dt.UTC)
    raise TypeError(f"no stand-in for {kind}")


class _Compiled:
    def __init__(self, queryset: QuerySet, stand_ins: dict[str, Any], using: str):
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        by_value = {value: name for name, value in stand_ins.items()}
        self.slots = [(by_value.get(p) if _hashable(p) else None, p) for p in params]
        missing = set(stand_ins) - {name for name, _ in self.slots if name}
        if missing:
            raise ValueError(f"not found in the compiled statement as given: {sorted(missing)}")
        self.sql = sql
        self.using = using
        self.compiler = compiler
        klass_info, select = compiler.klass_info, compiler.select
        self.model = klass_info["model"]
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [f[0].target.attname for f in select[self.start : self.end]]
        self.populators = get_related_populators(klass_info, select, using)
        self.annotations = dict(compiler.annotation_col_map or {})

    def rows(self, values: dict[str, Any]) -> list[Model]:
        params = [values[name] if name else constant for name, constant in self.slots]
        connection = connections[self.using]
        if self.compiler.query.select_for_update and not connection.in_atomic_block:
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            fetched = cursor.fetchall()
        found = []
        for row in self.compiler.results_iter([fetched]):
            obj = self.model.from_db(self.using, self.init_list, row[self.start : self.end])
            for populator in self.populators:
                populator.populate(row, obj)
            for name, position in self.annotations.items():
                setattr(obj, name, row[position])
            found.append(obj)
        return found


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


class PreparedQuery:
    """``build(**values)``'s queryset, compiled once per database; see the module docstring.

    ``kinds``: the type of each value (``str``, ``int`` or ``datetime.datetime``: the kinds
    ``stand_in`` has a stand-in for)."""

    def __init__(self, build: Callable[..., QuerySet], **kinds: type):
        self._build = build
        self._kinds = kinds
        self._compiled: dict[str, _Compiled] = {}

    def rows(self, *, using: str = "default", **values) -> list[Model]:
        if values.keys() != self._kinds.keys():
            raise TypeError(f"values for {sorted(self._kinds)} expected, got {sorted(values)}")
        if any(value is None for value in values.values()):
            raise ValueError("None would compare as = NULL here, not IS NULL: pass a value")
        if connections[using].vendor != "postgresql":
            # Elsewhere (SQLite, the quick start) values may reach the SQL adapted (a datetime
            # as text): the queryset is built each time, as without this class.
            return list(self._build(**values))
        compiled = self._compiled.get(using)
        if compiled is None:
            stand_ins = {name: stand_in(kind) for name, kind in self._kinds.items()}
            compiled = _Compiled(self._build(**stand_ins), stand_ins, using)
            self._compiled[using] = compiled
        return compiled.rows(values)

    def first(self, **values) -> Model | None:
        found = self.rows(**values)
        return found[0] if found else None
