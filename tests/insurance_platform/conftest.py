"""The platform double, started as a real HTTP server on a free port for a test."""

import pytest

from insurance_platform.double import PlatformDouble

FIXMEDINS_CODE = "H51010600001"
SECRET = "test-secret"


@pytest.fixture
def platform(settings):
    """The double, and the settings pointing the sender at it (signed requests)."""
    settings.INSURANCE_FIXMEDINS_CODE = FIXMEDINS_CODE
    settings.INSURANCE_PLATFORM_SECRET = SECRET
    double = PlatformDouble(fixmedins_code=FIXMEDINS_CODE, secret=SECRET).start()
    settings.INSURANCE_PLATFORM_URL = double.url
    yield double
    double.stop()
