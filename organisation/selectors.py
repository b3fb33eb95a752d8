"""Who sees which departments, and who acts for which suppliers."""

from django.db.models import QuerySet

from config import roles
from config.permissions import READ_ALL_ROLES, has_role

from .models import Department, Supplier


def visible_departments(user) -> QuerySet[Department]:
    """Departments whose stock and patients ``user`` may see: his own (he is a member),
    or every active one for finance, the insurance office and administrators."""
    if has_role(user, *READ_ALL_ROLES):
        return Department.objects.filter(is_active=True)
    return Department.objects.filter(is_active=True, members=user)


def supplier_codes_for(user) -> list[str]:
    """Codes of the active suppliers ``user`` is an account of (``Supplier.users``), every
    active one for an administrator; one query, then cached on the user."""
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_supplier_codes", None)
    if cached is None:
        suppliers = (
            Supplier.objects.all() if has_role(user, roles.ADMINISTRATOR) else user.suppliers
        )
        cached = sorted(suppliers.filter(is_active=True).values_list("code", flat=True))
        user._supplier_codes = cached
    return cached


def supplier_names(codes) -> dict[str, str]:
    """Supplier code -> name, for display (one query)."""
    if not codes:
        return {}
    return dict(Supplier.objects.filter(code__in=set(codes)).values_list("code", "name"))


def supplier_exists(code: str) -> bool:
    return Supplier.objects.filter(code=code, is_active=True).exists()
