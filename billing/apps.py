from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("使用与计费 / Use and billing")

    def ready(self):
        # The bedside handlers register themselves with the scan dispatcher.
        from .services import use  # noqa: F401
