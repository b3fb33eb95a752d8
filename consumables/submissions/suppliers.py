"""Which suppliers a user acts for, without consumables depending on inventory.

Suppliers and their users are inventory's (``inventory.Supplier.users``, related name
``suppliers`` on the user model). Consumables never imports inventory (inventory depends on
consumables, not the reverse): it knows a supplier by its code, a plain reference, and reads
a user's suppliers through that relation on the user. This module is the only place that
does, so the coupling is one relation name, in one file; with no such relation a user acts
for no supplier and sees nothing (deny by default). An administrator, who may do
everything, acts for every active supplier.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist

from config import roles
from config.permissions import has_role

RELATION = "suppliers"


def supplier_codes_for(user) -> list[str]:
    """Codes of the active suppliers ``user`` is an account of, every one for an
    administrator (one query, then cached on the user)."""
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_supplier_codes", None)
    if cached is None:
        model = _supplier_model()
        if has_role(user, roles.ADMINISTRATOR) and model is not None:
            suppliers = model.objects.all()
        else:
            suppliers = getattr(user, RELATION, None)
        cached = (
            sorted(suppliers.filter(is_active=True).values_list("code", flat=True))
            if suppliers is not None
            else []
        )
        user._supplier_codes = cached
    return cached


def _supplier_model():
    try:
        return get_user_model()._meta.get_field(RELATION).related_model
    except FieldDoesNotExist:
        return None


def supplier_names(codes) -> dict[str, str]:
    """Supplier code -> name, for display (one query)."""
    model = _supplier_model()
    if model is None or not codes:
        return {}
    return dict(model.objects.filter(code__in=set(codes)).values_list("code", "name"))


def supplier_exists(code: str) -> bool:
    model = _supplier_model()
    return model is not None and model.objects.filter(code=code, is_active=True).exists()
