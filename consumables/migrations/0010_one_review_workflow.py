"""One review workflow (``consumables.reviews``): mapping changes, supplier submissions and
price versions share one field vocabulary (status, proposed_by, proposed_at, decided_by,
decided_at, decision_reason). Fields are renamed, so every row and its history is kept; the
database's decider-is-not-the-proposer check is recreated for all three under one name."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

RENAMES = [
    ("suppliersubmission", "submitted_by", "proposed_by"),
    ("suppliersubmission", "submitted_at", "proposed_at"),
    ("suppliersubmission", "reviewed_by", "decided_by"),
    ("suppliersubmission", "reviewed_at", "decided_at"),
    ("mappingchange", "decision_note", "decision_reason"),
    ("priceversion", "decision_note", "decision_reason"),
]


class Migration(migrations.Migration):

    dependencies = [
        ("consumables", "0009_supplier_product_supplier_fk"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="mappingchange", name="mapping_decider_not_proposer"
        ),
        migrations.RemoveConstraint(
            model_name="suppliersubmission", name="submission_reviewer_not_submitter"
        ),
        migrations.RemoveConstraint(
            model_name="priceversion", name="price_approver_not_proposer"
        ),
        # Rebuilt on the renamed column below (SQLite remakes the table on a rename and
        # would rebuild them on the old name).
        migrations.RemoveIndex(model_name="suppliersubmission", name="submission_supplier_idx"),
        migrations.RemoveIndex(model_name="suppliersubmission", name="submission_status_idx"),
        *(
            migrations.RenameField(model_name=prefix + model, old_name=old, new_name=new)
            for model, old, new in RENAMES
            for prefix in ("", "historical")
        ),
        migrations.AlterModelOptions(
            name='suppliersubmission',
            options={'ordering': ['-proposed_at', '-pk'], 'verbose_name': '供应商提交 / supplier submission', 'verbose_name_plural': '供应商提交 / supplier submissions'},
        ),
        migrations.AlterField(
            model_name='historicalmappingchange',
            name='status',
            field=models.CharField(choices=[('proposed', '待审核 / proposed'), ('approved', '已批准 / approved'), ('rejected', '已驳回 / rejected')], default='proposed', max_length=10, verbose_name='状态 / status'),
        ),
        migrations.AlterField(
            model_name='historicalpriceversion',
            name='decided_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='审核时间 / decided at'),
        ),
        migrations.AlterField(
            model_name='historicalpriceversion',
            name='decided_by',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='审核人 / decided by'),
        ),
        migrations.AlterField(
            model_name='historicalpriceversion',
            name='decision_reason',
            field=models.CharField(blank=True, max_length=500, verbose_name='审核意见 / decision note'),
        ),
        migrations.AlterField(
            model_name='historicalpriceversion',
            name='proposed_at',
            field=models.DateTimeField(blank=True, editable=False, verbose_name='申请时间 / proposed at'),
        ),
        migrations.AlterField(
            model_name='historicalpriceversion',
            name='proposed_by',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='申请人 / proposed by'),
        ),
        migrations.AlterField(
            model_name='historicalpriceversion',
            name='status',
            field=models.CharField(choices=[('proposed', '待审核 / proposed'), ('approved', '已批准 / approved'), ('rejected', '已驳回 / rejected')], default='proposed', max_length=10, verbose_name='状态 / status'),
        ),
        migrations.AlterField(
            model_name='historicalsuppliersubmission',
            name='decided_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='审核时间 / decided at'),
        ),
        migrations.AlterField(
            model_name='historicalsuppliersubmission',
            name='decided_by',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='审核人 / decided by'),
        ),
        migrations.AlterField(
            model_name='historicalsuppliersubmission',
            name='decision_reason',
            field=models.CharField(blank=True, max_length=500, verbose_name='审核意见 / decision note'),
        ),
        migrations.AlterField(
            model_name='historicalsuppliersubmission',
            name='proposed_at',
            field=models.DateTimeField(blank=True, editable=False, verbose_name='申请时间 / proposed at'),
        ),
        migrations.AlterField(
            model_name='historicalsuppliersubmission',
            name='proposed_by',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='申请人 / proposed by'),
        ),
        migrations.AlterField(
            model_name='mappingchange',
            name='status',
            field=models.CharField(choices=[('proposed', '待审核 / proposed'), ('approved', '已批准 / approved'), ('rejected', '已驳回 / rejected')], default='proposed', max_length=10, verbose_name='状态 / status'),
        ),
        migrations.AlterField(
            model_name='priceversion',
            name='decided_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='审核时间 / decided at'),
        ),
        migrations.AlterField(
            model_name='priceversion',
            name='decided_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='审核人 / decided by'),
        ),
        migrations.AlterField(
            model_name='priceversion',
            name='decision_reason',
            field=models.CharField(blank=True, max_length=500, verbose_name='审核意见 / decision note'),
        ),
        migrations.AlterField(
            model_name='priceversion',
            name='proposed_at',
            field=models.DateTimeField(auto_now_add=True, verbose_name='申请时间 / proposed at'),
        ),
        migrations.AlterField(
            model_name='priceversion',
            name='proposed_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='申请人 / proposed by'),
        ),
        migrations.AlterField(
            model_name='priceversion',
            name='status',
            field=models.CharField(choices=[('proposed', '待审核 / proposed'), ('approved', '已批准 / approved'), ('rejected', '已驳回 / rejected')], default='proposed', max_length=10, verbose_name='状态 / status'),
        ),
        migrations.AlterField(
            model_name='suppliersubmission',
            name='decided_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='审核时间 / decided at'),
        ),
        migrations.AlterField(
            model_name='suppliersubmission',
            name='decided_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='审核人 / decided by'),
        ),
        migrations.AlterField(
            model_name='suppliersubmission',
            name='decision_reason',
            field=models.CharField(blank=True, max_length=500, verbose_name='审核意见 / decision note'),
        ),
        migrations.AlterField(
            model_name='suppliersubmission',
            name='proposed_at',
            field=models.DateTimeField(auto_now_add=True, verbose_name='申请时间 / proposed at'),
        ),
        migrations.AlterField(
            model_name='suppliersubmission',
            name='proposed_by',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='申请人 / proposed by'),
        ),
        migrations.AddConstraint(
            model_name='mappingchange',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status__in', ('approved', 'rejected')), _negated=True), models.Q(('decided_by__isnull', False), ('proposed_by__isnull', False), models.Q(('decided_by', models.F('proposed_by')), _negated=True)), _connector='OR'), name='mapping_change_decider_not_proposer'),
        ),
        migrations.AddConstraint(
            model_name='priceversion',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status__in', ['approved']), _negated=True), models.Q(('decided_by__isnull', False), ('proposed_by__isnull', False), models.Q(('decided_by', models.F('proposed_by')), _negated=True)), ('origin', 'initial_load'), _connector='OR'), name='price_version_decider_not_proposer'),
        ),
        migrations.AddConstraint(
            model_name='suppliersubmission',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status__in', ('approved', 'rejected')), _negated=True), models.Q(('decided_by__isnull', False), ('proposed_by__isnull', False), models.Q(('decided_by', models.F('proposed_by')), _negated=True)), _connector='OR'), name='supplier_submission_decider_not_proposer'),
        ),
        migrations.AddIndex(
            model_name="suppliersubmission",
            index=models.Index(
                fields=["supplier_code", "-proposed_at"], name="submission_supplier_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="suppliersubmission",
            index=models.Index(fields=["status", "-proposed_at"], name="submission_status_idx"),
        ),
    ]
