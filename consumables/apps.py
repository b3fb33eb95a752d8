from django.apps import AppConfig


class ConsumablesConfig(AppConfig):
    name = "consumables"
    verbose_name = "耗材主数据 / Consumables"
