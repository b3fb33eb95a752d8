"""The virtual locations (SUPPLIER, PATIENT, SCRAP, ADJUSTMENT) as data, seeded once.

They were created on first use, so the ledger looked each one up on every move; now they
exist from the start and ``ledger.virtual_location`` reads each id once per process. The
locations are the organisation's rows (organisation 0001); which of them are virtual is the
ledger's business, so the seeding is inventory's. Rows an earlier first use created are kept
as they are. The table is copied here, not imported: a migration stays as it was written.
"""

from django.db import migrations

VIRTUAL_LOCATIONS = [
    ("SUPPLIER", "供应商 / supplier", "supplier"),
    ("PATIENT", "患者 / patient", "patient"),
    ("SCRAP", "报损 / scrap", "scrap"),
    ("ADJUSTMENT", "盘点调整 / adjustment", "adjustment"),
]


def seed(apps, schema_editor):
    Location = apps.get_model("organisation", "Location")
    db = schema_editor.connection.alias
    for code, name, usage in VIRTUAL_LOCATIONS:
        Location.objects.using(db).get_or_create(code=code, defaults={"name": name, "usage": usage})


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0008_organisation_models_moved"),
        ("organisation", "0002_tables_renamed"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
