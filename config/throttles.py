"""API rate limits (``throttle_scope`` on a view, rates in ``REST_FRAMEWORK``)."""

import logging

from redis.exceptions import RedisError
from rest_framework.throttling import ScopedRateThrottle

log = logging.getLogger(__name__)


class FailOpenScopedRateThrottle(ScopedRateThrottle):
    """``ScopedRateThrottle`` that lets the request through when the cache is down.

    The counters live in Redis in production so that every gunicorn worker sees the same
    count; but the bedside path must never wait for Redis (DESIGN.md invariant 7), so a
    cache failure costs the rate limit for that moment, never the scan.
    """

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError) as error:
            log.warning("rate limit skipped, cache unavailable: %s", error)
            return True
