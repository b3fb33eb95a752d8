"""config.prepared: a queryset compiled once gives the rows the queryset itself gives (on
PostgreSQL; elsewhere it is built each time)."""

import datetime as dt

import pytest
from django.db import connection
from django.db.models import Exists, FilteredRelation, OuterRef, Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.prepared import PreparedQuery
from consumables.models import DeviceIdentifier, PriceVersion
from tests.factories import DeviceIdentifierFactory, PriceVersionFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def identifiers(di, at):
    """The DI ``di`` with its consumable, its price version in force at ``at`` (a relation
    filtered by a subquery), and whether it has one (an annotation)."""
    prices = PriceVersion.objects.filter(
        consumable=OuterRef("consumable_id"), effective_from__lte=at
    )
    return (
        DeviceIdentifier.objects.select_related("consumable")
        .annotate(
            price=FilteredRelation(
                "consumable__price_versions",
                condition=Q(consumable__price_versions__effective_from__lte=at),
            ),
            priced=Exists(prices),
        )
        .select_related("price")
        .filter(udi_di=di)
    )


def test_rows_are_those_of_the_queryset_with_related_rows_and_annotations():
    now = timezone.now()
    identifier = DeviceIdentifierFactory()
    version = PriceVersionFactory(
        consumable=identifier.consumable, effective_from=now - dt.timedelta(days=1)
    )
    DeviceIdentifierFactory()  # another DI: not found
    prepared = PreparedQuery(identifiers, di=str, at=dt.datetime)
    for _ in range(2):  # compiled on the first call, reused on the second
        (found,) = prepared.rows(di=identifier.udi_di, at=now)
        (expected,) = identifiers(identifier.udi_di, now)
        assert found.pk == expected.pk
        assert found.consumable == expected.consumable == identifier.consumable
        assert found.price == expected.price == version
        assert found.priced is expected.priced is True
        assert found.price.charge_price == version.charge_price
    assert prepared.rows(di=identifier.udi_di, at=now - dt.timedelta(days=2))[0].priced is False
    assert prepared.first(di="no such DI", at=now) is None


def test_a_prepared_read_is_one_statement_and_no_compiling():
    identifier = DeviceIdentifierFactory()
    prepared = PreparedQuery(identifiers, di=str, at=dt.datetime)
    prepared.rows(di=identifier.udi_di, at=timezone.now())
    with CaptureQueriesContext(connection) as captured:
        prepared.rows(di=identifier.udi_di, at=timezone.now())
    assert len(captured) == 1


def test_a_lookup_that_rewrites_its_value_is_refused():
    prepared = PreparedQuery(
        lambda name: DeviceIdentifier.objects.filter(consumable__name__contains=name), name=str
    )
    with pytest.raises(ValueError, match="name"):
        prepared.rows(name="注射器")


def test_none_is_refused_rather_than_compared_as_equal_to_null():
    prepared = PreparedQuery(lambda di: DeviceIdentifier.objects.filter(udi_di=di), di=str)
    with pytest.raises(ValueError, match="None"):
        prepared.rows(di=None)
