"""A supplier product's supplier becomes a real foreign key to ``organisation.Supplier``
(by its code: the column ``supplier_code`` and its values stay as they are). A product whose
code names no supplier gets an inactive supplier of that code first, so no row is lost."""

import django.db.models.deletion
from django.db import migrations, models


def suppliers_for_every_product(apps, schema_editor):
    Supplier = apps.get_model("organisation", "Supplier")
    SupplierProduct = apps.get_model("consumables", "SupplierProduct")
    codes = set(SupplierProduct.objects.order_by().values_list("supplier", flat=True).distinct())
    known = set(Supplier.objects.filter(code__in=codes).values_list("code", flat=True))
    Supplier.objects.bulk_create(
        Supplier(code=code, name=code, is_active=False) for code in sorted(codes - known)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("consumables", "0008_submission_insurance_terms"),
        ("organisation", "0001_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="supplierproduct", name="uniq_supplier_product"),
        migrations.RemoveIndex(model_name="supplierproduct", name="supplier_product_code_idx"),
        migrations.AlterField(
            model_name="supplierproduct",
            name="supplier_code",
            field=models.CharField(db_column="supplier_code", max_length=32),
        ),
        migrations.RenameField(
            model_name="supplierproduct", old_name="supplier_code", new_name="supplier"
        ),
        migrations.AlterField(
            model_name="historicalsupplierproduct",
            name="supplier_code",
            field=models.CharField(db_column="supplier_code", max_length=32),
        ),
        migrations.RenameField(
            model_name="historicalsupplierproduct", old_name="supplier_code", new_name="supplier"
        ),
        migrations.RunPython(suppliers_for_every_product, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="supplierproduct",
            name="supplier",
            field=models.ForeignKey(
                db_column="supplier_code",
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="products",
                to="organisation.supplier",
                to_field="code",
                verbose_name="供应商 / supplier",
            ),
        ),
        migrations.AlterField(
            model_name="historicalsupplierproduct",
            name="supplier",
            field=models.ForeignKey(
                blank=True,
                db_column="supplier_code",
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="organisation.supplier",
                to_field="code",
                verbose_name="供应商 / supplier",
            ),
        ),
        migrations.AlterModelOptions(
            name="supplierproduct",
            options={
                "ordering": ["supplier_id", "consumable__material_code"],
                "verbose_name": "供应商供货品种 / supplier product",
                "verbose_name_plural": "供应商供货品种 / supplier products",
            },
        ),
        migrations.AddConstraint(
            model_name="supplierproduct",
            constraint=models.UniqueConstraint(
                fields=("supplier", "consumable"), name="uniq_supplier_product"
            ),
        ),
        migrations.AddIndex(
            model_name="supplierproduct",
            index=models.Index(fields=["supplier"], name="supplier_product_code_idx"),
        ),
    ]
