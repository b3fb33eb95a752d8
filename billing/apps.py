from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "使用与计费 / Use and billing"

    def ready(self):
        # The bedside handlers register themselves with the scan dispatcher.
        from .services import use  # noqa: F401
