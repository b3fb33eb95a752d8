"""The outbox is written by the database, in the transaction of each ledger fact.

The rules (which fact needs which transaction) are SQL functions kept in
``insurance_platform.rules``; the triggers call them on each new stock move and on each
stocktake that becomes posted. Outbox records are never deleted (a record's status
changes; the fact stays), like the ledger itself. PostgreSQL only: on SQLite (the quick
start) nothing is created and no outbox is written.
"""

from django.db import migrations

from insurance_platform import rules


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(rules.FUNCTIONS, params=None)
        schema_editor.execute(rules.TRIGGERS, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(rules.DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("insurance_platform", "0001_initial"),
        ("billing", "0016_encounter_platform_ids"),
        ("consumables", "0010_one_review_workflow"),
        ("inventory", "0009_virtual_locations"),
        ("organisation", "0002_tables_renamed"),
    ]

    operations = [migrations.RunPython(forward, backward)]
