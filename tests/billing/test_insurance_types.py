"""Insurance types (医保类型) are the hospital's configured list, and who pays a charge.

HIS sends any active configured type (离休, 工伤保险, a hospital's own 新农合); an unknown one
is a 400 naming the configured types. A charge is self-pay when the patient's type is not
insured, when the item is a self-pay item, or when it is a restricted item the patient
consented to pay himself (issue 14).
"""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from billing.models import ChargeLine, Consent, Encounter, InsuranceType
from billing.services.insurance_types import NATIONAL_TYPES, ensure_national_types
from billing.templatetags.billing_text import insurance_type as insurance_type_filter
from config import roles
from consumables.models import Consumable
from tests.billing.conftest import client_for, post_scan, stocked_item
from tests.billing.test_bedside_page import page_client

pytestmark = pytest.mark.django_db

RESTRICTED = Consumable.InsuranceClass.RESTRICTED


@pytest.fixture
def his(hospital):
    return client_for("his", roles.INTEGRATION)


def admit(his, visit_no, insurance_type, patient_id=None):
    return his.post(
        "/api/v1/encounters",
        {
            "visit_no": visit_no,
            "patient_id": patient_id or f"P-{visit_no}",
            "patient_name": "王五",
            "insurance_type": insurance_type,
            "department": "XNK",
            "admitted_at": timezone.now().isoformat(),
        },
        format="json",
    )


def use(hospital, code, encounter, **extra):
    return post_scan(hospital["nurse"], "use", code, "XNK", encounter=encounter, **extra)


def consent(hospital, code, encounter):
    response = hospital["nurse"].post(
        "/api/v1/consents",
        {"encounter": encounter, "code": code, "signed_by": "王五", "relationship": "本人"},
        format="json",
    )
    assert response.status_code == 201, response.json()


def his_charge(his, consumable, encounter):
    return his.post(
        "/api/v1/charges",
        {
            "event_id": str(uuid.uuid4()),
            "encounter": encounter,
            "charge_code": consumable.charge_code,
            "quantity": 1,
            "unit_price": "300.00",
            "charged_at": timezone.now().isoformat(),
        },
        format="json",
    )


@pytest.fixture
def covered(hospital):
    _, _, (code,) = stocked_item(hospital, "690666000001", price="12")
    return code


@pytest.fixture
def restricted(hospital):
    consumable, _, (code,) = stocked_item(
        hospital,
        "690666000002",
        price="300",
        insurance_class=RESTRICTED,
        insurance_restriction="限冠脉介入术后患者",
    )
    return consumable, code


def test_the_national_types_are_configured_with_who_pays():
    configured = dict(InsuranceType.objects.values_list("name", "insured"))
    assert configured == {
        "职工医保": True,
        "居民医保": True,
        "离休": True,
        "工伤保险": True,
        "生育保险": True,
        "自费": False,
    }
    assert [name for name, *_ in NATIONAL_TYPES] == list(
        InsuranceType.objects.values_list("name", flat=True)
    )


def test_a_flushed_list_gets_the_national_types_back_and_an_edit_stays():
    InsuranceType.objects.filter(name="离休").update(is_active=False, name_en="retired")
    InsuranceType.objects.filter(name="自费").delete()
    ensure_national_types()
    assert InsuranceType.objects.get(name="自费").insured is False
    kept = InsuranceType.objects.get(name="离休")
    assert (kept.is_active, kept.name_en) == (False, "retired")


def test_a_lixiu_patient_posted_by_his_is_scanned_for_and_billed_to_the_fund(
    his, hospital, covered
):
    response = admit(his, "ZY-LX1", "离休")
    assert response.status_code == 201, response.json()
    assert Encounter.objects.get(visit_no="ZY-LX1").insurance_type == "离休"

    scanned = use(hospital, covered, "ZY-LX1", quantity=1)
    assert scanned.status_code == 201, scanned.json()
    assert scanned.json()["charge"]["self_pay"] is False
    assert ChargeLine.objects.get(encounter__visit_no="ZY-LX1").self_pay is False

    panel = page_client(hospital["nurse"].user).get(
        "/billing/bedside/patient/", {"ward": "XNK", "visit": "ZY-LX1"}
    )
    html = panel.content.decode()
    assert panel.status_code == 200
    assert 'data-insurance="离休"' in html
    assert '<span class="badge ins">离休</span>' in html


@pytest.mark.parametrize("name", ["工伤保险", "新农合"])
def test_work_injury_and_a_hospital_added_type_are_accepted_and_insured(
    his, hospital, covered, name
):
    if name == "新农合":  # the hospital adds its own in the admin
        InsuranceType.objects.create(name="新农合", name_en="new rural cooperative")
    assert admit(his, "ZY-T1", name).status_code == 201
    scanned = use(hospital, covered, "ZY-T1", quantity=1)
    assert scanned.status_code == 201, scanned.json()
    assert scanned.json()["charge"]["self_pay"] is False


def test_a_hospital_type_that_is_not_insured_makes_a_self_pay_patient(his, hospital, covered):
    InsuranceType.objects.create(name="外籍自费", insured=False)
    assert admit(his, "ZY-W1", "外籍自费").status_code == 201
    scanned = use(hospital, covered, "ZY-W1", quantity=1)
    assert scanned.json()["charge"]["self_pay"] is True


def test_an_unknown_type_is_refused_with_the_configured_list(his, hospital):
    InsuranceType.objects.create(name="异地医保")
    InsuranceType.objects.create(name="停用类型", is_active=False)
    for name in ("新农合", "停用类型", "职工"):
        response = admit(his, "ZY-U1", name)
        assert response.status_code == 400, (name, response.json())
        error = response.json()["error"]
        assert error["code"] == "VALIDATION_ERROR"
        assert error["detail"]["field"] == "insurance_type"
        assert error["detail"]["reason"] == "UNKNOWN_INSURANCE_TYPE"
        assert error["detail"]["configured"] == [
            "职工医保", "居民医保", "离休", "工伤保险", "生育保险", "自费", "异地医保"
        ]
        assert "离休" in error["message"] and "异地医保" in error["message"]
    assert not Encounter.objects.filter(visit_no="ZY-U1").exists()


def test_a_retired_type_stays_valid_for_the_encounters_that_hold_it(his, hospital):
    assert admit(his, "ZY-R1", "居民医保").status_code == 201
    InsuranceType.objects.filter(name="居民医保").update(is_active=False)
    assert admit(his, "ZY-R1", "居民医保").status_code == 200  # the same post again
    # ...but no new encounter, and no change to it
    assert admit(his, "ZY-R2", "居民医保").status_code == 400
    assert admit(his, "ZY-R1", "离休").status_code == 200
    assert admit(his, "ZY-R1", "居民医保").status_code == 400
    assert Encounter.objects.get(visit_no="ZY-R1").insurance_type == "离休"


def test_a_self_pay_patients_charges_are_self_pay_and_need_no_consent(
    his, hospital, covered, restricted
):
    _, restricted_code = restricted
    assert admit(his, "ZY-S1", "自费").status_code == 201
    plain = use(hospital, covered, "ZY-S1", quantity=1)
    assert plain.json()["charge"]["self_pay"] is True
    limited = use(hospital, restricted_code, "ZY-S1", quantity=1)
    assert limited.status_code == 201, limited.json()
    assert limited.json()["charge"]["self_pay"] is True
    assert not Consent.objects.exists()

    panel = page_client(hospital["nurse"].user).get(
        "/billing/bedside/patient/", {"ward": "XNK", "visit": "ZY-S1"}
    )
    assert '<span class="badge selfpay">自费</span>' in panel.content.decode()


def test_a_consented_restricted_use_is_self_pay_and_a_covered_use_is_not(
    hospital, covered, restricted
):
    _, code = restricted
    refused = use(hospital, code, "ZY001", quantity=1)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "CONSENT_REQUIRED"
    assert not ChargeLine.objects.exists()

    consent(hospital, code, "ZY001")
    accepted = use(hospital, code, "ZY001", quantity=1)
    assert accepted.status_code == 201, accepted.json()
    assert accepted.json()["charge"]["self_pay"] is True

    plain = use(hospital, covered, "ZY001", quantity=1)
    assert plain.json()["charge"]["self_pay"] is False
    assert dict(ChargeLine.objects.values_list("consumable__insurance_class", "self_pay")) == {
        RESTRICTED: True,
        Consumable.InsuranceClass.COVERED: False,
    }


def test_an_his_charge_of_a_restricted_item_is_self_pay_once_consented(
    his, hospital, restricted
):
    consumable, code = restricted
    before = his_charge(his, consumable, "ZY001")
    assert before.status_code == 201, before.json()
    assert before.json()["charge"]["self_pay"] is False  # no consent: the fund's

    consent(hospital, code, "ZY001")
    after = his_charge(his, consumable, "ZY001")
    assert after.status_code == 201, after.json()
    assert after.json()["charge"]["self_pay"] is True


def test_a_consented_restricted_use_costs_no_more_queries_than_a_covered_one(
    hospital, covered, restricted
):
    _, restricted_code = restricted
    consent(hospital, restricted_code, "ZY001")
    # First uses of each: the patient's virtual location and the like exist afterwards.
    assert use(hospital, covered, "ZY001", quantity=1).status_code == 201
    assert use(hospital, restricted_code, "ZY001", quantity=1).status_code == 201

    def queries(code):
        with CaptureQueriesContext(connection) as captured:
            response = use(hospital, code, "ZY001", quantity=1)
        assert response.status_code == 201, response.json()
        return len(captured.captured_queries)

    assert queries(restricted_code) == queries(covered)


def test_the_api_schema_describes_the_type_as_a_string():
    schema = client_for("reader", roles.INTEGRATION).get(
        "/api/schema/", {"format": "json"}
    ).json()
    body = schema["components"]["schemas"]["EncounterInputRequest"]["properties"]
    field = body["insurance_type"]
    assert field["type"] == "string" and "enum" not in field and "$ref" not in field
    assert field["maxLength"] == 32


def test_an_english_page_shows_the_types_english_name():
    encounter = Encounter(insurance_type="离休")
    with translation.override("en"):
        assert insurance_type_filter(encounter) == "retired cadre"
    with translation.override("zh-hans"):
        assert insurance_type_filter(encounter) == "离休"
    InsuranceType.objects.create(name="新农合")  # no English name: the name itself
    with translation.override("en"):
        assert insurance_type_filter(Encounter(insurance_type="新农合")) == "新农合"


def test_the_hospital_adds_a_type_in_the_admin_and_retires_a_used_one(admin_client, hospital):
    response = admin_client.post(
        reverse("admin:billing_insurancetype_add"),
        {"name": "新农合", "name_en": "rural", "insured": "on", "is_active": "on",
         "sort_order": 60},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert InsuranceType.objects.get(name="新农合").insured is True

    used = InsuranceType.objects.get(name="职工医保")  # the hospital fixture's encounter
    change = reverse("admin:billing_insurancetype_change", args=[used.pk])
    page = admin_client.get(change)
    assert page.status_code == 200
    delete = reverse("admin:billing_insurancetype_delete", args=[used.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert InsuranceType.objects.filter(name="职工医保").exists()
    unused = InsuranceType.objects.get(name="新农合")
    delete = reverse("admin:billing_insurancetype_delete", args=[unused.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not InsuranceType.objects.filter(name="新农合").exists()


def test_the_encounter_admin_offers_the_configured_types_only(admin_client, hospital):
    encounter = hospital["encounter"]
    url = reverse("admin:billing_encounter_change", args=[encounter.pk])
    form = admin_client.get(url).context["adminform"].form
    assert [value for value, _ in form.fields["insurance_type"].choices] == [
        "职工医保", "居民医保", "离休", "工伤保险", "生育保险", "自费"
    ]
