"""Create the hospital's roles as Django groups (config/roles.py)."""

from django.db import migrations

ROLES = [
    "nurse",
    "storekeeper",
    "procurement",
    "pricing_office",
    "finance",
    "insurance_office",
    "supplier",
    "administrator",
]


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("consumables", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
