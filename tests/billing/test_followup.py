"""Follow-up of findings: confirm, dismiss, appeal, decide; who may, from which status; the
record survives the nightly re-run; every step is in the audit trail."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, connection, transaction

from billing.models import ExceptionRow, FindingFollowUp, ReconciliationRun
from billing.selectors import followup as sel
from billing.selectors.audit_trail import TrailFilter, audit_trail
from billing.selectors.common import Period
from billing.services import followup as svc
from config import roles
from config.errors import DomainError
from tests.billing.conftest import client_for
from tests.factories import DepartmentFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 10)


def add_role(user, role):
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.add(group)
    user.__dict__.pop("_role_names", None)
    return user


@pytest.fixture
def world(hospital):
    run = ReconciliationRun.objects.create(date=DAY, status=ReconciliationRun.Status.SUCCEEDED)
    row = ExceptionRow.objects.create(
        run=run,
        kind="CHARGE_WITHOUT_ORDER",
        department_code="XNK",
        material_code="M001",
        encounter_no="ZY001",
        quantity=2,
        ref="charge:987654",
        detail={"amount": "61.00"},
    )
    variance = ExceptionRow.objects.create(
        run=run,
        kind="VARIANCE_OVER_THRESHOLD",
        department_code="XNK",
        material_code="M002",
        quantity=3,
        ref="variance:XNK:M002",
        detail={"used": 10, "billed": 7},
    )
    other_ward = DepartmentFactory(code="GKB", name="骨科病区")
    return {
        "run": run,
        "key": sel.finding_key(
            kind=row.kind,
            encounter="ZY001",
            department="XNK",
            material_code="M001",
            ref=row.ref,
        ),
        "variance_key": sel.finding_key(
            kind=variance.kind,
            encounter="",
            department="XNK",
            material_code="M002",
            ref=variance.ref,
            day=DAY,
        ),
        "office": client_for("insurance01", roles.INSURANCE_OFFICE).user,
        "office2": client_for("insurance02", roles.INSURANCE_OFFICE).user,
        "nurse": hospital["nurse"].user,
        "other_nurse": client_for("nurse02", roles.NURSE, other_ward).user,
        "finance": client_for("finance01", roles.FINANCE).user,
    }


def refused(code, call, **kwargs):
    with pytest.raises(DomainError) as caught:
        call(**kwargs)
    assert caught.value.code == code, caught.value
    return caught.value


def status_of(key):
    record = FindingFollowUp.objects.filter(key=key).first()
    return record.status if record else "open"


# -- confirm ---------------------------------------------------------------------------------


def test_the_insurance_office_confirms_an_open_finding_with_who_and_when(world):
    record = svc.followup_confirm(user=world["office"], key=world["key"])
    record.refresh_from_db()
    assert record.status == "confirmed"
    assert record.decided_by == world["office"] and record.decided_at is not None
    assert (record.department_code, record.encounter_no) == ("XNK", "ZY001")
    assert record.amount == 61  # no such line: the detail's amount


@pytest.mark.parametrize("who", ["nurse", "finance"])
def test_only_the_insurance_office_confirms(world, who):
    error = refused("FOLLOWUP_ROLE", svc.followup_confirm, user=world[who], key=world["key"])
    assert error.http_status == 403
    assert status_of(world["key"]) == "open"


def test_a_confirmed_finding_is_not_confirmed_again(world):
    svc.followup_confirm(user=world["office"], key=world["key"])
    refused("FOLLOWUP_STATUS", svc.followup_confirm, user=world["office2"], key=world["key"])


# -- dismiss ---------------------------------------------------------------------------------


def test_dismissing_needs_a_reason(world):
    for reason in ("", "   "):
        refused(
            "FOLLOWUP_REASON_REQUIRED",
            svc.followup_dismiss,
            user=world["office"],
            key=world["key"],
            reason=reason,
        )
    assert status_of(world["key"]) == "open"


def test_the_office_dismisses_an_open_or_confirmed_finding_with_its_reason(world):
    svc.followup_confirm(user=world["office"], key=world["key"])
    record = svc.followup_dismiss(user=world["office2"], key=world["key"], reason="医嘱已补开")
    assert (record.status, record.reason, record.decided_by) == (
        "dismissed",
        "医嘱已补开",
        world["office2"],
    )


def test_a_nurse_cannot_dismiss(world):
    refused(
        "FOLLOWUP_ROLE", svc.followup_dismiss, user=world["nurse"], key=world["key"], reason="x"
    )


@pytest.mark.parametrize("step", ["confirm", "dismiss", "appeal", "decide"])
def test_a_dismissed_finding_takes_no_further_step(world, step):
    svc.followup_dismiss(user=world["office"], key=world["key"], reason="误报")
    calls = {
        "confirm": lambda: svc.followup_confirm(user=world["office2"], key=world["key"]),
        "dismiss": lambda: svc.followup_dismiss(
            user=world["office2"], key=world["key"], reason="x"
        ),
        "appeal": lambda: svc.followup_appeal(user=world["nurse"], key=world["key"], reason="x"),
        "decide": lambda: svc.followup_decide(
            user=world["office2"], key=world["key"], upheld=True, reason="x"
        ),
    }
    error = refused("FOLLOWUP_STATUS", calls[step])
    assert error.http_status == 409 and error.detail == {"status": "dismissed", "step": step}
    assert "不予认定" in error.message


# -- appeal -------------------------------------------------------------------------------------


def test_a_nurse_of_the_department_appeals_with_reason_and_evidence(world):
    svc.followup_confirm(user=world["office"], key=world["key"])
    record = svc.followup_appeal(
        user=world["nurse"], key=world["key"], reason="医嘱在 HIS 有记录", evidence="医嘱号 O-1"
    )
    assert record.status == "appealed"
    assert (record.appealed_by, record.appeal_reason, record.appeal_evidence) == (
        world["nurse"],
        "医嘱在 HIS 有记录",
        "医嘱号 O-1",
    )
    assert record.appealed_at is not None


def test_an_open_finding_may_be_appealed_directly(world):
    svc.followup_appeal(user=world["nurse"], key=world["key"], reason="已使用，扫码漏传")
    assert status_of(world["key"]) == "appealed"


def test_a_nurse_of_another_department_cannot_appeal(world):
    error = refused(
        "FOLLOWUP_NOT_YOUR_DEPARTMENT",
        svc.followup_appeal,
        user=world["other_nurse"],
        key=world["key"],
        reason="x",
    )
    assert error.http_status == 403 and "XNK" in error.message
    assert status_of(world["key"]) == "open"


def test_the_insurance_office_does_not_appeal(world):
    refused(
        "FOLLOWUP_ROLE", svc.followup_appeal, user=world["office"], key=world["key"], reason="x"
    )


def test_an_appeal_needs_a_reason(world):
    refused(
        "FOLLOWUP_REASON_REQUIRED",
        svc.followup_appeal,
        user=world["nurse"],
        key=world["key"],
        reason=" ",
    )


def test_an_appeal_is_made_once(world):
    svc.followup_appeal(user=world["nurse"], key=world["key"], reason="理由")
    refused(
        "FOLLOWUP_STATUS", svc.followup_appeal, user=world["nurse"], key=world["key"], reason="再诉"
    )


def test_a_day_level_finding_is_appealed_by_its_department(world):
    key = world["variance_key"]
    refused(
        "FOLLOWUP_NOT_YOUR_DEPARTMENT",
        svc.followup_appeal,
        user=world["other_nurse"],
        key=key,
        reason="x",
    )
    record = svc.followup_appeal(user=world["nurse"], key=key, reason="盘点后已补")
    assert (record.day, record.department_code, record.encounter_no) == (DAY, "XNK", "")


# -- decide --------------------------------------------------------------------------------------


@pytest.mark.parametrize("upheld, status", [(True, "appeal_upheld"), (False, "appeal_rejected")])
def test_the_office_decides_an_appeal(world, upheld, status):
    svc.followup_appeal(user=world["nurse"], key=world["key"], reason="理由")
    record = svc.followup_decide(
        user=world["office"], key=world["key"], upheld=upheld, reason="核实"
    )
    assert (record.status, record.reason, record.decided_by) == (status, "核实", world["office"])
    refused(
        "FOLLOWUP_STATUS",
        svc.followup_decide,
        user=world["office2"],
        key=world["key"],
        upheld=not upheld,
        reason="改判",
    )


def test_a_decision_needs_a_reason_and_an_appeal(world):
    refused(
        "FOLLOWUP_STATUS",
        svc.followup_decide,
        user=world["office"],
        key=world["key"],
        upheld=True,
        reason="x",
    )
    svc.followup_appeal(user=world["nurse"], key=world["key"], reason="理由")
    refused(
        "FOLLOWUP_REASON_REQUIRED",
        svc.followup_decide,
        user=world["office"],
        key=world["key"],
        upheld=True,
        reason="",
    )


def test_a_nurse_cannot_decide_an_appeal(world):
    svc.followup_appeal(user=world["nurse"], key=world["key"], reason="理由")
    refused(
        "FOLLOWUP_ROLE",
        svc.followup_decide,
        user=world["nurse"],
        key=world["key"],
        upheld=True,
        reason="x",
    )


def test_nobody_decides_their_own_appeal(world):
    # A nurse of the ward who also works for the insurance office.
    both = add_role(world["nurse"], roles.INSURANCE_OFFICE)
    svc.followup_appeal(user=both, key=world["key"], reason="理由")
    error = refused(
        "FOLLOWUP_SELF_DECISION",
        svc.followup_decide,
        user=both,
        key=world["key"],
        upheld=True,
        reason="自己裁定",
    )
    assert error.http_status == 403
    assert status_of(world["key"]) == "appealed"


def test_an_administrator_does_not_decide_his_own_appeal_either(world):
    admin = client_for("admin01", roles.ADMINISTRATOR, world["run"] and _xnk()).user
    svc.followup_appeal(user=admin, key=world["key"], reason="理由")
    refused(
        "FOLLOWUP_SELF_DECISION",
        svc.followup_decide,
        user=admin,
        key=world["key"],
        upheld=False,
        reason="x",
    )


def _xnk():
    from organisation.models import Department

    return Department.objects.get(code="XNK")


def test_the_database_refuses_a_self_decided_appeal(world):
    record = svc.followup_appeal(user=world["nurse"], key=world["key"], reason="理由")
    record.status, record.decided_by = "appeal_upheld", world["nurse"]
    with pytest.raises(IntegrityError), transaction.atomic():
        record.save()


# -- identity --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "CHARGE_WITHOUT_ORDER|ZY001|M001|charge:1",  # no such finding
        "CHARGE_WITHOUT_ORDER|ZY999|M001|charge:987654",
        "VARIANCE_OVER_THRESHOLD||XNK|M002|variance:XNK:M002|2026-11-11",  # another day
        "nonsense",
        "VARIANCE_OVER_THRESHOLD||XNK|M002|x|not-a-date",
    ],
)
def test_a_step_on_an_unknown_finding_is_refused(world, key):
    error = refused("FOLLOWUP_UNKNOWN_FINDING", svc.followup_confirm, user=world["office"], key=key)
    assert error.http_status == 404
    assert not FindingFollowUp.objects.exists()


def test_the_follow_up_survives_a_rerun_of_the_night(world):
    svc.followup_appeal(user=world["nurse"], key=world["key"], reason="理由")
    rows = list(ExceptionRow.objects.filter(run=world["run"]).values())
    ExceptionRow.objects.filter(run=world["run"]).delete()  # the rerun replaces the day's rows
    ExceptionRow.objects.bulk_create(
        [ExceptionRow(**{k: v for k, v in r.items() if k != "id"}) for r in rows]
    )
    listed = {f.key: f for f in sel.findings(Period(DAY, DAY))}
    assert listed[world["key"]].status == "appealed"
    assert listed[world["variance_key"]].status == "open"
    svc.followup_decide(user=world["office"], key=world["key"], upheld=False, reason="维持")


def test_every_step_is_in_the_encounters_audit_trail(world):
    svc.followup_confirm(user=world["office"], key=world["key"])
    svc.followup_appeal(user=world["nurse"], key=world["key"], reason="申诉理由")
    svc.followup_decide(user=world["office2"], key=world["key"], upheld=True, reason="通过")
    entries = [
        e
        for e in audit_trail(flt=TrailFilter(text="ZY001"), viewer=world["office"])
        if "问题跟踪" in e.subject
    ]
    assert [e.username for e in entries] == ["insurance02", "nurse01", "insurance01"]
    statuses = [dict((w, a) for w, _, a in e.details).get("状态 / status") for e in entries]
    assert statuses == ["appeal_upheld", "appealed", "confirmed"]
    reasons = [dict((w, a) for w, _, a in e.details) for e in entries]
    assert reasons[1]["申诉理由 / appeal reason"] == "申诉理由"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="threads need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_first_steps_at_once_make_one_record_and_one_refusal(world):
    results, barrier = [], threading.Barrier(2)

    def act(call):
        barrier.wait()
        try:
            call()
            results.append("ok")
        except DomainError as error:
            results.append(error.code)
        finally:
            connection.close()

    calls = [
        lambda: svc.followup_confirm(user=world["office"], key=world["key"]),
        lambda: svc.followup_confirm(user=world["office2"], key=world["key"]),
    ]
    threads = [threading.Thread(target=act, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["FOLLOWUP_STATUS", "ok"]
    assert FindingFollowUp.objects.filter(key=world["key"]).count() == 1


def test_a_finding_only_the_pre_discharge_audit_sees_can_be_followed_up(hospital):
    from billing import rules
    from tests.billing import finance_data as data

    scenario = data.build(hospital)
    ExceptionRow.objects.all().delete()  # no night has reported it (yet)
    encounter = _encounter("ZY001")
    finding = next(f for f in rules.findings([encounter.pk], until=dt.datetime.now(dt.UTC)))
    key = sel.finding_key(
        kind=finding.kind,
        encounter=finding.encounter,
        department=finding.department,
        material_code=finding.material_code,
        ref=finding.ref,
    )
    record = svc.followup_appeal(user=scenario.users["nurse01"].user, key=key, reason="已补计费")
    assert (record.status, record.department_code) == ("appealed", finding.department)


def _encounter(visit_no):
    from billing.models import Encounter

    return Encounter.objects.get(visit_no=visit_no)
