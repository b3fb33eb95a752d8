"""Page: the set-up check (主数据检查) for procurement: what in the master data would stop
the hospital working, with the count of each kind and a link to fix each object
(``inventory.setup_check``, the same list as ``manage.py check_master``)."""

from __future__ import annotations

from django.shortcuts import render
from django.urls import path

from config import roles
from config.permissions import role_required

from ..setup_check import PAGE_LIMIT, master_check

CHECK_ROLES = (roles.PROCUREMENT, roles.ADMINISTRATOR)


@role_required(*CHECK_ROLES)
def master_check_page(request):
    sections = master_check(limit=PAGE_LIMIT)
    return render(
        request,
        "inventory/master_check/page.html",
        {
            "sections": sections,
            "total": sum(section.count for section in sections),
            "limit": PAGE_LIMIT,
        },
    )


urlpatterns = [path("", master_check_page, name="master-check")]
