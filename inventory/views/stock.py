"""Pages: stock (to be written)."""

urlpatterns = []
