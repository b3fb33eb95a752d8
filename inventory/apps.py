from django.apps import AppConfig
from django.db import DEFAULT_DB_ALIAS
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = _("库存 / Inventory")

    def ready(self):
        # The scan handlers register themselves with the scan dispatcher.
        from .services import issue, receive, returns  # noqa: F401

        post_migrate.connect(_virtual_locations, sender=self)


def _virtual_locations(sender, using=DEFAULT_DB_ALIAS, **kwargs):
    """After a migrate (or a flush, which sends the same signal) the virtual locations are
    there: migration 0009 creates them; a flushed table gets them back."""
    from .ledger import Location, ensure_virtual_locations

    apps = kwargs.get("apps")
    try:
        if apps is not None:  # migrated back before the locations' table: nothing to seed
            apps.get_model(Location._meta.label)
    except LookupError:
        return
    ensure_virtual_locations(using=using)
