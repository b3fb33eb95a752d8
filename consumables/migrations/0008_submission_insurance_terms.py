# Supplier submissions state the item's insurance class and payment restriction (限定支付条件).

from django.db import migrations, models


def _fields():
    return [
        (
            "insurance_class",
            models.CharField(
                blank=True,
                choices=[
                    ("covered", "医保支付 / covered"),
                    ("restricted", "限定支付 / restricted"),
                    ("self_pay", "自费 / self-pay"),
                ],
                max_length=10,
                verbose_name="医保支付类别 / insurance class",
            ),
        ),
        (
            "restriction",
            models.CharField(
                blank=True, max_length=300, verbose_name="限定支付条件 / payment restriction"
            ),
        ),
    ]


class Migration(migrations.Migration):

    dependencies = [
        ("consumables", "0007_nonchargeable_prices_staged_suppliers"),
    ]

    operations = [
        migrations.AddField(model_name=model, name=name, field=field)
        for model in ("suppliersubmission", "historicalsuppliersubmission")
        for name, field in _fields()
    ]
