"""Page: denials analysed (拒付分析), ``/insurance/denials/``.

The insurance centre's denials (loaded by ``manage.py import_denials``) by department, item,
reason and month, each with what we had found first (an exception of our own on that
encounter and item) and what we missed; the unmatched ones. Insurance office, finance and
administrators.
"""

from __future__ import annotations

from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from billing.views.followup import _parsed_month
from config import roles
from config.permissions import role_required

from ..selectors import denials as sel

ROLES = (roles.INSURANCE_OFFICE, roles.FINANCE, roles.ADMINISTRATOR)


@role_required(*ROLES)
def denials_page(request):
    text = request.GET.get("month", "")
    month = _parsed_month(text) if text and text != "all" else None
    if text and text != "all" and month is None:
        return render(
            request,
            "insurance_platform/denials.html",
            {"title": _("拒付分析 / Denials"), "bad_month": text[:20]},
            status=400,
        )
    return render(
        request,
        "insurance_platform/denials.html",
        {
            "title": _("拒付分析 / Denials"),
            "month": month,
            "months": sel.months(),
            "totals": sel.totals(month),
            "groups": {d: sel.grouped(month, d) for d in sel.DIMENSIONS},
            "missed": sel.missed(month),
            "unmatched": sel.unmatched(month),
        },
    )


urlpatterns = [path("", denials_page, name="insurance-denials")]
