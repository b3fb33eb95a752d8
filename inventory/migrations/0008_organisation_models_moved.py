"""Departments, locations and suppliers left for the organisation app (organisation 0001):
the foreign keys name their new home and the models leave inventory's state; the
database is untouched (its tables are renamed in organisation 0002)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0011_department_in_organisation'),
        ('inventory', '0007_supplier_credit_code_licence'),
        ('organisation', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='location',
                    name='department',
                ),
                migrations.AlterField(
                    model_name='stocktake',
                    name='department',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='stocktakes', to='organisation.department'),
                ),
                migrations.RemoveField(
                    model_name='historicaldepartment_members',
                    name='department',
                ),
                migrations.AlterField(
                    model_name='receipt',
                    name='department',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='organisation.department'),
                ),
                migrations.RemoveField(
                    model_name='historicaldepartment',
                    name='history_user',
                ),
                migrations.RemoveField(
                    model_name='historicaldepartment_members',
                    name='history',
                ),
                migrations.RemoveField(
                    model_name='historicaldepartment_members',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='historicalsupplier',
                    name='history_user',
                ),
                migrations.RemoveField(
                    model_name='historicalsupplier_users',
                    name='history',
                ),
                migrations.RemoveField(
                    model_name='historicalsupplier_users',
                    name='supplier',
                ),
                migrations.RemoveField(
                    model_name='historicalsupplier_users',
                    name='user',
                ),
                migrations.AlterField(
                    model_name='stockmove',
                    name='to_location',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='organisation.location'),
                ),
                migrations.AlterField(
                    model_name='stocktakeentry',
                    name='unit_was_at',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='organisation.location'),
                ),
                migrations.AlterField(
                    model_name='stockbalance',
                    name='location',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='balances', to='organisation.location'),
                ),
                migrations.AlterField(
                    model_name='trackedunit',
                    name='location',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='units', to='organisation.location'),
                ),
                migrations.AlterField(
                    model_name='stockmove',
                    name='from_location',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='organisation.location'),
                ),
                migrations.AlterField(
                    model_name='stocktake',
                    name='location',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='stocktakes', to='organisation.location'),
                ),
                migrations.RemoveField(
                    model_name='supplier',
                    name='users',
                ),
                migrations.AlterField(
                    model_name='receipt',
                    name='supplier',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='receipts', to='organisation.supplier'),
                ),
                migrations.DeleteModel(
                    name='Department',
                ),
                migrations.DeleteModel(
                    name='HistoricalDepartment',
                ),
                migrations.DeleteModel(
                    name='HistoricalDepartment_members',
                ),
                migrations.DeleteModel(
                    name='HistoricalSupplier',
                ),
                migrations.DeleteModel(
                    name='HistoricalSupplier_users',
                ),
                migrations.DeleteModel(
                    name='Location',
                ),
                migrations.DeleteModel(
                    name='Supplier',
                ),
            ],
            database_operations=[],
        ),
    ]
