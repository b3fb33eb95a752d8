"""Master-data pages (procurement, pricing office, suppliers); each page module owns its
``urlpatterns`` and is included here."""

urlpatterns: list = []
