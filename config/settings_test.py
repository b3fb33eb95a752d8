"""Test settings: the real settings with a throwaway secret and plain HTTP test clients."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key")

from .settings import *  # noqa: E402,F403

SECURE_SSL_REDIRECT = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Serve static files through the finders: no collectstatic needed for the test server.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
