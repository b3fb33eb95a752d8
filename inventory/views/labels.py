"""Pages: labels (to be written)."""

urlpatterns = []
