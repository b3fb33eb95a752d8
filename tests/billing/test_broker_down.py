"""Invariant 7: the bedside path never waits for Redis or Celery."""

import pytest
import redis.connection
from kombu import Connection

from billing.models import ChargeLine
from tests.billing.conftest import post_scan, stocked_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(celery_broker, monkeypatch):
    """A broker nobody answers at, and any attempt to reach Redis or a broker fails loudly."""
    dead = "redis://127.0.0.1:1/0"
    celery_broker(dead)
    touched = []

    def refuse(self, *args, **kwargs):
        touched.append(type(self).__name__)
        raise ConnectionError("broker is down")

    with pytest.raises(Exception):  # noqa: B017  the broker really is unreachable
        Connection(dead, connect_timeout=0.2).ensure_connection(max_retries=1)
    monkeypatch.setattr(redis.connection.AbstractConnection, "connect", refuse)
    monkeypatch.setattr(Connection, "connect", refuse)
    return touched


def test_use_and_charge_commit_with_the_broker_down(hospital, broker_down):
    _, _, (code,) = stocked_item(hospital, "690555200001")
    response = post_scan(hospital["nurse"], "use", code, "XNK", encounter="ZY001")
    assert response.status_code == 201, response.json()
    assert ChargeLine.objects.count() == 1
    assert broker_down == []


def test_return_commits_with_the_broker_down(hospital, broker_down):
    _, _, (code,) = stocked_item(hospital, "690555200002")
    post_scan(hospital["nurse"], "use", code, "XNK", encounter="ZY001")
    response = post_scan(hospital["nurse"], "return", code, "XNK", encounter="ZY001")
    assert response.status_code == 201, response.json()
    assert ChargeLine.objects.get().refunded_quantity == 1
    assert broker_down == []
