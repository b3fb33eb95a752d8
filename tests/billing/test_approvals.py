"""High-value use approval (高值耗材使用审批): flagged or refused without one."""

from decimal import Decimal

import pytest
from django.db.models import Sum

from billing.models import ChargeLine, Encounter, HighValueApproval, Use
from billing.services.approvals import high_value_approval_record
from config import roles
from config.errors import DomainError
from consumables.models import Consumable
from inventory.models import StockBalance, StockMove
from tests.billing.conftest import client_for, post_scan, stocked_item

pytestmark = pytest.mark.django_db

WARNING = "NO_HIGH_VALUE_APPROVAL"


def use(nurse, code, **extra):
    extra.setdefault("encounter", "ZY001")
    return post_scan(nurse, "use", code, "XNK", **extra)


def ward_stock(hospital, consumable) -> int:
    return (
        StockBalance.objects.filter(
            location__department=hospital["ward"], consumable=consumable
        ).aggregate(total=Sum("quantity"))["total"]
        or 0
    )


@pytest.fixture
def officer(db):
    return client_for("yb01", roles.INSURANCE_OFFICE).user


@pytest.fixture
def block(settings):
    settings.BILLING_HIGH_VALUE_MODE = "block"


def pacemaker(hospital, di_body="690555200001", price="38000", **fields):
    """A high-value item tracked per unit, two units on the ward."""
    fields.setdefault("value_class", Consumable.ValueClass.HIGH)
    return stocked_item(
        hospital,
        di_body,
        tracking=Consumable.Tracking.UNIT,
        serials=["SN-A", "SN-B"],
        price=price,
        **fields,
    )


def test_defaults_are_flag_mode_at_ten_thousand_yuan(settings):
    mode, threshold = settings.BILLING_HIGH_VALUE_MODE, settings.BILLING_HIGH_VALUE_THRESHOLD
    assert (mode, threshold) == ("flag", Decimal("10000"))


def test_flag_mode_records_the_use_with_the_warning(hospital):
    _, _, codes = pacemaker(hospital)
    response = use(hospital["nurse"], codes[0])
    assert response.status_code == 201, response.json()
    assert WARNING in response.json()["warnings"]
    assert response.json()["charge"]["amount"] == "38000.00"
    assert WARNING in Use.objects.get().warnings
    assert ChargeLine.objects.count() == 1


def test_price_at_the_threshold_needs_the_approval(hospital):
    _, _, (code,) = stocked_item(hospital, "690555200002", price="10000")
    assert WARNING in use(hospital["nurse"], code).json()["warnings"]


def test_block_mode_refuses_and_records_nothing(hospital, block):
    consumable, _, codes = pacemaker(hospital)
    response = use(hospital["nurse"], codes[0])
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "APPROVAL_REQUIRED"
    assert error["message"] == "该高值耗材需先在本次就诊登记使用审批"
    assert error["detail"]["material_code"] == consumable.material_code
    assert Use.objects.count() == 0
    assert ChargeLine.objects.count() == 0
    assert not StockMove.objects.filter(kind="use").exists()
    assert ward_stock(hospital, consumable) == 2


def test_recorded_approval_removes_the_warning(hospital, officer):
    consumable, _, codes = pacemaker(hospital)
    high_value_approval_record(
        encounter=hospital["encounter"], consumable=consumable, approved_by=officer, note="同意"
    )
    response = use(hospital["nurse"], codes[0])
    assert response.json()["warnings"] == ["NO_ORDER"]
    assert WARNING not in Use.objects.get().warnings


def test_recorded_approval_lets_the_use_through_in_block_mode(hospital, officer, block):
    consumable, _, codes = pacemaker(hospital)
    high_value_approval_record(
        encounter=hospital["encounter"], consumable=consumable, approved_by=officer, note=""
    )
    response = use(hospital["nurse"], codes[0])
    assert response.status_code == 201, response.json()
    assert WARNING not in response.json()["warnings"]


def test_approval_without_a_consumable_covers_every_high_value_item(hospital, officer, block):
    _, _, pacemaker_codes = pacemaker(hospital)
    _, _, (stent_code,) = stocked_item(hospital, "690555200003", price="12000")
    high_value_approval_record(encounter=hospital["encounter"], approved_by=officer, note="")
    assert use(hospital["nurse"], pacemaker_codes[0]).status_code == 201
    assert use(hospital["nurse"], stent_code).status_code == 201


def test_approval_for_one_consumable_does_not_cover_another(hospital, officer, block):
    approved, _, approved_codes = pacemaker(hospital)
    other, _, (other_code,) = stocked_item(hospital, "690555200004", price="12000")
    high_value_approval_record(
        encounter=hospital["encounter"], consumable=approved, approved_by=officer, note=""
    )
    assert use(hospital["nurse"], approved_codes[0]).status_code == 201
    refused = use(hospital["nurse"], other_code)
    assert refused.json()["error"]["code"] == "APPROVAL_REQUIRED"
    assert not Use.objects.filter(consumable=other).exists()


def test_approval_for_one_consumable_leaves_the_other_flagged(hospital, officer):
    approved, _, _ = pacemaker(hospital)
    _, _, (other_code,) = stocked_item(hospital, "690555200005", price="12000")
    high_value_approval_record(
        encounter=hospital["encounter"], consumable=approved, approved_by=officer, note=""
    )
    assert WARNING in use(hospital["nurse"], other_code).json()["warnings"]


def test_approval_on_another_encounter_does_not_count(hospital, officer, block):
    consumable, _, codes = pacemaker(hospital)
    elsewhere = Encounter.objects.create(
        visit_no="ZY002",
        patient=hospital["encounter"].patient,
        department=hospital["ward"],
        admitted_at=hospital["encounter"].admitted_at,
    )
    high_value_approval_record(
        encounter=elsewhere, consumable=consumable, approved_by=officer, note=""
    )
    assert use(hospital["nurse"], codes[0]).json()["error"]["code"] == "APPROVAL_REQUIRED"


def test_below_the_threshold_nothing_is_asked(hospital, block):
    _, _, (code,) = stocked_item(hospital, "690555200006", price="9999.99")
    response = use(hospital["nurse"], code)
    assert response.status_code == 201, response.json()
    assert WARNING not in response.json()["warnings"]


def test_threshold_is_a_setting(hospital, settings):
    settings.BILLING_HIGH_VALUE_THRESHOLD = Decimal("100")
    _, _, (code,) = stocked_item(hospital, "690555200007", price="120")
    assert WARNING in use(hospital["nurse"], code).json()["warnings"]


def test_item_keyed_in_at_his_is_checked_at_its_charge_price(hospital, block):
    _, _, (code,) = stocked_item(
        hospital, "690555200008", price="15000", billed_by=Consumable.BilledBy.HIS
    )
    assert use(hospital["nurse"], code).json()["error"]["code"] == "APPROVAL_REQUIRED"


def test_service_records_the_approver_and_time(hospital, officer):
    approval = high_value_approval_record(
        encounter=hospital["encounter"], approved_by=officer, note="  术前讨论通过 "
    )
    approval = HighValueApproval.objects.get(pk=approval.pk)
    assert approval.approved_by == officer
    assert approval.approved_at is not None
    assert approval.consumable is None
    assert approval.note == "术前讨论通过"


def test_service_refuses_an_approval_without_approver(hospital):
    with pytest.raises(DomainError) as refused:
        high_value_approval_record(encounter=hospital["encounter"], approved_by=None, note="")
    assert refused.value.code == "VALIDATION_ERROR"
    assert HighValueApproval.objects.count() == 0


def test_admin_records_the_approval_as_the_signed_in_user(hospital, admin_client, admin_user):
    consumable, _, _ = pacemaker(hospital)
    response = admin_client.post(
        "/admin/billing/highvalueapproval/add/",
        {
            "encounter": hospital["encounter"].pk,
            "consumable": consumable.pk,
            "note": "医保办审批",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    approval = HighValueApproval.objects.get()
    assert (approval.encounter, approval.consumable, approval.approved_by) == (
        hospital["encounter"],
        consumable,
        admin_user,
    )
    assert admin_client.get("/admin/billing/highvalueapproval/").status_code == 200
    change = admin_client.get(f"/admin/billing/highvalueapproval/{approval.pk}/change/")
    assert change.status_code == 200
