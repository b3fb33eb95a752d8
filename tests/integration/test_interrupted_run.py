"""A run killed half-way (SIGKILL, in a process of its own) leaves the previous result
intact, and its status does not stay "running"."""

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from billing import reconciliation
from billing.models import ReconciliationRun
from config import roles
from tests.billing.conftest import client_for, post_scan, stocked_item
from tests.billing.test_reconciliation import stored

ROOT = Path(__file__).resolve().parents[2]

# The run in the other process: the real one, held up right after it has replaced the
# day's variance rows (deleted the old ones and written the new, not committed), inside a
# statement, as a long computation would be.
PAUSED_RUN = """
import datetime as dt, sys
import django
django.setup()
from django.db import connection
from billing import reconciliation

original = reconciliation.store_variances

def store_then_hang(run, start, end):
    written = original(run, start, end)
    print("WRITTEN", written, flush=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(120)")
    return written

reconciliation.store_variances = store_then_hang
reconciliation.reconciliation_run(day=dt.date.fromisoformat(sys.argv[1]))
"""


def _start_paused_run(day) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
    }
    return subprocess.Popen(
        [sys.executable, "-c", PAUSED_RUN, day.isoformat()],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _read_until(process: subprocess.Popen, prefix: str, seconds: float) -> str:
    """The first line of ``process`` starting with ``prefix``, read within ``seconds``."""
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline()
            if not line:
                break
            if line.startswith(prefix):
                return line
            seen.append(line)
    pytest.fail(f"no {prefix!r} line from the run; it said: {''.join(seen)}")


def _wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_run_killed_while_writing_leaves_the_previous_result_and_is_not_left_running(hospital):
    today = timezone.localdate()
    _, _, (code,) = stocked_item(hospital, "690999000001")
    post_scan(hospital["nurse"], "use", code, "XNK", encounter="ZY001", quantity=2)
    first = reconciliation.reconciliation_run(day=today)
    before = stored(first)
    assert before[0] and before[1]  # variance rows and exceptions (no doctor order)
    # The day changes, so the interrupted run would have written different rows.
    post_scan(hospital["nurse"], "use", code, "XNK", encounter="ZY001", quantity=3)

    worker = _start_paused_run(today)
    try:
        _read_until(worker, "WRITTEN", 90)
        finance = client_for("finance01", roles.FINANCE)
        detail = f"/api/v1/reconciliation/runs/{today}"
        assert finance.get(detail).json()["status"] == "running"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    # The server notices the dead client (client_connection_check_interval) and rolls back.
    _wait_for(lambda: not reconciliation.run_in_progress(today), 15, "the server to roll back")

    run = ReconciliationRun.objects.get(date=today)
    assert stored(run) == before
    body = finance.get(detail).json()
    assert (body["status"], body["error"]) == ("failed", reconciliation.INTERRUPTED)
    assert (body["computed_at"], body["totals"]) == (first.computed_at.isoformat(), first.totals)

    # The next run takes over and stores the day as it now is.
    again = finance.post("/api/v1/reconciliation/runs", {"date": today.isoformat()}, format="json")
    assert again.status_code == 201, again.json()
    assert again.json()["status"] == "succeeded"
    assert again.json()["totals"]["used"] == 5
