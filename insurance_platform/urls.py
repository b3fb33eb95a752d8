"""The insurance office's platform pages; each page module owns its ``urlpatterns``."""

urlpatterns = []
