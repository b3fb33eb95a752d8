"""Supplier submissions: a supplier sees and submits only for its own products; the hospital
approves (codes linked into the live master) or returns them with a reason; conflicts are
refused with the item named; every step is in the history. Through services, pages and API."""

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from rest_framework.test import APIClient

from config import roles
from config.errors import DomainError
from consumables.models import Consumable, DeviceIdentifier, SupplierSubmission
from consumables.submissions.services import (
    submission_approve,
    submission_create,
    submission_reject,
    supplier_product_assign,
)
from organisation.models import Supplier
from tests.factories import ConsumableFactory, DeviceIdentifierFactory, gtin14, insurance_code

pytestmark = pytest.mark.django_db

PASSWORD = "pw-123456!"
INS = insurance_code(501)


def account(username, role, supplier=None):
    user = User.objects.create_user(username, password=PASSWORD, first_name=username)
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    if supplier is not None:
        supplier.users.add(user)
    return user


@pytest.fixture
def market():
    acme = Supplier.objects.create(code="GYS01", name="四川甲医疗器械有限公司")
    other = Supplier.objects.create(code="GYS02", name="成都乙医疗器械有限公司")
    buyer = account("buyer01", roles.PROCUREMENT)
    ours = ConsumableFactory(material_code="WZ1", name="留置针", insurance_code=None)
    theirs = ConsumableFactory(material_code="WZ2", name="导尿管", insurance_code=None)
    supplier_product_assign(supplier_code="GYS01", consumable=ours, user=buyer)
    supplier_product_assign(supplier_code="GYS02", consumable=theirs, user=buyer)
    return {
        "acme": account("acme01", roles.SUPPLIER, acme),
        "other": account("other01", roles.SUPPLIER, other),
        "buyer": buyer,
        "reviewer": account("buyer02", roles.PROCUREMENT),
        "ours": ours,
        "theirs": theirs,
    }


def submit(user, consumable, **kwargs):
    kwargs.setdefault("insurance_code", INS)
    kwargs.setdefault("registration_no", "国械注准20243140001")
    kwargs.setdefault(
        "dis",
        [
            {"udi_di": f"(01){gtin14(1)}", "units_per_package": 1, "package_level": "最小销售单元"},
            {"udi_di": gtin14(2), "units_per_package": 50, "package_level": "中包装"},
        ],
    )
    return submission_create(user=user, consumable_id=consumable.pk, **kwargs)


# -- services ---------------------------------------------------------------------------------


def test_approval_links_insurance_code_dis_and_registration_into_the_master(market):
    submission = submit(market["acme"], market["ours"])
    item = Consumable.objects.get(pk=market["ours"].pk)
    assert item.insurance_code is None  # nothing before review
    submission_approve(submission=submission, reviewer=market["buyer"])
    item.refresh_from_db()
    assert (item.insurance_code, item.registration_no) == (INS, "国械注准20243140001")
    assert sorted(
        item.device_identifiers.filter(is_active=True).values_list("udi_di", "units_per_package")
    ) == [(gtin14(1), 1), (gtin14(2), 50)]


def test_a_returned_submission_carries_its_reason_and_changes_nothing(market):
    submission = submit(market["acme"], market["ours"])
    with pytest.raises(DomainError):
        submission_reject(submission=submission, reviewer=market["buyer"], reason="")
    submission_reject(submission=submission, reviewer=market["buyer"], reason="注册证号与实物不符")
    submission.refresh_from_db()
    assert (submission.status, submission.decision_reason) == ("rejected", "注册证号与实物不符")
    assert not DeviceIdentifier.objects.exists()
    # The supplier may submit again once it was returned.
    assert submit(market["acme"], market["ours"]).status == "submitted"


def test_every_step_is_recorded_with_who_did_it(market):
    submission = submit(market["acme"], market["ours"])
    submission_approve(submission=submission, reviewer=market["buyer"], note="已核对注册证")
    steps = list(
        submission.history.order_by("history_date").values_list("status", "history_user")
    )
    assert steps == [("submitted", market["acme"].pk), ("approved", market["buyer"].pk)]
    linked = Consumable.objects.get(pk=market["ours"].pk).history.first()
    assert linked.history_user == market["buyer"]
    assert f"#{submission.pk}" in linked.history_change_reason


def test_a_supplier_cannot_submit_for_another_suppliers_product(market):
    with pytest.raises(DomainError) as refused:
        submit(market["acme"], market["theirs"])
    assert (refused.value.code, refused.value.http_status) == ("NOT_FOUND", 404)


def test_an_insurance_code_linked_elsewhere_is_refused_with_the_item_named(market):
    ConsumableFactory(material_code="WZ9", name="输液器", spec="成人型", insurance_code=INS)
    with pytest.raises(DomainError) as refused:
        submit(market["acme"], market["ours"])
    assert refused.value.code == "INSURANCE_CODE_CONFLICT"
    assert "WZ9 输液器 成人型" in refused.value.message


def test_a_di_linked_elsewhere_is_refused_with_the_item_named(market):
    holder = ConsumableFactory(material_code="WZ8", name="敷贴")
    DeviceIdentifierFactory(consumable=holder, udi_di=gtin14(2))
    with pytest.raises(DomainError) as refused:
        submit(market["acme"], market["ours"])
    assert refused.value.code == "UDI_DI_CONFLICT"
    assert refused.value.detail["conflicts"] == [
        {"field": "udi_di", "value": gtin14(2), "material_code": "WZ8", "name": "敷贴",
         "spec": holder.spec},
    ]  # fmt: skip


def test_approval_refuses_a_di_linked_elsewhere_since_submission(market):
    submission = submit(market["acme"], market["ours"])
    DeviceIdentifierFactory(consumable=ConsumableFactory(material_code="WZ7"), udi_di=gtin14(1))
    with pytest.raises(DomainError) as refused:
        submission_approve(submission=submission, reviewer=market["buyer"])
    assert refused.value.code == "UDI_DI_CONFLICT"
    assert SupplierSubmission.objects.get().status == "submitted"
    assert Consumable.objects.get(pk=market["ours"].pk).insurance_code is None


def test_one_submission_of_a_product_awaits_review_at_a_time(market):
    submit(market["acme"], market["ours"])
    with pytest.raises(DomainError) as refused:
        submit(market["acme"], market["ours"])
    assert refused.value.code == "SUBMISSION_PENDING"


def test_an_unreadable_di_is_refused(market):
    with pytest.raises(DomainError) as refused:
        submit(market["acme"], market["ours"], dis=[{"udi_di": "0106901234567"}])
    assert refused.value.code == "UNREADABLE_CODE"


# -- isolation through the API ------------------------------------------------------------------


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_api_lists_only_the_suppliers_own_products_and_submissions(market):
    submit(market["other"], market["theirs"], insurance_code=insurance_code(502),
           dis=[{"udi_di": gtin14(3)}])  # fmt: skip
    client = api(market["acme"])
    products = client.get("/api/v1/supplier/products").json()
    assert [p["material_code"] for p in products] == ["WZ1"]
    assert client.get("/api/v1/supplier/submissions").json() == []


def test_api_submission_of_another_suppliers_product_is_not_found(market):
    response = api(market["acme"]).post(
        "/api/v1/supplier/submissions",
        {"material_code": "WZ2", "registration_no": "X", "insurance_code": INS},
        format="json",
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert not SupplierSubmission.objects.exists()


def test_api_detail_of_another_suppliers_submission_is_not_found(market):
    theirs = submit(market["other"], market["theirs"], insurance_code=insurance_code(502),
                    dis=[])  # fmt: skip
    assert api(market["acme"]).get(f"/api/v1/supplier/submissions/{theirs.pk}").status_code == 404
    assert api(market["other"]).get(f"/api/v1/supplier/submissions/{theirs.pk}").status_code == 200


def test_api_submission_by_a_supplier(market):
    response = api(market["acme"]).post(
        "/api/v1/supplier/submissions",
        {
            "material_code": "WZ1",
            "insurance_code": INS,
            "registration_no": "国械注准20243140001",
            "dis": [{"udi_di": gtin14(1), "units_per_package": 1, "package_level": "最小销售单元"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["material_code"], body["dis"][0]["udi_di"]) == (
        "submitted", "WZ1", gtin14(1),
    )  # fmt: skip


def test_api_conflict_names_the_item(market):
    ConsumableFactory(material_code="WZ9", name="输液器", insurance_code=INS)
    response = api(market["acme"]).post(
        "/api/v1/supplier/submissions",
        {"material_code": "WZ1", "insurance_code": INS, "registration_no": "X"},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["error"]["detail"]["conflicts"][0]["material_code"] == "WZ9"


def test_hospital_staff_and_anonymous_callers_get_no_supplier_api(market):
    assert api(market["buyer"]).get("/api/v1/supplier/products").status_code == 403
    assert APIClient().get("/api/v1/supplier/products").status_code in (401, 403)


# -- isolation through the pages -----------------------------------------------------------------


def page(user):
    client = Client()
    client.force_login(user)
    return client


def test_supplier_page_shows_only_its_own_products(market):
    html = page(market["acme"]).get("/master/supplier/").content.decode()
    assert "WZ1" in html and "留置针" in html
    assert "WZ2" not in html and "导尿管" not in html


def test_supplier_page_refuses_another_suppliers_product_and_submission(market):
    theirs = submit(market["other"], market["theirs"], insurance_code=insurance_code(502),
                    dis=[])  # fmt: skip
    client = page(market["acme"])
    assert client.get(f"/master/supplier/products/{market['theirs'].pk}/").status_code == 404
    response = client.post(
        f"/master/supplier/products/{market['theirs'].pk}/",
        {"insurance_code": INS, "registration_no": "X"},
    )
    assert response.status_code == 404
    assert client.get(f"/master/supplier/submissions/{theirs.pk}/").status_code == 404
    assert SupplierSubmission.objects.count() == 1


def test_a_supplier_cannot_open_the_review_pages(market):
    assert page(market["acme"]).get("/master/submissions/").status_code == 403


def test_review_page_approves_a_submission(market):
    submission = submit(market["acme"], market["ours"])
    client = page(market["buyer"])
    assert "WZ1" in client.get("/master/submissions/").content.decode()
    response = client.post(f"/master/submissions/{submission.pk}/", {"action": "approve"})
    assert response.status_code == 302
    assert SupplierSubmission.objects.get().status == "approved"
    assert Consumable.objects.get(pk=market["ours"].pk).insurance_code == INS


def test_an_administrator_acts_for_every_supplier(market):
    boss = User.objects.create_superuser("admin01", "a@example.com", PASSWORD)
    products = api(boss).get("/api/v1/supplier/products").json()
    assert sorted(p["material_code"] for p in products) == ["WZ1", "WZ2"]


# -- the insurance class and payment restriction (issue 14) ----------------------------------

CONDITION = "限支架植入术中使用，每次住院限 3 个"


def test_a_submitted_class_and_restriction_are_applied_on_approval(market):
    submission = submit(market["acme"], market["ours"], insurance_class="restricted",
                        restriction=CONDITION)  # fmt: skip
    item = Consumable.objects.get(pk=market["ours"].pk)
    assert (item.insurance_class, item.insurance_restriction) == ("covered", "")

    submission_approve(submission=submission, reviewer=market["buyer"])

    item.refresh_from_db()
    assert (item.insurance_class, item.insurance_restriction) == ("restricted", CONDITION)
    assert item.history.first().history_user == market["buyer"]


def test_a_submission_without_a_class_leaves_the_items_class(market):
    Consumable.objects.filter(pk=market["ours"].pk).update(insurance_class="self_pay")
    submission_approve(submission=submit(market["acme"], market["ours"]),
                       reviewer=market["buyer"])  # fmt: skip
    assert Consumable.objects.get(pk=market["ours"].pk).insurance_class == "self_pay"


@pytest.mark.parametrize(
    ("insurance_class", "restriction"), [("restricted", ""), ("", CONDITION), ("covered", "x")]
)
def test_insurance_terms_that_break_the_rule_are_refused_at_submission(
    market, insurance_class, restriction
):
    with pytest.raises(DomainError) as refused:
        submit(market["acme"], market["ours"], insurance_class=insurance_class,
               restriction=restriction)  # fmt: skip
    assert (refused.value.code, refused.value.detail) == (
        "VALIDATION_ERROR", {"field": "insurance_restriction"} if insurance_class else
        {"field": "insurance_class"},
    )  # fmt: skip
    assert not SupplierSubmission.objects.exists()


def test_a_class_alone_is_a_submission(market):
    submission = submit(market["acme"], market["ours"], insurance_code=None, dis=[],
                        insurance_class="self_pay")  # fmt: skip
    submission_approve(submission=submission, reviewer=market["buyer"])
    assert Consumable.objects.get(pk=market["ours"].pk).insurance_class == "self_pay"


def test_api_accepts_and_shows_the_class_and_restriction(market):
    client = api(market["acme"])
    response = client.post(
        "/api/v1/supplier/submissions",
        {"material_code": "WZ1", "registration_no": "国械注准20243140001",
         "insurance_class": "restricted", "restriction": CONDITION},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["insurance_class"], body["restriction"]) == ("restricted", CONDITION)
    listed = client.get("/api/v1/supplier/submissions").json()
    assert (listed[0]["insurance_class"], listed[0]["restriction"]) == ("restricted", CONDITION)

    submission_approve(submission=SupplierSubmission.objects.get(), reviewer=market["buyer"])

    product = client.get("/api/v1/supplier/products").json()[0]
    assert (product["insurance_class"], product["restriction"]) == ("restricted", CONDITION)


def test_api_refuses_a_restricted_class_without_its_condition(market):
    response = api(market["acme"]).post(
        "/api/v1/supplier/submissions",
        {"material_code": "WZ1", "registration_no": "X", "insurance_class": "restricted"},
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["detail"]) == (
        "VALIDATION_ERROR", {"field": "insurance_restriction"},
    )  # fmt: skip
    bad_class = api(market["acme"]).post(
        "/api/v1/supplier/submissions",
        {"material_code": "WZ1", "registration_no": "X", "insurance_class": "甲类"},
        format="json",
    )
    assert bad_class.status_code == 400
    assert not SupplierSubmission.objects.exists()


def test_supplier_page_submits_the_class_and_the_reviewer_sees_it(market):
    supplier = page(market["acme"])
    response = supplier.post(
        f"/master/supplier/products/{market['ours'].pk}/",
        {"insurance_code": "", "registration_no": "国械注准20243140001",
         "insurance_class": "restricted", "restriction": CONDITION},
    )  # fmt: skip
    submission = SupplierSubmission.objects.get()
    assert response.status_code == 302
    assert (submission.insurance_class, submission.restriction) == ("restricted", CONDITION)

    reviewer = page(market["buyer"])
    html = reviewer.get(f"/master/submissions/{submission.pk}/").content.decode()
    assert "限定支付 / restricted" in html and CONDITION in html
    reviewer.post(f"/master/submissions/{submission.pk}/", {"action": "approve"})
    item = Consumable.objects.get(pk=market["ours"].pk)
    assert (item.insurance_class, item.insurance_restriction) == ("restricted", CONDITION)


def test_supplier_page_refuses_restricted_without_a_condition(market):
    response = page(market["acme"]).post(
        f"/master/supplier/products/{market['ours'].pk}/",
        {"insurance_code": INS, "registration_no": "X", "insurance_class": "restricted"},
    )
    assert response.status_code == 400
    assert "限定支付的耗材须填写限定支付条件" in response.content.decode()
    assert not SupplierSubmission.objects.exists()
