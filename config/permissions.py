"""Role and department checks for pages and the API: deny by default.

Pages use ``@role_required(...)``; API views use ``HasRole`` with ``allowed_roles``. Which
departments a user sees is the organisation's (``organisation.selectors.visible_departments``).
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.urls import Resolver404, resolve
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from . import roles

READ_ALL_ROLES = (roles.FINANCE, roles.INSURANCE_OFFICE, roles.ADMINISTRATOR)
# role_required's refusal; the 403 page shows the roles the page needs in its place.
PAGE_DENIED = _("无权访问此页面 / You may not open this page")


def user_roles(user) -> set[str]:
    if not user.is_authenticated:
        return set()
    if user.is_superuser:
        return set(roles.ROLES)
    cached = getattr(user, "_role_names", None)
    if cached is None:
        cached = remember_roles(user, set(user.groups.values_list("name", flat=True)))
    return cached


def remember_roles(user, group_names: set[str]) -> set[str]:
    """Keep ``user``'s role names (his group names) on the object for the request."""
    names = set(roles.ROLES) if roles.ADMINISTRATOR in group_names else group_names
    user._role_names = names  # the administrator role may do everything
    return names


def has_role(user, *wanted: str) -> bool:
    return bool(user_roles(user) & set(wanted))


def role_required(*wanted: str):
    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, *wanted):
                raise PermissionDenied(PAGE_DENIED)
            return view(request, *args, **kwargs)

        # Read back by ``may_open`` (the home page's tiles) and the 403 page's "needed" line.
        wrapper.allowed_roles = wanted
        return wrapper

    return decorator


def roles_needed(path: str) -> tuple[str, ...]:
    """The roles the page at ``path`` lets in (its ``role_required``), or () if unknown."""
    try:
        return tuple(getattr(resolve(path).func, "allowed_roles", ()))
    except Resolver404:
        return ()


def may_open(request, path: str) -> bool:
    """Whether ``request.user`` passes the gate of the view at ``path``: the very check that
    view makes (its ``role_required`` roles, the admin site's model permission, a DRF view's
    permission classes), so a link offered here never ends on a 403. A view whose gate is
    none of these is not offered (deny by default)."""
    try:
        view = resolve(path).func
    except Resolver404:
        return False
    if not request.user.is_authenticated:
        return False
    wanted = getattr(view, "allowed_roles", None)
    if wanted is not None:
        return has_role(request.user, *wanted)
    model_admin = getattr(view, "model_admin", None)  # ModelAdmin.get_urls sets it
    if model_admin is not None:
        return model_admin.admin_site.has_permission(
            request
        ) and model_admin.has_view_or_change_permission(request)
    view_class = getattr(view, "cls", None)  # a DRF APIView
    if view_class is not None:
        api_view = view_class(**getattr(view, "initkwargs", {}))
        return all(p.has_permission(request, api_view) for p in api_view.get_permissions())
    return False


class HasRole(BasePermission):
    """API permission: the view's ``allowed_roles`` (administrators always pass)."""

    message = _("无权执行此操作 / Permission denied")

    def has_permission(self, request, view):
        wanted = getattr(view, "allowed_roles", ())
        return request.user.is_authenticated and has_role(
            request.user, *wanted, roles.ADMINISTRATOR
        )
