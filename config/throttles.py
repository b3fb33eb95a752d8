"""API rate limits (``throttle_scope`` on a view, rates in ``REST_FRAMEWORK``)."""

from django.core.cache import caches
from rest_framework.throttling import ScopedRateThrottle


class LocalScopedRateThrottle(ScopedRateThrottle):
    """``ScopedRateThrottle`` counting in the worker's own memory (the ``throttle`` cache).

    A shared Redis would let every gunicorn worker see the same count, but the bedside path
    must never wait for Redis (docs/architecture.md, invariant 7): a scan touches no network service
    but PostgreSQL. The limit is a guard against runaway scripts, generous for a ward, so
    a count per worker is enough.
    """

    cache = caches["throttle"]
