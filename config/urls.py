from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from consumables import api as consumables_api
from consumables import views as consumables_views
from inventory import api as inventory_api

api_v1 = [
    path("codes/resolve", consumables_api.CodeResolveApi.as_view(), name="codes-resolve"),
    path("scans", inventory_api.ScanApi.as_view(), name="scans"),
]

urlpatterns = [
    path("", consumables_views.home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("inventory/", include("inventory.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
