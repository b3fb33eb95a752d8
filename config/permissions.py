"""Role and department checks for pages and the API: deny by default.

Pages use ``@role_required(...)``; API views use ``HasRole`` with ``allowed_roles``. A user
sees the departments he is a member of; finance, the insurance office and administrators
read every department.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from . import roles

READ_ALL_ROLES = (roles.FINANCE, roles.INSURANCE_OFFICE, roles.ADMINISTRATOR)


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


def visible_departments(user):
    """Departments whose stock and patients ``user`` may see."""
    from inventory.models import Department

    if has_role(user, *READ_ALL_ROLES):
        return Department.objects.filter(is_active=True)
    return Department.objects.filter(is_active=True, members=user)


def role_required(*wanted: str):
    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, *wanted):
                raise PermissionDenied(_("无权访问此页面 / You may not open this page"))
            return view(request, *args, **kwargs)

        wrapper.allowed_roles = wanted
        return wrapper

    return decorator


class HasRole(BasePermission):
    """API permission: the view's ``allowed_roles`` (administrators always pass)."""

    message = _("无权执行此操作 / Permission denied")

    def has_permission(self, request, view):
        wanted = getattr(view, "allowed_roles", ())
        return request.user.is_authenticated and has_role(
            request.user, *wanted, roles.ADMINISTRATOR
        )
