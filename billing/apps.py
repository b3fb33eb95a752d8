from django.apps import AppConfig
from django.db import DEFAULT_DB_ALIAS
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("使用与计费 / Use and billing")

    def ready(self):
        # The bedside handlers register themselves with the scan dispatcher.
        from .services import use  # noqa: F401

        post_migrate.connect(_national_insurance_types, sender=self)


def _national_insurance_types(sender, using=DEFAULT_DB_ALIAS, **kwargs):
    """After a migrate (or a flush, which sends the same signal) the national insurance
    types are there: migration 0010 creates them; a flushed table gets them back."""
    from .services.insurance_types import ensure_national_types

    apps = kwargs.get("apps")
    try:
        if apps is not None:
            apps.get_model("billing", "InsuranceType")  # migrated back before 0010: no table
    except LookupError:
        return
    ensure_national_types(using=using)
