"""Read-only work beside the current transaction, on a second connection that sees the same
snapshot (PostgreSQL).

A long transaction that both reads and writes (the nightly reconciliation: it writes the
day's variance rows while the per-encounter matching only reads) can hand a read-only
part to a second connection: the transaction exports its snapshot
(``pg_export_snapshot``), a worker thread opens its own connection, imports the snapshot
into a read-only REPEATABLE READ transaction (``SET TRANSACTION SNAPSHOT``) and runs the
function there. Both parts then take the time of the longer instead of the sum, and the
worker sees exactly the committed data the transaction saw when it exported, nothing
newer.

It cannot see what the transaction itself has written and not yet committed, so it is
for reads of data committed before. When the work cannot go beside (another database, or
the transaction is nested in a caller's, whose writes the worker would not see: a test's
transaction, say), ``read_beside`` runs the function in place, first, and hands back its
result the same way; the result is the same either way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from django.db import connection, connections, transaction

T = TypeVar("T")
SNAPSHOT_ID = re.compile(r"^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$")


def possible(*, outermost: bool) -> bool:
    """Work can go beside the current transaction: PostgreSQL, inside a transaction that
    is the outermost one (``outermost``: the caller opened it, nothing around it)."""
    return connection.vendor == "postgresql" and connection.in_atomic_block and outermost


@contextmanager
def read_beside(
    work: Callable[[], T], *, outermost: bool, settings: tuple[str, ...] = ()
) -> Iterator[Future]:
    """Yield a future of ``work()`` run on a second connection in this transaction's
    snapshot, with ``settings`` (``SET LOCAL`` statements) applied there first; leaving the
    block waits for it. Where that is not ``possible``, ``work()`` runs here and now."""
    if not possible(outermost=outermost):
        done: Future = Future()
        done.set_result(work())
        yield done
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_export_snapshot()")
        (snapshot,) = cursor.fetchone()
    if not SNAPSHOT_ID.match(snapshot):  # inlined below: SET takes no bound parameter
        raise ValueError(f"unexpected snapshot id {snapshot!r}")
    alias = connection.alias

    def beside() -> T:
        try:
            with transaction.atomic(using=alias):
                with connections[alias].cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                    for statement in settings:
                        cursor.execute(statement)
                return work()
        finally:
            connections[alias].close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="beside") as pool:
        yield pool.submit(beside)
