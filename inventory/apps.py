from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = "库存 / Inventory"

    def ready(self):
        # The scan handlers register themselves with the scan dispatcher.
        from .services import issue, receive, returns  # noqa: F401
