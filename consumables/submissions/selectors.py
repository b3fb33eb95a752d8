"""Reads for supplier pages and the supplier API: a supplier user sees only the products
and submissions of its own suppliers; the hospital's reviewers see every submission."""

from __future__ import annotations

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from organisation.selectors import supplier_codes_for

from ..models import DeviceIdentifier
from .models import SupplierProduct, SupplierSubmission


def _live_dis():
    return Prefetch(
        "consumable__device_identifiers",
        queryset=DeviceIdentifier.objects.filter(is_active=True).order_by("units_per_package"),
        to_attr="live_dis",
    )


def products_of(user) -> QuerySet[SupplierProduct]:
    """The user's suppliers' active products with their live codes and the status of the
    latest submission (three queries with its DIs, however many products)."""
    latest = SupplierSubmission.objects.filter(
        supplier_code=OuterRef("supplier_id"), consumable=OuterRef("consumable")
    ).order_by("-proposed_at", "-pk")
    return (
        SupplierProduct.objects.filter(
            supplier_id__in=supplier_codes_for(user), is_active=True
        )
        .select_related("consumable")
        .annotate(
            last_status=Subquery(latest.values("status")[:1]),
            last_submission_id=Subquery(latest.values("pk")[:1]),
        )
        .prefetch_related(_live_dis())
        .order_by("supplier_id", "consumable__material_code")
    )


def _submissions() -> QuerySet[SupplierSubmission]:
    return SupplierSubmission.objects.select_related(
        "consumable", "proposed_by", "decided_by"
    ).prefetch_related("dis")


def submissions_of(user) -> QuerySet[SupplierSubmission]:
    """Submissions of the user's own suppliers."""
    return _submissions().filter(supplier_code__in=supplier_codes_for(user))


def submissions_for_review(status: str | None = None) -> QuerySet[SupplierSubmission]:
    """Every submission (the hospital's view), optionally of one status."""
    queryset = _submissions()
    return queryset.filter(status=status) if status else queryset
