"""The 403 page: why, which roles the page lets in (when its ``role_required`` says), home.

The API never comes here: DRF turns a PermissionDenied into its JSON error body first
(config.errors.api_exception_handler). The 404 page is Django's own view with our
templates/404.html.
"""

from django.shortcuts import render

from . import roles
from .permissions import PAGE_DENIED, has_role, roles_needed


def permission_denied(request, exception=None):
    reason = str(exception) if exception is not None else ""
    needed = roles_needed(request.path_info)
    # A user who holds one of the roles was refused for another reason (another ward, a
    # department he is not a member of): the reason says it, a role list would mislead.
    if needed and has_role(request.user, *needed):
        needed = ()
    if reason == str(PAGE_DENIED):
        reason = ""  # the page's roles say it better
    context = {
        "reason": reason,
        "needed_roles": [roles.ROLES[name] for name in needed if name in roles.ROLES],
    }
    return render(request, "403.html", context, status=403)
