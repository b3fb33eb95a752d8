"""A real Celery worker against Redis runs a reconciliation queued through the API."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.db import connection
from django.utils import timezone

from billing.models import ReconciliationRun
from config import roles
from tests.billing.conftest import client_for, post_scan, stocked_item

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture
def broker_url():
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError:
        if IN_CI:
            pytest.fail(f"CI=true but Redis is not reachable at {REDIS_URL}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    # A private queue per test run, so a stray worker elsewhere never takes our task.
    return REDIS_URL, f"recon-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def worker(broker_url, celery_broker, monkeypatch):
    url, queue = broker_url
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": url,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--concurrency",
            "1",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    app = celery_broker(url)
    monkeypatch.setitem(app.conf.changes, "task_default_queue", queue)
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_worker_runs_a_reconciliation_queued_through_the_api(hospital, worker):
    _, _, (code,) = stocked_item(hospital, "690888000001")
    post_scan(hospital["nurse"], "use", code, "XNK", encounter="ZY001", quantity=2)
    finance = client_for("finance01", roles.FINANCE)
    today = timezone.localdate().isoformat()

    queued = finance.post("/api/v1/reconciliation/runs", {"date": today}, format="json")
    assert queued.status_code == 202, queued.json()
    assert queued.json()["status"] in {"queued", "running", "succeeded"}

    deadline = time.monotonic() + 90
    status = None
    while time.monotonic() < deadline:
        status = finance.get(f"/api/v1/reconciliation/runs/{today}").json()["status"]
        if status in {"succeeded", "failed"}:
            break
        if worker.poll() is not None:
            pytest.fail(f"worker exited: {worker.stdout.read()}")
        time.sleep(0.5)
    run = ReconciliationRun.objects.get(date=today)
    assert status == "succeeded", run.error
    variances = finance.get(f"/api/v1/reconciliation/runs/{today}/variances").json()
    ward = [v for v in variances if v["department"] == "XNK"]
    assert ward[0]["used"] == 2 and ward[0]["billed"] == 2
