"""Departments, locations and suppliers (with their history) leave the inventory app for the
organisation app: the models only, in Django's state; their tables are inventory's for now
(renamed in 0002, once every app refers to the new home)."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("inventory", "0007_supplier_credit_code_licence"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.CreateModel(
                name='Department',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('code', models.CharField(max_length=32, unique=True, verbose_name='科室编码 / code')),
                    ('name', models.CharField(max_length=100, verbose_name='名称 / name')),
                    ('kind', models.CharField(choices=[('store', '库房 / store'), ('ward', '病区 / ward'), ('theatre', '手术室 / theatre')], max_length=8, verbose_name='类型 / kind')),
                    ('is_active', models.BooleanField(default=True, verbose_name='在用 / active')),
                    ('members', models.ManyToManyField(blank=True, related_name='departments', to=settings.AUTH_USER_MODEL, verbose_name='人员 / staff')),
                ],
                options={
                    'db_table': 'inventory_department',
                    'verbose_name': '科室 / department',
                    'verbose_name_plural': '科室 / departments',
                    'ordering': ['code'],
                },
            ),
            migrations.CreateModel(
                name='HistoricalDepartment',
                fields=[
                    ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                    ('code', models.CharField(db_index=True, max_length=32, verbose_name='科室编码 / code')),
                    ('name', models.CharField(max_length=100, verbose_name='名称 / name')),
                    ('kind', models.CharField(choices=[('store', '库房 / store'), ('ward', '病区 / ward'), ('theatre', '手术室 / theatre')], max_length=8, verbose_name='类型 / kind')),
                    ('is_active', models.BooleanField(default=True, verbose_name='在用 / active')),
                    ('history_id', models.AutoField(primary_key=True, serialize=False)),
                    ('history_date', models.DateTimeField(db_index=True)),
                    ('history_change_reason', models.CharField(max_length=100, null=True)),
                    ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                    ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'db_table': 'inventory_historicaldepartment',
                    'verbose_name': 'historical 科室 / department',
                    'verbose_name_plural': 'historical 科室 / departments',
                    'ordering': ('-history_date', '-history_id'),
                    'get_latest_by': ('history_date', 'history_id'),
                },
                bases=(simple_history.models.HistoricalChanges, models.Model),
            ),
            migrations.CreateModel(
                name='HistoricalDepartment_members',
                fields=[
                    ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                    ('m2m_history_id', models.AutoField(primary_key=True, serialize=False)),
                    ('department', models.ForeignKey(blank=True, db_constraint=False, db_tablespace='', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='organisation.department')),
                    ('history', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, to='organisation.historicaldepartment')),
                    ('user', models.ForeignKey(blank=True, db_constraint=False, db_tablespace='', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'db_table': 'inventory_historicaldepartment_members',
                    'verbose_name': 'HistoricalDepartment_members',
                },
                bases=(simple_history.models.HistoricalChanges, models.Model),
            ),
            migrations.CreateModel(
                name='HistoricalSupplier',
                fields=[
                    ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                    ('code', models.CharField(db_index=True, max_length=32, verbose_name='供应商编码 / code')),
                    ('name', models.CharField(max_length=200, verbose_name='名称 / name')),
                    ('credit_code', models.CharField(blank=True, max_length=18, verbose_name='统一社会信用代码 / unified social credit code')),
                    ('license_no', models.CharField(blank=True, max_length=64, verbose_name='医疗器械经营许可证号 / medical device trading licence no.')),
                    ('is_active', models.BooleanField(default=True)),
                    ('history_id', models.AutoField(primary_key=True, serialize=False)),
                    ('history_date', models.DateTimeField(db_index=True)),
                    ('history_change_reason', models.CharField(max_length=100, null=True)),
                    ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                    ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'db_table': 'inventory_historicalsupplier',
                    'verbose_name': 'historical 供应商 / supplier',
                    'verbose_name_plural': 'historical 供应商 / suppliers',
                    'ordering': ('-history_date', '-history_id'),
                    'get_latest_by': ('history_date', 'history_id'),
                },
                bases=(simple_history.models.HistoricalChanges, models.Model),
            ),
            migrations.CreateModel(
                name='Supplier',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('code', models.CharField(max_length=32, unique=True, verbose_name='供应商编码 / code')),
                    ('name', models.CharField(max_length=200, verbose_name='名称 / name')),
                    ('credit_code', models.CharField(blank=True, max_length=18, verbose_name='统一社会信用代码 / unified social credit code')),
                    ('license_no', models.CharField(blank=True, max_length=64, verbose_name='医疗器械经营许可证号 / medical device trading licence no.')),
                    ('is_active', models.BooleanField(default=True)),
                    ('users', models.ManyToManyField(blank=True, related_name='suppliers', to=settings.AUTH_USER_MODEL, verbose_name='供应商账号 / supplier users')),
                ],
                options={
                    'db_table': 'inventory_supplier',
                    'verbose_name': '供应商 / supplier',
                    'verbose_name_plural': '供应商 / suppliers',
                    'ordering': ['code'],
                },
            ),
            migrations.CreateModel(
                name='HistoricalSupplier_users',
                fields=[
                    ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                    ('m2m_history_id', models.AutoField(primary_key=True, serialize=False)),
                    ('history', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, to='organisation.historicalsupplier')),
                    ('user', models.ForeignKey(blank=True, db_constraint=False, db_tablespace='', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('supplier', models.ForeignKey(blank=True, db_constraint=False, db_tablespace='', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='organisation.supplier')),
                ],
                options={
                    'db_table': 'inventory_historicalsupplier_users',
                    'verbose_name': 'HistoricalSupplier_users',
                },
                bases=(simple_history.models.HistoricalChanges, models.Model),
            ),
            migrations.CreateModel(
                name='Location',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('code', models.CharField(max_length=40, unique=True)),
                    ('name', models.CharField(max_length=100)),
                    ('usage', models.CharField(choices=[('internal', '实物库位 / internal'), ('supplier', '供应商 / supplier'), ('patient', '患者 / patient'), ('scrap', '报损 / scrap'), ('adjustment', '盘点调整 / adjustment')], max_length=10)),
                    ('department', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='location', to='organisation.department')),
                ],
                options={
                    'db_table': 'inventory_location',
                    'verbose_name': '库位 / location',
                    'verbose_name_plural': '库位 / locations',
                    'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('department__isnull', False), ('usage', 'internal')), models.Q(models.Q(('usage', 'internal'), _negated=True), ('department__isnull', True)), _connector='OR'), name='internal_location_has_department')],
                },
            ),
            ],
            database_operations=[],
        ),
    ]
