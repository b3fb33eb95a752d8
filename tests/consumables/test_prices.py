"""Four prices in one: the rule, the price in force, and two-person approval."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.errors import DomainError
from consumables.models import Consumable, ExternalPrice, PriceVersion
from consumables.prices import (
    FourPrices,
    four_price_violations,
    prices_in_force,
    with_prices_in_force,
)
from consumables.services import (
    price_version_approve,
    price_version_propose,
    price_version_reject,
)
from tests.factories import ConsumableFactory, ExternalPriceFactory, PriceVersionFactory


def codes(prices):
    return [v.code for v in four_price_violations(prices)]


def test_aligned_prices_have_no_violation():
    assert codes(FourPrices(D("100"), D("80"), D("80"), D("80"))) == []


def test_charge_above_purchase_breaks_zero_markup():
    assert codes(FourPrices(D("100"), None, D("80"), D("85"))) == ["CHARGE_NE_PURCHASE"]


def test_purchase_must_equal_vbp_price_when_in_programme():
    assert codes(FourPrices(D("100"), D("70"), D("80"), D("80"))) == ["PURCHASE_NE_VBP"]


def test_purchase_above_platform_price_is_a_violation():
    assert codes(FourPrices(D("75"), None, D("80"), D("80"))) == ["PURCHASE_ABOVE_PLATFORM"]


def test_several_violations_are_all_reported():
    assert codes(FourPrices(D("75"), D("70"), D("80"), D("90"))) == [
        "CHARGE_NE_PURCHASE",
        "PURCHASE_NE_VBP",
        "PURCHASE_ABOVE_PLATFORM",
    ]


def test_missing_hospital_price_is_reported():
    assert codes(FourPrices(D("75"), None, None, None)) == ["NO_APPROVED_PRICE"]


@pytest.mark.django_db
def test_price_in_force_follows_effective_dates():
    now = timezone.now()
    item = ConsumableFactory()
    PriceVersionFactory(
        consumable=item,
        purchase_price=D("10"),
        charge_price=D("10"),
        effective_from=now - dt.timedelta(days=10),
    )
    PriceVersionFactory(
        consumable=item,
        purchase_price=D("9"),
        charge_price=D("9"),
        effective_from=now - dt.timedelta(days=2),
    )
    PriceVersionFactory(
        consumable=item,
        purchase_price=D("8"),
        charge_price=D("8"),
        effective_from=now + dt.timedelta(days=2),
    )
    PriceVersionFactory(
        consumable=item,
        purchase_price=D("1"),
        charge_price=D("1"),
        effective_from=now - dt.timedelta(days=1),
        status=PriceVersion.Status.REJECTED,
        origin=PriceVersion.Origin.PROPOSAL,
    )
    ExternalPriceFactory(consumable=item, price=D("12"), effective_from=now - dt.timedelta(days=9))
    ExternalPriceFactory(
        consumable=item,
        kind=ExternalPrice.Kind.VBP,
        price=D("9"),
        effective_from=now - dt.timedelta(days=3),
    )

    assert prices_in_force(item.pk, now - dt.timedelta(days=5)) == FourPrices(
        D("12"), None, D("10"), D("10")
    )
    assert prices_in_force(item.pk, now) == FourPrices(D("12"), D("9"), D("9"), D("9"))
    assert prices_in_force(item.pk, now + dt.timedelta(days=3)).charge == D("8")


@pytest.mark.django_db
def test_prices_in_force_of_many_consumables_is_one_query():
    for _ in range(20):
        PriceVersionFactory(consumable=ExternalPriceFactory().consumable)
    with CaptureQueriesContext(connection) as ctx:
        rows = list(with_prices_in_force(Consumable.objects.all(), timezone.now()))
    assert len(ctx.captured_queries) == 1
    assert all(r.charge_price == D("10") and r.platform_price == D("12.5") for r in rows)


@pytest.fixture
def listed_item():
    item = ConsumableFactory()
    ExternalPriceFactory(consumable=item, price=D("100"))
    PriceVersionFactory(consumable=item, purchase_price=D("90"), charge_price=D("90"))
    return item


def propose(item, who, purchase="95", charge="95", when=None):
    return price_version_propose(
        consumable=item,
        purchase_price=purchase,
        charge_price=charge,
        effective_from=when or timezone.now(),
        reason="供应商调价",
        proposed_by=who,
    )


@pytest.mark.django_db
def test_proposal_does_not_change_price_in_force(listed_item, user):
    propose(listed_item, user)
    assert prices_in_force(listed_item.pk, timezone.now()).charge == D("90")


@pytest.mark.django_db
def test_approval_by_its_own_proposer_is_refused(listed_item, user):
    version = propose(listed_item, user)
    with pytest.raises(DomainError) as info:
        price_version_approve(version=version, approver=user)
    assert info.value.code == "SELF_APPROVAL"
    version.refresh_from_db()
    assert version.status == PriceVersion.Status.PROPOSED
    assert prices_in_force(listed_item.pk, timezone.now()).charge == D("90")


@pytest.mark.django_db
def test_approval_by_second_person_puts_price_in_force(listed_item, user, other_user):
    version = propose(listed_item, user)
    price_version_approve(version=version, approver=other_user)
    version.refresh_from_db()
    assert version.status == PriceVersion.Status.APPROVED
    assert version.decided_by == other_user
    assert prices_in_force(listed_item.pk, timezone.now()).charge == D("95")


@pytest.mark.django_db
def test_approval_breaking_four_price_rule_is_refused(listed_item, user, other_user):
    version = propose(listed_item, user, purchase="95", charge="99")
    with pytest.raises(DomainError) as info:
        price_version_approve(version=version, approver=other_user)
    assert info.value.code == "FOUR_PRICE_VIOLATION"
    assert [v["code"] for v in info.value.detail["violations"]] == ["CHARGE_NE_PURCHASE"]
    version.refresh_from_db()
    assert version.status == PriceVersion.Status.PROPOSED


@pytest.mark.django_db
def test_approval_is_checked_against_platform_price_in_force_when_it_takes_effect(
    listed_item, user, other_user
):
    takes_effect = timezone.now() + dt.timedelta(days=10)
    ExternalPriceFactory(
        consumable=listed_item, price=D("92"), effective_from=takes_effect - dt.timedelta(days=1)
    )
    version = propose(listed_item, user, when=takes_effect)
    with pytest.raises(DomainError) as info:
        price_version_approve(version=version, approver=other_user)
    assert [v["code"] for v in info.value.detail["violations"]] == ["PURCHASE_ABOVE_PLATFORM"]


@pytest.mark.django_db
def test_approval_is_checked_against_vbp_price(listed_item, user, other_user):
    ExternalPriceFactory(consumable=listed_item, kind=ExternalPrice.Kind.VBP, price=D("80"))
    version = propose(listed_item, user, purchase="95", charge="95")
    with pytest.raises(DomainError) as info:
        price_version_approve(version=version, approver=other_user)
    assert [v["code"] for v in info.value.detail["violations"]] == ["PURCHASE_NE_VBP"]


@pytest.mark.django_db
def test_later_platform_change_can_break_an_approved_version(listed_item, user, other_user):
    version = propose(listed_item, user)
    price_version_approve(version=version, approver=other_user)
    ExternalPriceFactory(
        consumable=listed_item,
        price=D("93"),
        effective_from=timezone.now() + dt.timedelta(seconds=1),
    )
    later = prices_in_force(listed_item.pk, timezone.now() + dt.timedelta(days=1))
    assert [v.code for v in four_price_violations(later)] == ["PURCHASE_ABOVE_PLATFORM"]


@pytest.mark.django_db
def test_backdated_approval_takes_effect_from_the_approval_not_the_past(
    listed_item, user, other_user
):
    version = propose(listed_item, user, when=timezone.now() - dt.timedelta(days=5))
    before = timezone.now()
    price_version_approve(version=version, approver=other_user)
    version.refresh_from_db()
    assert version.effective_from >= before
    assert prices_in_force(listed_item.pk, before - dt.timedelta(days=1)).charge == D("90")


@pytest.mark.django_db
def test_decided_proposal_cannot_be_approved_again(listed_item, user, other_user):
    version = propose(listed_item, user)
    price_version_reject(version=version, approver=other_user, note="价格依据不足")
    with pytest.raises(DomainError) as info:
        price_version_approve(version=version, approver=other_user)
    assert info.value.code == "PRICE_VERSION_NOT_PENDING"


@pytest.mark.django_db
def test_negative_price_is_refused(listed_item, user):
    with pytest.raises(DomainError) as info:
        propose(listed_item, user, purchase="-1", charge="-1")
    assert info.value.code == "VALIDATION_ERROR"
