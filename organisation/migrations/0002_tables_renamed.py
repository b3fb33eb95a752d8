"""The organisation's tables take its name (``inventory_department`` becomes
``organisation_department``...; PostgreSQL keeps the foreign keys pointing at them), and
the content types (and so the permissions given to roles, and the admin's log) follow the
models to their new app."""

from django.db import migrations

MOVED = (
    "department",
    "historicaldepartment",
    "historicaldepartment_members",
    "location",
    "supplier",
    "historicalsupplier",
    "historicalsupplier_users",
)


def content_types_follow(apps, schema_editor, source="inventory", target="organisation"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not ContentType.objects.filter(app_label=target, model=model).exists():
            ContentType.objects.filter(app_label=source, model=model).update(app_label=target)


def content_types_return(apps, schema_editor):
    content_types_follow(apps, schema_editor, source="organisation", target="inventory")


class Migration(migrations.Migration):

    dependencies = [
        ('organisation', '0001_initial'),
        ('inventory', '0008_organisation_models_moved'),
        ('billing', '0011_department_in_organisation'),
        ('consumables', '0009_supplier_product_supplier_fk'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.AlterModelTable(
            name='department',
            table=None,
        ),
        migrations.AlterModelTable(
            name='historicaldepartment',
            table=None,
        ),
        migrations.AlterModelTable(
            name='historicaldepartment_members',
            table=None,
        ),
        migrations.AlterModelTable(
            name='historicalsupplier',
            table=None,
        ),
        migrations.AlterModelTable(
            name='historicalsupplier_users',
            table=None,
        ),
        migrations.AlterModelTable(
            name='location',
            table=None,
        ),
        migrations.AlterModelTable(
            name='supplier',
            table=None,
        ),
        migrations.RunPython(content_types_follow, content_types_return),
    ]
