"""The insurance office's platform pages; each page module owns its ``urlpatterns``."""

from django.urls import include, path

from .views import denials, uploads

urlpatterns = [
    path("uploads/", include(uploads.urlpatterns)),
    path("denials/", include(denials.urlpatterns)),
]
