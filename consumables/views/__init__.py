"""Master-data pages (and the home page, ``home``): the code-conflict workspace, supplier
submissions and their review, mapping changes, price proposals and platform/VBP price
lists. Each module owns its
``urlpatterns`` (included by ``consumables/urls.py``)."""
