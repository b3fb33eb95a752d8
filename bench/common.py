"""What every benchmark needs: a throwaway database of its own, and a SQL query counter.

Benchmarks never touch the project's database:
- DATABASE_URL=postgres://...: ``throwaway_database(name)`` creates (and afterwards drops)
  the database ``name`` on that server;
- otherwise: a temporary SQLite file.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def throwaway_database(name: str, *, reuse: bool = False) -> tuple[str, Callable[[], None]]:
    """Point DATABASE_URL at a fresh database ``name`` (with ``reuse``, at the one of that
    name if it exists, as a ``--keep`` left it); return its label and a cleanup."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import dj_database_url
        import psycopg

        config = dj_database_url.parse(url)
        admin = {
            "host": config["HOST"] or None,
            "port": config["PORT"] or None,
            "user": config["USER"] or None,
            "password": config["PASSWORD"] or None,
            "dbname": "postgres",
            "autocommit": True,
        }

        def recreate(create: bool) -> None:
            with psycopg.connect(**admin) as conn:
                if create and reuse:
                    found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
                    if found.fetchone():
                        return
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                if create:
                    conn.execute(f'CREATE DATABASE "{name}"')

        recreate(True)
        base = url.rsplit("/", 1)[0]
        os.environ["DATABASE_URL"] = f"{base}/{name}"

        def cleanup() -> None:
            from django.db import connections

            connections.close_all()
            recreate(False)

        return f"PostgreSQL ({name})", cleanup
    handle, path = tempfile.mkstemp(prefix=f"{name}_", suffix=".sqlite3")
    os.close(handle)
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    return f"SQLite ({path})", lambda: Path(path).unlink(missing_ok=True)


def django_setup(settings: str = "config.settings_test") -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings)
    import django

    django.setup()


@contextmanager
def count_queries(using: str = "default"):
    """``with count_queries() as counter:`` ... ``counter["n"]`` SQL statements run."""
    from django.db import connections

    counter = {"n": 0}

    def wrapper(execute, sql, params, many, context):
        counter["n"] += 1
        return execute(sql, params, many, context)

    with connections[using].execute_wrapper(wrapper):
        yield counter
