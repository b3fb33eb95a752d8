"""factory_boy factories for the domain models."""

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from consumables.models import Consumable, DeviceIdentifier, ExternalPrice, PriceVersion
from consumables.udi import gtin_check_digit
from organisation.models import Department


def gtin14(n: int) -> str:
    body = f"0690{n:09d}"
    return body + gtin_check_digit(body)


def insurance_code(n: int) -> str:
    return f"C{14010100000:011d}{n:08d}"


class ConsumableFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consumable

    material_code = factory.Sequence(lambda n: f"WZ{n:08d}")
    name = factory.Sequence(lambda n: f"一次性使用无菌注射器 {n}")
    spec = "5ml"
    unit = "支"
    manufacturer = "测试医疗器械有限公司"
    value_class = Consumable.ValueClass.LOW
    tracking = Consumable.Tracking.LOT
    chargeable = True
    billed_by = Consumable.BilledBy.SCAN
    charge_code = factory.Sequence(lambda n: f"JF{n:08d}")
    order_code = factory.Sequence(lambda n: f"YZ{n:08d}")
    insurance_code = factory.Sequence(insurance_code)


class DeviceIdentifierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeviceIdentifier

    consumable = factory.SubFactory(ConsumableFactory)
    udi_di = factory.Sequence(gtin14)
    issuer = DeviceIdentifier.Issuer.GS1
    units_per_package = 1
    package_level = "最小销售单元"


class ExternalPriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExternalPrice

    consumable = factory.SubFactory(ConsumableFactory)
    kind = ExternalPrice.Kind.PLATFORM
    price = Decimal("12.5000")
    effective_from = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=30))


class PriceVersionFactory(factory.django.DjangoModelFactory):
    """An approved initial-load version unless told otherwise."""

    class Meta:
        model = PriceVersion

    consumable = factory.SubFactory(ConsumableFactory)
    purchase_price = Decimal("10.0000")
    charge_price = Decimal("10.0000")
    effective_from = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=30))
    status = PriceVersion.Status.APPROVED
    origin = PriceVersion.Origin.INITIAL_LOAD


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    code = factory.Sequence(lambda n: f"D{n:03d}")
    name = factory.Sequence(lambda n: f"病区{n}")
    kind = Department.Kind.WARD
