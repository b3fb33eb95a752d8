"""An item's insurance class (医保支付 / 限定支付 / 自费) and its payment restriction change only
under the two-person review of a mapping change, and one rule refuses a restricted item
without its condition (consumables.insurance), in the review, the model and submissions."""

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.test import Client

from config import roles
from config.errors import DomainError
from consumables.insurance import (
    INSURANCE_CLASSES,
    checked_insurance_terms,
    insurance_terms_problem,
)
from consumables.mappings.services import mapping_change_approve, mapping_change_propose
from consumables.models import Consumable, MappingChange
from tests.factories import ConsumableFactory

pytestmark = pytest.mark.django_db

CONDITION = "限支架植入术中使用，每次住院限 3 个"


def test_the_rules_classes_are_the_models():
    assert set(INSURANCE_CLASSES) == set(Consumable.InsuranceClass.values)


@pytest.mark.parametrize(
    ("insurance_class", "restriction", "field"),
    [
        ("restricted", "", "insurance_restriction"),
        ("restricted", "   ", "insurance_restriction"),
        ("covered", CONDITION, "insurance_restriction"),
        ("self_pay", CONDITION, "insurance_restriction"),
        ("restricted", "限" * 301, "insurance_restriction"),
        ("甲类", "", "insurance_class"),
        ("", "", "insurance_class"),
    ],
)
def test_the_rule_refuses(insurance_class, restriction, field):
    problem = insurance_terms_problem(insurance_class, restriction)
    assert problem is not None and problem.field == field
    with pytest.raises(DomainError) as refused:
        checked_insurance_terms(insurance_class, restriction)
    assert (refused.value.code, refused.value.http_status) == ("VALIDATION_ERROR", 400)
    assert refused.value.detail == {"field": field}


@pytest.mark.parametrize(
    ("insurance_class", "restriction"),
    [("covered", ""), ("self_pay", ""), ("restricted", f"  {CONDITION} ")],
)
def test_the_rule_accepts(insurance_class, restriction):
    assert insurance_terms_problem(insurance_class, restriction) is None
    assert checked_insurance_terms(insurance_class, restriction) == (
        insurance_class, restriction.strip(),
    )  # fmt: skip


def test_the_model_refuses_a_restricted_item_without_its_condition():
    item = ConsumableFactory()
    item.insurance_class = Consumable.InsuranceClass.RESTRICTED
    with pytest.raises(ValidationError) as refused:
        item.full_clean()
    assert "insurance_restriction" in refused.value.message_dict


# -- through the review ---------------------------------------------------------------------


@pytest.fixture
def item():
    return ConsumableFactory(material_code="WZ-STENT", name="冠脉支架")


def terms_of(item):
    item.refresh_from_db()
    return item.insurance_class, item.insurance_restriction


def propose(item, user, **terms):
    return mapping_change_propose(
        consumable=item, reason="医保目录调整为限定支付", proposed_by=user, **terms
    )


def test_a_new_class_is_a_proposal_applied_only_on_a_second_persons_approval(
    item, user, other_user
):
    change = propose(item, user, insurance_class="restricted", insurance_restriction=CONDITION)

    assert terms_of(item) == ("covered", "")
    assert change.changes == {
        "insurance_class": {"from": "covered", "to": "restricted"},
        "insurance_restriction": {"from": "", "to": CONDITION},
    }
    with pytest.raises(DomainError) as refused:
        mapping_change_approve(change=change, approver=user)
    assert refused.value.code == "SELF_APPROVAL"
    assert terms_of(item) == ("covered", "")

    mapping_change_approve(change=change, approver=other_user, note="与医保目录一致")

    assert terms_of(item) == ("restricted", CONDITION)
    latest = item.history.order_by("-history_date", "-history_id").first()
    assert latest.history_user == other_user
    assert f"#{change.pk}" in latest.history_change_reason
    assert MappingChange.objects.get().status == "approved"


def test_a_restricted_class_without_its_condition_is_refused(item, user):
    with pytest.raises(DomainError) as refused:
        propose(item, user, insurance_class="restricted")
    assert refused.value.code == "VALIDATION_ERROR"
    assert refused.value.detail == {"field": "insurance_restriction"}
    assert not MappingChange.objects.exists()


def test_leaving_the_restricted_class_clears_the_condition(user, other_user):
    item = ConsumableFactory(insurance_class="restricted", insurance_restriction=CONDITION)
    change = propose(item, user, insurance_class="self_pay")
    mapping_change_approve(change=change, approver=other_user)
    assert terms_of(item) == ("self_pay", "")


def test_same_terms_are_nothing_to_change(item, user):
    with pytest.raises(DomainError) as refused:
        propose(item, user, insurance_class="covered", insurance_restriction="")
    assert refused.value.code == "NOTHING_TO_CHANGE"


def test_approval_refuses_terms_changed_since_the_proposal(item, user, other_user):
    first = propose(item, user, insurance_class="self_pay")
    second = propose(item, user, insurance_class="restricted", insurance_restriction=CONDITION)
    mapping_change_approve(change=first, approver=other_user)
    with pytest.raises(DomainError) as refused:
        mapping_change_approve(change=second, approver=other_user)
    assert refused.value.code == "MAPPING_STALE"
    assert terms_of(item) == ("self_pay", "")


# -- through the mapping pages and the mapping-change admin ----------------------------------


def page_of(username, role=roles.PROCUREMENT):
    user = User.objects.create_user(username, password="pw-123456!", first_name=username)
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client = Client()
    client.force_login(user)
    return client


def test_the_mapping_page_proposes_a_class_and_shows_it_for_review(item):
    first, second = page_of("cg01"), page_of("cg02")
    form = first.get(f"/master/mappings/new/?material_code={item.material_code}")
    assert 'name="insurance_class"' in form.content.decode()

    response = first.post(
        f"/master/mappings/new/?material_code={item.material_code}",
        {"charge_code": item.charge_code, "order_code": item.order_code or "",
         "insurance_code": item.insurance_code or "", "insurance_class": "restricted",
         "insurance_restriction": CONDITION, "reason": "医保目录：限定支付"},
    )  # fmt: skip

    change = MappingChange.objects.get()
    assert response["Location"] == f"/master/mappings/{change.pk}/"
    listed = second.get("/master/mappings/").content.decode()
    assert "医保支付类别 医保支付 / covered → 限定支付 / restricted" in listed
    second.post(f"/master/mappings/{change.pk}/", {"action": "approve"})
    assert terms_of(item) == ("restricted", CONDITION)


def test_the_mapping_page_refuses_restricted_without_a_condition(item):
    response = page_of("cg01").post(
        f"/master/mappings/new/?material_code={item.material_code}",
        {"charge_code": item.charge_code, "insurance_class": "restricted",
         "insurance_restriction": "", "reason": "x"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "限定支付的耗材须填写限定支付条件" in response.content.decode()
    assert not MappingChange.objects.exists()


def test_a_class_proposed_in_the_mapping_change_admin_is_only_a_proposal(admin_client, item):
    refused = admin_client.post(
        "/admin/consumables/mappingchange/add/",
        {"consumable": item.pk, "insurance_class": "restricted", "reason": "后台提出"},
    )
    assert refused.status_code == 200 and not MappingChange.objects.exists()

    response = admin_client.post(
        "/admin/consumables/mappingchange/add/",
        {"consumable": item.pk, "insurance_class": "restricted",
         "insurance_restriction": CONDITION, "reason": "后台提出"},
    )  # fmt: skip

    assert response.status_code == 302
    assert MappingChange.objects.get().changes["insurance_class"] == {
        "from": "covered", "to": "restricted",
    }  # fmt: skip
    assert terms_of(item) == ("covered", "")
