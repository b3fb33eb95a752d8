"""Insurance types (医保类型) become the hospital's configured list (issue 14).

``Encounter.insurance_type`` keeps the name HIS sends, widened to the type's 32 characters,
without the three fixed choices; the list starts with the national types and the existing
encounters' names, so every row stays valid.
"""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


# (name, English name, insured, order): the types every hospital has on day one.
INITIAL_TYPES = [
    ("职工医保", "employee insurance", True, 10),
    ("居民医保", "resident insurance", True, 20),
    ("离休", "retired cadre", True, 30),
    ("工伤保险", "work injury insurance", True, 40),
    ("生育保险", "maternity insurance", True, 50),
    ("自费", "self-pay", False, 90),
]


def create_types(apps, schema_editor):
    InsuranceType = apps.get_model("billing", "InsuranceType")
    Encounter = apps.get_model("billing", "Encounter")
    for name, name_en, insured, order in INITIAL_TYPES:
        InsuranceType.objects.get_or_create(
            name=name, defaults={"name_en": name_en, "insured": insured, "sort_order": order}
        )
    # A name an existing encounter holds stays valid (insured, as all but 自费 were).
    held = Encounter.objects.values_list("insurance_type", flat=True).distinct()
    for name in held:
        InsuranceType.objects.get_or_create(name=name, defaults={"insured": True})


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0009_protected_rows'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='InsuranceType',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=32, unique=True, verbose_name='名称 / name')),
                ('name_en', models.CharField(blank=True, max_length=64, verbose_name='英文名称 / English name')),
                ('insured', models.BooleanField(default=True, help_text='基金支付则勾选；不勾选即自费患者 / Ticked when a fund pays; else self-pay', verbose_name='医保支付 / insured')),
                ('is_active', models.BooleanField(default=True, verbose_name='在用 / active')),
                ('sort_order', models.PositiveSmallIntegerField(default=100, verbose_name='排序 / order')),
            ],
            options={
                'verbose_name': '医保类型 / insurance type',
                'verbose_name_plural': '医保类型 / insurance types',
                'ordering': ['sort_order', 'name'],
            },
        ),
        migrations.AlterField(
            model_name='encounter',
            name='insurance_type',
            field=models.CharField(default='职工医保', max_length=32, verbose_name='医保类型 / insurance type'),
        ),
        migrations.AlterField(
            model_name='historicalencounter',
            name='insurance_type',
            field=models.CharField(default='职工医保', max_length=32, verbose_name='医保类型 / insurance type'),
        ),
        migrations.RunPython(create_types, migrations.RunPython.noop),
        migrations.CreateModel(
            name='HistoricalInsuranceType',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('name', models.CharField(db_index=True, max_length=32, verbose_name='名称 / name')),
                ('name_en', models.CharField(blank=True, max_length=64, verbose_name='英文名称 / English name')),
                ('insured', models.BooleanField(default=True, help_text='基金支付则勾选；不勾选即自费患者 / Ticked when a fund pays; else self-pay', verbose_name='医保支付 / insured')),
                ('is_active', models.BooleanField(default=True, verbose_name='在用 / active')),
                ('sort_order', models.PositiveSmallIntegerField(default=100, verbose_name='排序 / order')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical 医保类型 / insurance type',
                'verbose_name_plural': 'historical 医保类型 / insurance types',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
    ]
