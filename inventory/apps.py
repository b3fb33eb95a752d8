from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = _("库存 / Inventory")

    def ready(self):
        # The scan handlers register themselves with the scan dispatcher.
        from .services import issue, receive, returns  # noqa: F401
