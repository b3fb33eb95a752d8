"""Session hardening for shared ward PCs, API-only integration accounts, and the refusal of
control characters in URLs."""

import re
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from . import roles
from .errors import DomainError, error_body
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
                error_body("NOT_FOUND", {"path": request.path}),
                status=404,
            )
        return response


# A path argument is an identifier: no control character at all. A query or form value may
# carry what a barcode scanner types into a search box (tab, CR/LF, and the ISO/IEC 15434
# separators EOT, GS, RS of GS1/MA/HIBC codes), never NUL (PostgreSQL refuses it in text:
# a DataError, a 500) or the other control characters, which no keyboard or scanner sends.
CONTROL_IN_PATH = re.compile(r"[\x00-\x1f\x7f]")
CONTROL_IN_VALUE = re.compile(r"[\x00-\x03\x05-\x08\x0b\x0c\x0e-\x1c\x1f\x7f]")
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def control_character_in(request) -> str | None:
    """Where ``request`` carries a refused control character: ``"path"``, the name of the
    query or form parameter, or None."""
    if CONTROL_IN_PATH.search(request.path_info):
        return "path"
    fields = [request.GET]
    if (
        request.method == "POST"
        and request.content_type == FORM_CONTENT_TYPE
        and not request.path_info.startswith(settings.API_PATH_PREFIXES)
    ):
        # A page's form. The API's bodies are config.parsers' and its serializers' (which
        # refuse NUL), multipart uploads the forms' (likewise), and a body too large stays
        # the API's 413.
        fields.append(request.POST)
    for query in fields:
        for name, values in query.lists():
            if CONTROL_IN_PATH.search(name):
                return name.encode("unicode_escape").decode("ascii")
            if any(CONTROL_IN_VALUE.search(value) for value in values):
                return name
    return None


class RefuseControlCharactersMiddleware:
    """One place for every page and endpoint: a URL (path or query parameter) or a form field
    holding NUL or another control character is refused before any view runs, with the 400
    page, or ``VALIDATION_ERROR`` under the API. Nothing reaches the database."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        where = control_character_in(request)
        if where is None:
            return self.get_response(request)
        if request.path_info.startswith(settings.API_PATH_PREFIXES):
            return JsonResponse(
                DomainError(
                    "VALIDATION_ERROR",
                    "请求含有控制字符",
                    "The request holds a control character",
                    detail={"reason": "CONTROL_CHARACTER", "parameter": where},
                ).as_body(),
                status=400,
            )
        return render(request, "400.html", status=400)
