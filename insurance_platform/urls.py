"""The insurance office's platform pages; each page module owns its ``urlpatterns``."""

from django.urls import include, path

from .views import uploads

urlpatterns = [
    path("uploads/", include(uploads.urlpatterns)),
]
