"""Billing pages; each page module owns its ``urlpatterns``."""

from django.urls import include, path

from .views import audit, audit_trail, bedside, daily_list, finance, followup, kits

urlpatterns = [
    path("bedside/", include(bedside.urlpatterns)),
    path("audit/", include(audit.urlpatterns)),
    path("daily-list/", include(daily_list.urlpatterns)),
    path("kits/", include(kits.urlpatterns)),
    path("audit-trail/", include(audit_trail.urlpatterns)),
    path("finance/", include(finance.urlpatterns)),
    path("followup/", include(followup.urlpatterns)),
]
