"""The department foreign keys now name ``organisation.Department`` (the same table): Django's
state only, nothing changes in the database."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0010_insurance_types'),
        ('organisation', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='chargeline',
                    name='department',
                    field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='organisation.department'),
                ),
                migrations.AlterField(
                    model_name='encounter',
                    name='department',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='encounters', to='organisation.department'),
                ),
                migrations.AlterField(
                    model_name='historicalencounter',
                    name='department',
                    field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='organisation.department'),
                ),
                migrations.AlterField(
                    model_name='use',
                    name='department',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='organisation.department'),
                ),
                migrations.AlterField(
                    model_name='variancerow',
                    name='department',
                    field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT, to='organisation.department'),
                ),
            ],
            database_operations=[],
        ),
    ]
