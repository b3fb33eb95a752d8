"""HIS charge checks are what HIS was told at the boundary (issue 16): append-only.

A check is written once, with the charge it warned about or alone for a refusal, and the
insurance office reads it as evidence. UPDATE, DELETE and TRUNCATE are refused, like the
refunds (``wuma_refuse_change()`` of inventory 0006). Nothing here runs on SQLite.
"""

from django.db import migrations

FORWARD = """
CREATE TRIGGER billing_hischargecheck_append_only
    BEFORE UPDATE OR DELETE ON billing_hischargecheck
    FOR EACH ROW EXECUTE FUNCTION wuma_refuse_change();
CREATE TRIGGER billing_hischargecheck_no_truncate
    BEFORE TRUNCATE ON billing_hischargecheck
    FOR EACH STATEMENT EXECUTE FUNCTION wuma_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS billing_hischargecheck_no_truncate ON billing_hischargecheck;
DROP TRIGGER IF EXISTS billing_hischargecheck_append_only ON billing_hischargecheck;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0016_encounter_platform_ids"),
        ("inventory", "0006_protected_rows"),
    ]

    operations = [migrations.RunPython(forward, backward)]
