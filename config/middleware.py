"""Session hardening for shared ward PCs, and API-only integration accounts."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.utils.translation import gettext as _

from . import roles
from .errors import error_body
from .permissions import user_roles

LAST_SEEN_KEY = "_last_seen"
# Writing the session on every request would cost a database write per scan; the idle clock
# only needs minute precision.
LAST_SEEN_RESOLUTION = 60


class IdleSessionTimeoutMiddleware:
    """Log out a session left idle longer than ``SESSION_IDLE_TIMEOUT`` seconds.

    ``SESSION_COOKIE_AGE`` bounds a session's whole life (a shift); this bounds the time a
    ward PC may stand unattended with someone still logged in. The next request after the
    limit is served as anonymous, so pages send it to the login page and the API refuses it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated and hasattr(request, "session"):
            self._check(request)
        return self.get_response(request)

    def _check(self, request) -> None:
        session = request.session
        now = int(time.time())
        last_seen = session.get(LAST_SEEN_KEY)
        if last_seen is not None and now - int(last_seen) > settings.SESSION_IDLE_TIMEOUT:
            logout(request)
            messages.warning(
                request,
                _(
                    "长时间未操作，已自动退出，请重新登录 / "
                    "You were logged out after a period of inactivity; please log in again"
                ),
            )
            return
        if last_seen is None or now - int(last_seen) >= LAST_SEEN_RESOLUTION:
            session[LAST_SEEN_KEY] = now


def stamp_login(sender, request, user, **kwargs):
    """The idle clock starts at login (connected to ``user_logged_in``), so the first
    request after it does not have to write the session."""
    if hasattr(request, "session"):
        request.session[LAST_SEEN_KEY] = int(time.time())


class IntegrationApiOnlyMiddleware:
    """Accounts whose only role is ``integration`` (HIS/HRP tokens) may use the API and
    nothing else: no page, no admin, even if someone gave the account a password."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not user.is_superuser
            and not request.path.startswith(settings.API_PATH_PREFIXES)
            # user_roles caches on the user: the page's own role check reuses it.
            and user_roles(user) == {roles.INTEGRATION}
        ):
            raise PermissionDenied(
                _("接口账号不能打开页面 / Integration accounts may not open pages")
            )
        return self.get_response(request)


class ApiJsonNotFoundMiddleware:
    """A path under the API that matches no URL (``/api/v1/charges/abc/refund``) answers
    with the API's JSON error body, like every other API refusal, not the HTML 404 page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 404
            and request.path.startswith(settings.API_PATH_PREFIXES)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return JsonResponse(
                error_body("NOT_FOUND", "未找到", "Not found", {"path": request.path}),
                status=404,
            )
        return response
