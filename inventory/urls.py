"""Inventory pages; each page module owns its ``urlpatterns``."""

from django.urls import include, path

from .views import labels, master_check, recalls, stock, stocktake

app_name = "inventory"

urlpatterns = [
    path("", include(stock.urlpatterns)),
    path("labels/", include(labels.urlpatterns)),
    path("stocktake/", include(stocktake.urlpatterns)),
    path("recalls/", include(recalls.urlpatterns)),
    path("master-check/", include(master_check.urlpatterns)),
]
