"""Master-data pages (procurement, pricing office, suppliers); each page module owns its
``urlpatterns`` and is included here, under /master/."""

from django.urls import include, path

from consumables.views import mappings, prices, staging, submissions

app_name = "master"

urlpatterns = [
    path("conflicts/", include(staging.urlpatterns)),
    path("mappings/", include(mappings.urlpatterns)),
    path("supplier/", include(submissions.supplier_urlpatterns)),
    path("submissions/", include(submissions.review_urlpatterns)),
    path("supplier-products/", include(submissions.product_urlpatterns)),
    path("prices/", include(prices.urlpatterns)),
]
