"""Rate limit of the scan API: 429 with the JSON error body, counted in the worker's memory."""

import pytest
import redis.connection
from django.core.cache import caches
from rest_framework.settings import api_settings

from config.throttles import LocalScopedRateThrottle
from tests.billing.conftest import client_for, gs1, gtin, hospital, post_scan  # noqa: F401
from tests.factories import ConsumableFactory, DeviceIdentifierFactory, PriceVersionFactory


def scan_limit() -> int:
    count, _ = LocalScopedRateThrottle().parse_rate(api_settings.DEFAULT_THROTTLE_RATES["scans"])
    return count


def exhaust(client) -> None:
    """As many refused-but-counted scans as the limit allows (an unknown code: 4xx)."""
    for _ in range(scan_limit()):
        response = post_scan(client, "receive", "NO-SUCH-CODE", "CK01", supplier="GYS01")
        assert response.status_code != 429, "throttled before the limit"


@pytest.fixture(autouse=True)
def fresh_counters():
    caches["throttle"].clear()
    yield
    caches["throttle"].clear()


def test_the_scan_rate_is_generous_for_a_busy_ward():
    assert scan_limit() >= 120


def test_scans_beyond_the_rate_get_429_with_the_error_body(hospital):  # noqa: F811
    keeper = hospital["keeper"]
    exhaust(keeper)
    response = post_scan(keeper, "receive", "NO-SUCH-CODE", "CK01", supplier="GYS01")
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "THROTTLED"
    assert error["message"] == "请求过于频繁"
    assert "Retry-After" in response


def test_the_rate_is_per_user(hospital):  # noqa: F811
    exhaust(hospital["keeper"])
    other = client_for("store02", "storekeeper", hospital["store"])
    response = post_scan(other, "receive", "NO-SUCH-CODE", "CK01", supplier="GYS01")
    assert response.status_code != 429


def test_a_rate_limited_scan_never_reaches_for_redis(hospital, settings, monkeypatch):  # noqa: F811
    """Redis configured as the cache but down: the scan is counted and commits without a
    single attempt to connect (invariant 7: the bedside path never waits for Redis)."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        },
    }
    attempts = []

    def refuse(self, *args, **kwargs):
        attempts.append(self)
        raise ConnectionError("redis is down")

    monkeypatch.setattr(redis.connection.AbstractConnection, "connect", refuse)
    consumable = ConsumableFactory()
    di = DeviceIdentifierFactory(consumable=consumable, udi_di=gtin("690123400017")).udi_di
    PriceVersionFactory(consumable=consumable)
    response = post_scan(
        hospital["keeper"], "receive", gs1(di), "CK01", supplier="GYS01", unit_cost="10"
    )
    assert response.status_code == 201, response.json()
    assert attempts == []
    history = caches["throttle"].get(f"throttle_scans_{hospital['keeper'].user.pk}")
    assert len(history) == 1
