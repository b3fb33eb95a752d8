"""Pages: stocktake (to be written)."""

urlpatterns = []
