"""The integration tests use the billing tests' small hospital."""

from tests.billing.conftest import hospital  # noqa: F401  (a fixture, used by name)
