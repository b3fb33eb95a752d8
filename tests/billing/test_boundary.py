"""The insurance office's controls at the HIS boundary (issue 16): the line kinds SPLIT_CHARGE
and SELF_PAY_WITHOUT_CONSENT (audit and nightly run), each HIS charge checked as it arrives
(warn by default, refuse per HIS_CHARGE_REFUSE, recorded either way), the re-check of an
insurance type change, and the discharge gate (DISCHARGE_GATE_KINDS, 409 OPEN_FINDINGS).

Everything goes through the HIS feed and the consent API, as the hospital's systems do.
"""

import datetime as dt
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing import rules
from billing.models import ChargeLine, Encounter, HisChargeCheck
from config import roles
from config.business_day import business_day, business_day_bounds
from config.settings import HIS_CHARGE_CHECKS, env_kinds
from consumables.models import Consumable
from tests.billing.conftest import client_for, post_scan, stocked_item

pytestmark = pytest.mark.django_db

SELF_PAY = Consumable.InsuranceClass.SELF_PAY
RESTRICTED = Consumable.InsuranceClass.RESTRICTED


@pytest.fixture
def his(hospital):
    return client_for("his", roles.INTEGRATION)


def minutes_ago(minutes: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(minutes=minutes)


def item(hospital, di_body, **fields):
    """A consumable charged at HIS (not by scan), approved at 25.50."""
    consumable, _, _ = stocked_item(
        hospital, di_body, billed_by=Consumable.BilledBy.HIS, price="25.5", **fields
    )
    return consumable


def order(his, consumable, encounter="ZY001", quantity=5, at=None):
    response = his.post(
        "/api/v1/orders",
        {
            "order_id": f"O-{uuid.uuid4().hex[:10]}",
            "encounter": encounter,
            "order_code": consumable.order_code,
            "quantity": quantity,
            "ordered_at": (at or minutes_ago(30)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()


def charge(his, consumable, *, quantity=1, price="25.50", at=None, encounter="ZY001", **extra):
    body = {
        "event_id": str(uuid.uuid4()),
        "encounter": encounter,
        "charge_code": consumable.charge_code,
        "quantity": quantity,
        "unit_price": price,
        "charged_at": (at or minutes_ago(10)).isoformat(),
        **extra,
    }
    return his.post("/api/v1/charges", body, format="json")


def rows(found):
    return [(f.kind, f.material_code, f.quantity, f.ref) for f in found]


def audit(hospital):
    return rules.findings([hospital["encounter"].pk], until=timezone.now())


def nightly(at: dt.datetime):
    start, end = business_day_bounds(business_day(at))
    return rules.findings_for_day(start=start, end=end)


# -- the two new line kinds, in the audit and in the nightly run -------------------------------


def test_split_charge_is_exactly_the_line_of_an_item_not_separately_chargeable(his, hospital):
    included = item(hospital, "690777000001", chargeable=False)
    payable = item(hospital, "690777000002")
    for consumable in (included, payable):
        order(his, consumable)
    at = minutes_ago(10)
    split = charge(his, included, quantity=2, at=at)
    clean = charge(his, payable, quantity=2, at=at)
    assert (split.status_code, clean.status_code) == (201, 201)
    expected = [
        ("SPLIT_CHARGE", included.material_code, 2, f"charge:{split.json()['charge']['id']}")
    ]
    assert rows(audit(hospital)) == expected
    assert rows(nightly(at)) == expected
    (finding,) = audit(hospital)
    assert "不单独收费" in finding.explanation and finding.action == "退费"


def test_self_pay_without_consent_is_exactly_the_unconsented_lines_of_an_insured_patient(
    his, hospital
):
    self_pay = item(hospital, "690777000011", insurance_class=SELF_PAY)
    restricted = item(hospital, "690777000012", insurance_class=RESTRICTED)
    consented, _, (code,) = stocked_item(
        hospital, "690777000013", billed_by=Consumable.BilledBy.HIS, insurance_class=SELF_PAY
    )
    covered = item(hospital, "690777000014")
    nurse = hospital["nurse"]
    for consumable in (self_pay, restricted, consented, covered):
        order(his, consumable)
    response = nurse.post(
        "/api/v1/consents",
        {
            "encounter": "ZY001",
            "code": code,
            "signed_by": "张三",
            "relationship": "本人",
            "signed_at": minutes_ago(20).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    at = minutes_ago(10)
    ids = {k: charge(his, k, at=at).json()["charge"]["id"] for k in (self_pay, restricted)}
    for consumable in (consented, covered):
        assert charge(his, consumable, at=at).json()["warnings"] == []
    expected = sorted(
        ("SELF_PAY_WITHOUT_CONSENT", k.material_code, 1, f"charge:{ids[k]}")
        for k in (self_pay, restricted)
    )
    assert sorted(rows(audit(hospital))) == expected
    assert sorted(rows(nightly(at))) == expected
    by_code = {f.material_code: f for f in audit(hospital)}
    assert "为自费项目" in by_code[self_pay.material_code].explanation
    assert "为限定支付项目" in by_code[restricted.material_code].explanation


def test_a_self_pay_patient_needs_no_consent(his, hospital):
    encounter = hospital["encounter"]
    encounter.insurance_type = "自费"
    encounter.save(update_fields=["insurance_type"])
    self_pay = item(hospital, "690777000021", insurance_class=SELF_PAY)
    order(his, self_pay)
    response = charge(his, self_pay)
    assert response.json()["warnings"] == []
    assert audit(hospital) == []


# -- 事中: each HIS charge checked as it arrives ---------------------------------------------


def anomaly(his, hospital, kind):
    """A charge of exactly ``kind``'s anomaly, as a dict of charge() arguments."""
    if kind == "PRICE_MISMATCH":
        consumable = item(hospital, "690777000031")
        order(his, consumable)
        return {"consumable": consumable, "price": "30.00"}
    if kind == "CHARGE_WITHOUT_ORDER":
        return {"consumable": item(hospital, "690777000032")}
    if kind == "SELF_PAY_WITHOUT_CONSENT":
        consumable = item(hospital, "690777000033", insurance_class=SELF_PAY)
        order(his, consumable)
        return {"consumable": consumable}
    if kind == "CHARGE_OVER_ORDER":
        consumable = item(hospital, "690777000035")
        order(his, consumable, quantity=1)
        return {"consumable": consumable, "quantity": 2}
    consumable = item(hospital, "690777000034", chargeable=False)
    order(his, consumable)
    return {"consumable": consumable}


CHECKS = [
    "PRICE_MISMATCH",
    "CHARGE_WITHOUT_ORDER",
    "SELF_PAY_WITHOUT_CONSENT",
    "SPLIT_CHARGE",
    "CHARGE_OVER_ORDER",
]


@pytest.mark.parametrize("kind", CHECKS)
def test_each_check_warns_by_default_and_keeps_the_warning_with_the_line(his, hospital, kind):
    args = anomaly(his, hospital, kind)
    consumable = args.pop("consumable")
    event_id = uuid.uuid4()
    at = minutes_ago(10)
    first = charge(his, consumable, at=at, event_id=str(event_id), **args)
    assert first.status_code == 201, first.json()
    body = first.json()
    line = ChargeLine.objects.get()
    assert body["warnings"] == [kind]
    (finding,) = body["findings"]
    assert (finding["kind"], finding["material_code"], finding["quantity"], finding["ref"]) == (
        kind,
        consumable.material_code,
        1,
        f"charge:{line.pk}",
    )
    assert finding["explanation"] == audit(hospital)[0].explanation
    check = HisChargeCheck.objects.get()
    assert (check.outcome, check.charge_id, check.kinds) == ("warned", line.pk, [kind])
    again = charge(his, consumable, at=at, event_id=str(event_id), **args)
    assert (again.status_code, again.json()) == (200, body)
    assert (ChargeLine.objects.count(), HisChargeCheck.objects.count()) == (1, 1)


@pytest.mark.parametrize("kind", CHECKS)
def test_each_check_refuses_when_the_hospital_says_so_and_records_the_refusal(
    his, hospital, settings, kind
):
    settings.HIS_CHARGE_REFUSE = frozenset({kind})
    args = anomaly(his, hospital, kind)
    consumable = args.pop("consumable")
    event_id = uuid.uuid4()
    response = charge(his, consumable, event_id=str(event_id), **args)
    assert response.status_code == 409, response.json()
    error = response.json()["error"]
    assert error["code"] == "CHARGE_REFUSED"
    assert error["detail"]["refused"] == [kind]
    assert [f["kind"] for f in error["detail"]["findings"]] == [kind]
    assert ChargeLine.objects.count() == 0
    check = HisChargeCheck.objects.get()
    assert (check.outcome, check.charge_id, check.kinds, check.event_id) == (
        "refused",
        None,
        [kind],
        event_id,
    )
    assert audit(hospital) == []


def test_a_clean_charge_has_no_warnings_and_no_check_row(his, hospital, settings):
    settings.HIS_CHARGE_REFUSE = frozenset(CHECKS)
    consumable = item(hospital, "690777000041")
    order(his, consumable)
    response = charge(his, consumable)
    assert response.status_code == 201, response.json()
    assert (response.json()["warnings"], response.json()["findings"]) == ([], [])
    assert HisChargeCheck.objects.count() == 0


def test_a_refused_kind_refuses_while_another_kind_found_only_warns(his, hospital, settings):
    settings.HIS_CHARGE_REFUSE = frozenset({"PRICE_MISMATCH"})
    consumable = item(hospital, "690777000042", insurance_class=SELF_PAY)
    order(his, consumable)
    warned = charge(his, consumable)
    assert (warned.status_code, warned.json()["warnings"]) == (201, ["SELF_PAY_WITHOUT_CONSENT"])
    refused = charge(his, consumable, price="99.00")
    assert refused.status_code == 409
    detail = refused.json()["error"]["detail"]
    assert (detail["refused"], sorted(detail["kinds"])) == (
        ["PRICE_MISMATCH"],
        ["PRICE_MISMATCH", "SELF_PAY_WITHOUT_CONSENT"],
    )


def test_the_boundary_sees_the_encounter_as_it_stood_just_after_charged_at(his, hospital):
    """An order timed after the charge does not cover it at the boundary (the audit, later,
    counts it): the check runs the rules with the cut-off just after charged_at."""
    consumable = item(hospital, "690777000043")
    order(his, consumable, at=minutes_ago(5))
    response = charge(his, consumable, at=minutes_ago(20))
    assert response.json()["warnings"] == ["CHARGE_WITHOUT_ORDER"]
    assert audit(hospital) == []


def test_the_refusal_setting_is_validated():
    assert env_kinds("WUMA_TEST_UNSET_KINDS", HIS_CHARGE_CHECKS) == frozenset()


def test_an_unknown_kind_in_the_refusal_setting_is_improperly_configured(monkeypatch):
    monkeypatch.setenv("WUMA_TEST_KINDS", "price_mismatch, NO_SUCH_KIND")
    with pytest.raises(ImproperlyConfigured, match="NO_SUCH_KIND"):
        env_kinds("WUMA_TEST_KINDS", HIS_CHARGE_CHECKS)
    monkeypatch.setenv("WUMA_TEST_KINDS", "price_mismatch, SPLIT_CHARGE")
    assert env_kinds("WUMA_TEST_KINDS", HIS_CHARGE_CHECKS) == {"PRICE_MISMATCH", "SPLIT_CHARGE"}


def test_every_boundary_check_of_the_rules_is_a_kind_the_setting_accepts():
    assert set(rules.BOUNDARY_CHECKS) <= set(HIS_CHARGE_CHECKS)


# -- a change of insurance type re-checks the open lines ---------------------------------------


def encounter_body(insurance_type):
    return {
        "visit_no": "ZY900",
        "patient_id": "P900",
        "patient_name": "李四",
        "insurance_type": insurance_type,
        "department": "XNK",
        "admitted_at": minutes_ago(600).isoformat(),
    }


def test_self_pay_to_insured_finds_the_unconsented_self_pay_line_naming_the_change(his, hospital):
    assert his.post("/api/v1/encounters", encounter_body("自费"), format="json").status_code == 201
    self_pay = item(hospital, "690777000051", insurance_class=SELF_PAY)
    covered = item(hospital, "690777000052")
    for consumable in (self_pay, covered):
        order(his, consumable, encounter="ZY900")
    lines = {k: charge(his, k, encounter="ZY900").json()["charge"] for k in (self_pay, covered)}
    assert all(line["self_pay"] for line in lines.values())  # a self-pay patient pays all
    visit = Encounter.objects.get(visit_no="ZY900")
    assert rules.findings([visit.pk], until=timezone.now()) == []

    response = his.post("/api/v1/encounters", encounter_body("职工医保"), format="json")
    assert response.status_code == 200, response.json()
    recheck = response.json()["recheck"]
    assert recheck["insurance_change"] == "自费 → 职工医保"
    # The covered item is now the fund's: its line says self-pay, the ward re-charges it.
    assert recheck["self_pay_changed"] == [
        {
            "charge": lines[covered]["id"],
            "material_code": covered.material_code,
            "self_pay": True,
            "self_pay_now": False,
        }
    ]
    (told,) = recheck["findings"]
    assert (told["kind"], told["material_code"]) == (
        "SELF_PAY_WITHOUT_CONSENT",
        self_pay.material_code,
    )
    assert "自费 → 职工医保" in told["explanation"]

    found = rules.findings([visit.pk], until=timezone.now())
    assert rows(found) == [
        ("SELF_PAY_WITHOUT_CONSENT", self_pay.material_code, 1, f"charge:{lines[self_pay]['id']}")
    ]
    assert found[0].detail["insurance_change"] == "自费 → 职工医保"
    assert "医保类型已变更：自费 → 职工医保" in found[0].explanation


def test_a_change_of_ward_only_answers_no_recheck(his, hospital):
    assert his.post("/api/v1/encounters", encounter_body("自费"), format="json").status_code == 201
    body = encounter_body("自费") | {"patient_name": "李四四"}
    response = his.post("/api/v1/encounters", body, format="json")
    assert response.status_code == 200 and "recheck" not in response.json()


# -- the discharge gate --------------------------------------------------------------------------


def discharge(his, visit_no="ZY001"):
    return his.post(f"/api/v1/encounters/{visit_no}/discharge", {}, format="json")


def test_the_gate_is_off_by_default(his, hospital):
    consumable = item(hospital, "690777000061")
    assert charge(his, consumable, price="99.00").status_code == 201
    assert discharge(his).status_code == 200


def test_open_findings_of_a_gated_kind_hold_the_discharge_until_fixed(his, hospital, settings):
    settings.DISCHARGE_GATE_KINDS = frozenset({"PRICE_MISMATCH"})
    consumable = item(hospital, "690777000062")
    order(his, consumable)
    line = charge(his, consumable, price="99.00", at=minutes_ago(10)).json()["charge"]

    held = discharge(his)
    assert held.status_code == 409, held.json()
    error = held.json()["error"]
    assert error["code"] == "OPEN_FINDINGS"
    (finding,) = error["detail"]["findings"]
    assert (finding["kind"], finding["material_code"], finding["quantity"], finding["ref"]) == (
        "PRICE_MISMATCH",
        consumable.material_code,
        1,
        f"charge:{line['id']}",
    )
    assert "99.00" in finding["explanation"] and finding["action"] == "核对价格"
    hospital["encounter"].refresh_from_db()
    assert hospital["encounter"].discharged_at is None

    nurse = hospital["nurse"]
    nurse.force_login(nurse.user)
    page = nurse.get("/billing/audit/ZY001/").content.decode()
    assert 'id="discharge-held"' in page
    assert "出院已被拦截" in page and "核对价格" in page and consumable.material_code in page
    (api_held,) = nurse.get("/api/v1/encounters/ZY001/audit").json()["discharge_held"]
    assert (api_held["kind"], api_held["ref"]) == ("PRICE_MISMATCH", f"charge:{line['id']}")

    refund = his.post(
        f"/api/v1/charges/{line['id']}/refund",
        {"event_id": str(uuid.uuid4()), "quantity": 1, "refunded_at": minutes_ago(5).isoformat()},
        format="json",
    )
    assert refund.status_code == 201, refund.json()
    assert 'id="discharge-held"' not in nurse.get("/billing/audit/ZY001/").content.decode()
    assert nurse.get("/api/v1/encounters/ZY001/audit").json()["discharge_held"] == []
    assert discharge(his).status_code == 200


@pytest.mark.parametrize(
    ("steps", "held"),
    [
        (["confirm"], True),
        (["appeal"], True),
        (["appeal", "reject"], True),
        (["dismiss"], False),
        (["appeal", "uphold"], False),
    ],
)
def test_a_finding_dismissed_or_appealed_successfully_no_longer_holds_the_discharge(
    his, hospital, settings, steps, held
):
    """The gate asks the follow-up (services.discharge_gate): what the insurance office
    dismissed, or the appeal it upheld, releases the discharge; anything else still holds."""
    from billing.services import followup
    from billing.services.discharge_gate import _key

    settings.DISCHARGE_GATE_KINDS = frozenset({"PRICE_MISMATCH"})
    consumable = item(hospital, "690777000064")
    order(his, consumable)
    charge(his, consumable, price="99.00", at=minutes_ago(10))
    (finding,) = [
        f
        for f in rules.findings([hospital["encounter"].pk], until=timezone.now())
        if f.kind == "PRICE_MISMATCH"
    ]
    key = _key(finding)
    office = client_for("office01", roles.INSURANCE_OFFICE).user
    nurse = hospital["nurse"].user
    do = {
        "confirm": lambda: followup.followup_confirm(user=office, key=key),
        "dismiss": lambda: followup.followup_dismiss(user=office, key=key, reason="物价已核准"),
        "appeal": lambda: followup.followup_appeal(user=nurse, key=key, reason="按新价执行"),
        "uphold": lambda: followup.followup_decide(
            user=office, key=key, upheld=True, reason="申诉成立"
        ),
        "reject": lambda: followup.followup_decide(
            user=office, key=key, upheld=False, reason="申诉不成立"
        ),
    }
    for step in steps:
        do[step]()
    answer = discharge(his)
    assert answer.status_code == (409 if held else 200), answer.json()


def test_findings_of_other_kinds_do_not_hold_the_discharge(his, hospital, settings):
    settings.DISCHARGE_GATE_KINDS = frozenset({"SPLIT_CHARGE"})
    consumable = item(hospital, "690777000063")
    assert (
        charge(his, consumable, price="99.00").status_code == 201
    )  # PRICE_MISMATCH, CHARGE_WITHOUT_ORDER
    page_client = hospital["nurse"]
    page_client.force_login(page_client.user)
    assert 'id="discharge-held"' not in page_client.get("/billing/audit/ZY001/").content.decode()
    assert discharge(his).status_code == 200


def test_every_boundary_kind_the_rules_know_is_wired(settings):
    """CHARGE_OVER_ORDER (matching) is an HIS check as soon as the rules find it: one entry
    in rules.BOUNDARY_CHECKS, which this test asks for once the kind exists."""
    for kind in HIS_CHARGE_CHECKS:
        if kind in rules.KINDS:
            assert kind in rules.BOUNDARY_CHECKS, kind


def test_an_encounter_scoped_check_answers_the_finding_of_the_line_s_item(
    his, hospital, monkeypatch
):
    """The encounter scope (how CHARGE_OVER_ORDER is wired), shown with DUPLICATE_CHARGE: a
    scan-billed item used once and charged by the scan, keyed in again at HIS."""
    monkeypatch.setitem(rules.BOUNDARY_CHECKS, rules.DUPLICATE_CHARGE, rules.ENCOUNTER_SCOPE)
    scanned, _, (code,) = stocked_item(hospital, "690777000071", price="25.5")
    other, _, (other_code,) = stocked_item(hospital, "690777000072", price="25.5")
    for consumable in (scanned, other):
        order(his, consumable)
    for c in (code, other_code):
        used = post_scan(hospital["nurse"], "use", c, "XNK", encounter="ZY001")
        assert used.status_code == 201, used.json()
    other_line = charge(his, other, at=timezone.now())  # not this line's business
    response = charge(his, scanned, at=timezone.now())
    assert response.status_code == 201, response.json()
    assert response.json()["warnings"] == ["DUPLICATE_CHARGE"]
    (finding,) = response.json()["findings"]
    assert (finding["material_code"], finding["quantity"]) == (scanned.material_code, 1)
    assert other_line.json()["warnings"] == ["DUPLICATE_CHARGE"]


def test_finance_and_the_auditors_read_what_his_was_told_in_the_admin(
    his, hospital, settings, admin_client
):
    settings.HIS_CHARGE_REFUSE = frozenset({"PRICE_MISMATCH"})
    consumable = item(hospital, "690777000081")
    order(his, consumable)
    assert charge(his, consumable, price="99.00").status_code == 409
    admin = admin_client
    page = admin.get("/admin/billing/hischargecheck/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "PRICE_MISMATCH" in text and consumable.charge_code in text
    assert admin.get("/admin/billing/hischargecheck/add/").status_code == 403


def test_the_nightly_run_stores_the_two_kinds_as_exception_rows(his, hospital):
    included = item(hospital, "690777000101", chargeable=False)
    self_pay = item(hospital, "690777000102", insurance_class=SELF_PAY)
    for consumable in (included, self_pay):
        order(his, consumable)
    at = minutes_ago(10)
    ids = {k: charge(his, k, at=at).json()["charge"]["id"] for k in (included, self_pay)}
    day = business_day(at).isoformat()
    finance = client_for("finance01", roles.FINANCE)
    created = finance.post("/api/v1/reconciliation/runs", {"date": day}, format="json")
    assert created.status_code == 201, created.json()
    exceptions = finance.get(f"/api/v1/reconciliation/runs/{day}/exceptions").json()
    assert sorted(
        (e["kind"], e["material_code"], e["quantity"], e["ref"], e["encounter"]) for e in exceptions
    ) == sorted(
        [
            (
                "SELF_PAY_WITHOUT_CONSENT",
                self_pay.material_code,
                1,
                f"charge:{ids[self_pay]}",
                "ZY001",
            ),
            ("SPLIT_CHARGE", included.material_code, 1, f"charge:{ids[included]}", "ZY001"),
        ]
    )


def test_the_boundary_check_of_a_clean_charge_is_one_statement(his, hospital):
    """The rules' line statement, scoped to the new line; the insurance history is read only
    for a line without consent, and nothing is written for a clean line."""
    consumable = item(hospital, "690777000111")
    order(his, consumable)
    with CaptureQueriesContext(connection) as queries:
        assert charge(his, consumable).json()["warnings"] == []
    statements = [q["sql"] for q in queries.captured_queries]
    assert sum("WITH lines AS" in s for s in statements) == 1
    assert not any("historicalencounter" in s or "hischargecheck" in s for s in statements)
    # 8 before the boundary check, the line statement, the matching one (CHARGE_OVER_ORDER)
    assert len(statements) == 10
