"""Concurrent decisions on PostgreSQL, with real connections: two approvals racing to link
the same DI to two items, and two people deciding the same mapping change at once."""

import threading

import pytest
from django.contrib.auth.models import Group, User
from django.db import connections

from config import roles
from config.errors import DomainError
from consumables.mappings.services import mapping_change_approve, mapping_change_propose
from consumables.models import DeviceIdentifier, MappingChange, SupplierSubmission
from consumables.submissions.services import (
    submission_approve,
    submission_create,
    supplier_product_assign,
)
from organisation.models import Supplier
from tests.factories import ConsumableFactory, gtin14

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def account(username, role):
    user = User.objects.create_user(username, password="pw-123456!")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def race(*targets):
    """Run each target in its own thread and connection, released together; each result
    is the return value or the DomainError code."""
    barrier = threading.Barrier(len(targets))
    results = [None] * len(targets)

    def run(i, target):
        try:
            barrier.wait()
            try:
                results[i] = target()
            except DomainError as error:
                results[i] = error.code
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_approvals_linking_one_di_to_two_items_link_it_once():
    buyer, reviewer_a, reviewer_b = (account(n, roles.PROCUREMENT) for n in ("c1", "c2", "c3"))
    submissions = []
    for n, code in enumerate(("GYS01", "GYS02")):
        supplier = Supplier.objects.create(code=code, name=code)
        seller = account(f"s{n}", roles.SUPPLIER)
        supplier.users.add(seller)
        item = ConsumableFactory(insurance_code=None)
        supplier_product_assign(supplier_code=code, consumable=item, user=buyer)
        submissions.append(
            submission_create(user=seller, consumable_id=item.pk, insurance_code=None,
                              registration_no="R", dis=[{"udi_di": gtin14(42)}])  # fmt: skip
        )
    results = race(
        lambda: submission_approve(submission=submissions[0], reviewer=reviewer_a).status,
        lambda: submission_approve(submission=submissions[1], reviewer=reviewer_b).status,
    )
    assert sorted(results) == ["UDI_DI_CONFLICT", "approved"]
    assert DeviceIdentifier.objects.filter(udi_di=gtin14(42), is_active=True).count() == 1
    assert SupplierSubmission.objects.filter(status="approved").count() == 1


def test_a_mapping_change_decided_twice_at_once_is_applied_once():
    proposer, first, second = (account(n, roles.PROCUREMENT) for n in ("p1", "a1", "a2"))
    item = ConsumableFactory(charge_code="JF1")
    change = mapping_change_propose(consumable=item, codes={"charge_code": "JF1-NEW"},
                                    reason="r", proposed_by=proposer)  # fmt: skip
    results = race(
        lambda: mapping_change_approve(change=change, approver=first).status,
        lambda: mapping_change_approve(change=change, approver=second).status,
    )
    assert sorted(results) == ["MAPPING_CHANGE_NOT_PENDING", "approved"]
    assert item.history.filter(charge_code="JF1-NEW").count() == 1
    assert MappingChange.objects.get().decided_by in (first, second)
