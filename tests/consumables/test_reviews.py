"""One review workflow for mapping changes, supplier submissions and price versions: the same
rules hold for each kind, through each kind's own service."""

from types import SimpleNamespace

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import DomainError
from consumables.mappings.services import (
    mapping_change_approve,
    mapping_change_propose,
    mapping_change_reject,
)
from consumables.models import MappingChange, PriceVersion, SupplierSubmission
from consumables.services import price_version_approve, price_version_propose, price_version_reject
from consumables.submissions.services import (
    submission_approve,
    submission_create,
    submission_reject,
    supplier_product_assign,
)
from organisation.models import Supplier
from tests.factories import ConsumableFactory, insurance_code

pytestmark = pytest.mark.django_db


def _mapping(proposer):
    item = ConsumableFactory(charge_code="JF1")
    return mapping_change_propose(
        consumable=item, codes={"charge_code": "JF1-NEW"}, reason="目录调整", proposed_by=proposer
    )


def _submission(proposer):
    Supplier.objects.create(code="GYS01", name="四川甲医疗器械有限公司").users.add(proposer)
    item = ConsumableFactory(insurance_code=None)
    supplier_product_assign(supplier_code="GYS01", consumable=item, user=proposer)
    return submission_create(
        user=proposer, consumable_id=item.pk, insurance_code=insurance_code(7),
        registration_no="国械注准20243140001", dis=[],
    )  # fmt: skip


def _price(proposer):
    return price_version_propose(
        consumable=ConsumableFactory(), purchase_price="10", charge_price="10",
        effective_from=timezone.now(), reason="调价", proposed_by=proposer,
    )  # fmt: skip


KINDS = {
    "mapping_change": SimpleNamespace(
        model=MappingChange, propose=_mapping, not_pending="MAPPING_CHANGE_NOT_PENDING",
        approve=lambda r, u, why="": mapping_change_approve(change=r, approver=u, note=why),
        reject=lambda r, u, why: mapping_change_reject(change=r, approver=u, note=why),
    ),
    "supplier_submission": SimpleNamespace(
        model=SupplierSubmission, propose=_submission, not_pending="SUBMISSION_NOT_PENDING",
        approve=lambda r, u, why="": submission_approve(submission=r, reviewer=u, note=why),
        reject=lambda r, u, why: submission_reject(submission=r, reviewer=u, reason=why),
    ),
    "price_version": SimpleNamespace(
        model=PriceVersion, propose=_price, not_pending="PRICE_VERSION_NOT_PENDING",
        approve=lambda r, u, why="": price_version_approve(version=r, approver=u, note=why),
        reject=lambda r, u, why: price_version_reject(version=r, approver=u, note=why),
    ),
}  # fmt: skip


@pytest.fixture(params=KINDS.values(), ids=KINDS.keys())
def kind(request):
    return request.param


def refusal(call) -> str:
    with pytest.raises(DomainError) as refused:
        call()
    return refused.value.code


def test_the_proposer_can_neither_approve_nor_reject(kind, user):
    record = kind.propose(user)
    assert refusal(lambda: kind.approve(record, user)) == "SELF_APPROVAL"
    assert refusal(lambda: kind.reject(record, user, "撤回")) == "SELF_APPROVAL"
    record.refresh_from_db()
    assert record.status == kind.model.Status.PROPOSED


def test_a_rejection_needs_a_reason_and_names_its_decider(kind, user, other_user):
    record = kind.propose(user)
    assert refusal(lambda: kind.reject(record, other_user, "  ")) == "VALIDATION_ERROR"
    rejected = kind.reject(record, other_user, " 依据不足 ")
    record.refresh_from_db()
    assert (record.status, record.decided_by, record.decision_reason) == (
        "rejected", other_user, "依据不足"
    )
    assert record.decided_at == rejected.decided_at is not None
    assert [h.history_user for h in record.history.order_by("history_date")] == [
        user, other_user
    ]


def test_a_record_is_decided_once(kind, user, other_user):
    record = kind.propose(user)
    kind.approve(record, other_user, "核对无误")
    record.refresh_from_db()
    assert (record.status, record.decided_by, record.decision_reason) == (
        "approved", other_user, "核对无误"
    )
    assert refusal(lambda: kind.reject(record, other_user, "再看看")) == kind.not_pending
    assert refusal(lambda: kind.approve(record, other_user)) == kind.not_pending


def test_the_database_refuses_an_approval_by_the_proposer(kind, user):
    record = kind.propose(user)
    with pytest.raises(IntegrityError), transaction.atomic():
        kind.model.objects.filter(pk=record.pk).update(
            status="approved", decided_by=user, decided_at=timezone.now()
        )
