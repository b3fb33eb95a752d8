from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "使用与计费 / Use and billing"
