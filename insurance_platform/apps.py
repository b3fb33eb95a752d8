from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsurancePlatformConfig(AppConfig):
    name = "insurance_platform"
    verbose_name = _("医保平台 / Insurance platform")
