"""Pages: recalls (to be written)."""

urlpatterns = []
