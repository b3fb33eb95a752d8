"""The integration role: API tokens of HIS/HRP interfaces (config/roles.py)."""

from django.db import migrations


def create_role(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name="integration")


class Migration(migrations.Migration):
    dependencies = [("consumables", "0004_insurance_class")]

    operations = [migrations.RunPython(create_role, migrations.RunPython.noop)]
