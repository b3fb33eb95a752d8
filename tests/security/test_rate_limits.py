"""Rate limit of the scan API: 429 with the JSON error body, counted in the shared cache."""

import os
import uuid

import pytest
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache
from rest_framework.settings import api_settings

from config.throttles import FailOpenScopedRateThrottle
from tests.billing.conftest import client_for, gs1, gtin, hospital, post_scan  # noqa: F401
from tests.factories import ConsumableFactory, DeviceIdentifierFactory, PriceVersionFactory

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def scan_limit() -> int:
    count, _ = FailOpenScopedRateThrottle().parse_rate(api_settings.DEFAULT_THROTTLE_RATES["scans"])
    return count


def exhaust(client) -> None:
    """As many refused-but-counted scans as the limit allows (an unknown code: 4xx)."""
    for _ in range(scan_limit()):
        response = post_scan(client, "receive", "NO-SUCH-CODE", "CK01", supplier="GYS01")
        assert response.status_code != 429, "throttled before the limit"


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


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


@pytest.fixture
def redis_cache(settings):
    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    yield prefix
    cache.clear()


def test_scan_counts_live_in_redis_where_every_worker_sees_them(hospital, redis_cache):  # noqa: F811
    keeper = hospital["keeper"]
    exhaust(keeper)
    # Another gunicorn worker has its own connection to Redis and reads the same history.
    other_worker = RedisCache(REDIS_URL, {"KEY_PREFIX": redis_cache})
    history = other_worker.get(f"throttle_scans_{keeper.user.pk}")
    assert len(history) == scan_limit()
    response = post_scan(keeper, "receive", "NO-SUCH-CODE", "CK01", supplier="GYS01")
    assert response.status_code == 429


def test_scans_still_commit_when_redis_is_down(hospital, settings):  # noqa: F811
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
    }
    consumable = ConsumableFactory()
    di = DeviceIdentifierFactory(consumable=consumable, udi_di=gtin("690123400017")).udi_di
    PriceVersionFactory(consumable=consumable)
    response = post_scan(
        hospital["keeper"], "receive", gs1(di), "CK01", supplier="GYS01", unit_cost="10"
    )
    assert response.status_code == 201, response.json()
