"""Mapping changes: one person proposes, a second approves; the live master changes only on
approval, and the history shows both."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import DomainError
from consumables.linking import checked_di
from consumables.mappings.services import (
    mapping_change_approve,
    mapping_change_propose,
    mapping_change_reject,
)
from consumables.models import Consumable, DeviceIdentifier, MappingChange
from tests.factories import ConsumableFactory, DeviceIdentifierFactory, gtin14, insurance_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def item():
    return ConsumableFactory(material_code="WZ1", charge_code="JF1", insurance_code=None)


def propose(item, user, **kwargs):
    kwargs.setdefault("codes", {"charge_code": "JF1-NEW"})
    return mapping_change_propose(
        consumable=item, reason="HIS 收费目录调整", proposed_by=user, **kwargs
    )


def test_a_proposal_changes_nothing_until_a_second_person_approves(item, user, other_user):
    change = propose(item, user)
    item.refresh_from_db()
    assert item.charge_code == "JF1"
    mapping_change_approve(change=change, approver=other_user, note="核对无误")
    item.refresh_from_db()
    assert item.charge_code == "JF1-NEW"


def test_the_proposer_cannot_approve_his_own_change(item, user):
    change = propose(item, user)
    with pytest.raises(DomainError) as refused:
        mapping_change_approve(change=change, approver=user)
    assert refused.value.code == "SELF_APPROVAL"
    item.refresh_from_db()
    assert item.charge_code == "JF1"
    assert MappingChange.objects.get().status == "proposed"


def test_the_database_refuses_a_change_decided_by_its_proposer(item, user):
    change = propose(item, user)
    with pytest.raises(IntegrityError), transaction.atomic():
        MappingChange.objects.filter(pk=change.pk).update(
            status="approved", decided_by=user, decided_at=timezone.now()
        )


def test_history_shows_the_proposer_and_the_approver(item, user, other_user):
    change = propose(item, user)
    mapping_change_approve(change=change, approver=other_user)
    records = list(change.history.order_by("history_date").values_list("status", "history_user"))
    assert records == [("proposed", user.pk), ("approved", other_user.pk)]
    last = Consumable.objects.get(pk=item.pk).history.order_by("-history_date").first()
    assert (last.charge_code, last.history_user) == ("JF1-NEW", other_user)
    assert f"#{change.pk}" in last.history_change_reason


def test_a_rejection_needs_a_reason_and_leaves_the_master_alone(item, user, other_user):
    change = propose(item, user)
    with pytest.raises(DomainError):
        mapping_change_reject(change=change, approver=other_user, note=" ")
    mapping_change_reject(change=change, approver=other_user, note="计费编码有误")
    item.refresh_from_db()
    assert item.charge_code == "JF1"
    assert MappingChange.objects.get().decision_reason == "计费编码有误"


def test_a_code_another_item_holds_is_refused_with_that_item_named(item, user):
    ConsumableFactory(material_code="WZ2", name="导尿管", charge_code="JF2")
    with pytest.raises(DomainError) as refused:
        propose(item, user, codes={"charge_code": "JF2"})
    assert refused.value.code == "CHARGE_CODE_CONFLICT"
    assert "WZ2 导尿管" in refused.value.message


def test_approval_checks_again_and_names_the_item_that_took_the_code_meanwhile(
    item, user, other_user
):
    change = propose(item, user, codes={"insurance_code": insurance_code(7)})
    ConsumableFactory(material_code="WZ9", insurance_code=insurance_code(7))
    with pytest.raises(DomainError) as refused:
        mapping_change_approve(change=change, approver=other_user)
    assert refused.value.code == "INSURANCE_CODE_CONFLICT"
    assert refused.value.detail["conflicts"][0]["material_code"] == "WZ9"
    assert MappingChange.objects.get().status == "proposed"


def test_a_change_whose_item_moved_on_is_stale(item, user, other_user):
    change = propose(item, user)
    Consumable.objects.filter(pk=item.pk).update(charge_code="JF1-OTHER")
    with pytest.raises(DomainError) as refused:
        mapping_change_approve(change=change, approver=other_user)
    assert refused.value.code == "MAPPING_STALE"


def test_dis_are_linked_and_retired_on_approval(item, user, other_user):
    old = DeviceIdentifierFactory(consumable=item, udi_di=gtin14(1))
    box = checked_di(f"(01){gtin14(2)}", 10, "中包装")
    change = propose(item, user, codes={}, add_dis=[box], retire_dis=[old.udi_di])
    mapping_change_approve(change=change, approver=other_user)
    live = DeviceIdentifier.objects.filter(consumable=item, is_active=True)
    assert list(live.values_list("udi_di", "units_per_package", "package_level")) == [
        (gtin14(2), 10, "中包装")
    ]
    assert DeviceIdentifier.objects.get(pk=old.pk).history.first().history_user == other_user


def test_clearing_a_code_is_a_change_too(item, user, other_user):
    change = propose(item, user, codes={"charge_code": None})
    mapping_change_approve(change=change, approver=other_user)
    assert Consumable.objects.get(pk=item.pk).charge_code is None


def test_a_proposal_that_changes_nothing_is_refused(item, user):
    with pytest.raises(DomainError) as refused:
        propose(item, user, codes={"charge_code": "JF1"})
    assert refused.value.code == "NOTHING_TO_CHANGE"


def test_an_invalid_insurance_code_is_refused_at_proposal(item, user):
    with pytest.raises(DomainError) as refused:
        propose(item, user, codes={"insurance_code": "C12"})
    assert refused.value.code == "INSURANCE_CODE_INVALID"


def test_a_decided_change_cannot_be_decided_again(item, user, other_user):
    change = propose(item, user)
    mapping_change_approve(change=change, approver=other_user)
    with pytest.raises(DomainError) as refused:
        mapping_change_reject(change=change, approver=other_user, note="再看看")
    assert refused.value.code == "MAPPING_CHANGE_NOT_PENDING"
