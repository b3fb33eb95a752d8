"""Five codes in one: the database refuses a second live consumable with the same code."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from consumables.models import DeviceIdentifier, PriceVersion
from tests.factories import ConsumableFactory, DeviceIdentifierFactory, PriceVersionFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("field", ["charge_code", "order_code", "insurance_code"])
def test_database_refuses_second_live_consumable_with_same_code(field):
    first = ConsumableFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsumableFactory(**{field: getattr(first, field)})


def test_database_refuses_second_consumable_with_same_material_code():
    first = ConsumableFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsumableFactory(material_code=first.material_code)


def test_database_refuses_same_di_on_two_live_package_levels():
    first = DeviceIdentifierFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        DeviceIdentifierFactory(udi_di=first.udi_di)


@pytest.mark.parametrize("field", ["charge_code", "order_code", "insurance_code"])
def test_retired_consumable_frees_its_code(field):
    first = ConsumableFactory(is_active=False)
    second = ConsumableFactory(**{field: getattr(first, field)})
    assert getattr(second, field) == getattr(first, field)


def test_retired_di_can_be_reused():
    first = DeviceIdentifierFactory(is_active=False)
    DeviceIdentifierFactory(udi_di=first.udi_di)
    assert DeviceIdentifier.objects.filter(udi_di=first.udi_di).count() == 2


def test_missing_codes_do_not_collide():
    ConsumableFactory(charge_code=None, order_code=None, insurance_code=None)
    ConsumableFactory(charge_code=None, order_code=None, insurance_code=None)


def test_empty_string_code_is_refused_by_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsumableFactory(charge_code="")


def test_package_of_zero_units_is_refused_by_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        DeviceIdentifierFactory(units_per_package=0)


@pytest.mark.parametrize("code", ["C0201010000100000001", "C0201010000100000001" + "1234567"])
def test_valid_insurance_codes_pass_model_validation(code):
    consumable = ConsumableFactory.build(insurance_code=code)
    consumable.clean()


@pytest.mark.parametrize(
    "code",
    ["C02010100001000000", "X0201010000100000001", "C02010100001000000AB", "c0201010000100000001"],
)
def test_malformed_insurance_code_fails_model_validation(code):
    consumable = ConsumableFactory.build(insurance_code=code)
    with pytest.raises(ValidationError) as info:
        consumable.clean()
    assert "insurance_code" in info.value.message_dict


def test_database_refuses_price_version_approved_by_its_proposer(user):
    with pytest.raises(IntegrityError), transaction.atomic():
        PriceVersionFactory(origin=PriceVersion.Origin.PROPOSAL, proposed_by=user, decided_by=user)


def test_change_to_consumable_is_kept_in_history(user):
    consumable = ConsumableFactory(name="旧名称")
    consumable.name = "新名称"
    consumable._history_user = user
    consumable.save()
    records = list(consumable.history.order_by("history_date"))
    assert [r.name for r in records] == ["旧名称", "新名称"]
    assert records[-1].history_user == user
    delta = records[-1].diff_against(records[0])
    assert [(c.field, c.old, c.new) for c in delta.changes] == [("name", "旧名称", "新名称")]
