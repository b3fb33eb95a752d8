"""Issue 13, finding 6b: a run the queue refused (BROKER_UNAVAILABLE) does not stay
``queued`` for ever: nothing will come to run it, so it says it failed, and why."""

import pytest
from django.utils import timezone

from billing.models import ReconciliationRun
from config import roles
from tests.billing.conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

DEAD_BROKER = "redis://127.0.0.1:1/0"  # nobody listens on port 1


@pytest.fixture
def finance(hospital):
    return client_for("finance01", roles.FINANCE)


def request_run(finance, day):
    return finance.post("/api/v1/reconciliation/runs", {"date": day.isoformat()}, format="json")


def test_a_run_refused_by_the_queue_is_marked_failed_not_left_queued(finance, celery_broker):
    celery_broker(DEAD_BROKER)
    today = timezone.localdate()
    response = request_run(finance, today)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "BROKER_UNAVAILABLE"
    run = ReconciliationRun.objects.get(date=today)
    assert run.status == "failed"
    assert run.error.startswith("BROKER_UNAVAILABLE")
    detail = finance.get(f"/api/v1/reconciliation/runs/{today.isoformat()}").json()
    assert (detail["status"], detail["error"]) == ("failed", run.error)


def test_a_run_refused_by_the_queue_keeps_the_previous_result(finance, celery_broker):
    today = timezone.localdate()
    assert request_run(finance, today).status_code == 201  # no broker: runs in the request
    before = ReconciliationRun.objects.get(date=today)
    celery_broker(DEAD_BROKER)
    assert request_run(finance, today).status_code == 503
    after = ReconciliationRun.objects.get(date=today)
    assert (after.status, after.computed_at, after.totals) == (
        "failed",
        before.computed_at,
        before.totals,
    )
