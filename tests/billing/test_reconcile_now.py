"""The finance dashboard's "reconcile this day now" button: POST only, for finance, the
insurance office and administrators; a future day or a day before the history refused; the
run made is the reconciliation service's (its rows), and who asked is recorded."""

from __future__ import annotations

import datetime as dt
import logging
from unittest import mock

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.test import Client, override_settings
from django.utils import timezone

from billing.models import ExceptionRow, ReconciliationRun, VarianceRow
from config import roles
from config.business_day import business_day
from tests.billing.conftest import gs1, post_scan, stocked_item
from tests.billing.finance_data import logged_in

pytestmark = pytest.mark.django_db

DASHBOARD = "/billing/finance/"
BUTTON = "/billing/finance/reconcile/"


def business_today() -> dt.date:
    return business_day(timezone.now())


@pytest.fixture
def day_of_activity(hospital):
    """Today: 10 received into the store and issued to the ward, 3 used on the ward (one of
    them billed by scan, so the other two are not: this item is billed at HIS)."""
    consumable, di, codes = stocked_item(hospital, "690000000101", quantity=10, billed_by="his")
    response = post_scan(hospital["nurse"], "use", gs1(di), "XNK", encounter="ZY001", quantity=3)
    assert response.status_code == 201, response.json()
    return consumable


@pytest.fixture
def finance():
    return logged_in("finance01", roles.FINANCE)


def test_the_button_reconciles_the_day_and_shows_its_result(day_of_activity, finance):
    day = business_today()
    response = finance.post(BUTTON, {"day": day.isoformat()}, follow=True)
    assert response.status_code == 200
    run = ReconciliationRun.objects.get(date=day)
    assert run.status == ReconciliationRun.Status.SUCCEEDED
    material = day_of_activity.material_code
    rows = {
        (r.department_code, r.material_code): (r.received, r.issued, r.used, r.billed)
        for r in VarianceRow.objects.filter(run=run)
    }
    assert rows == {("CK01", material): (10, 10, 0, 0), ("XNK", material): (0, 10, 3, 0)}
    kinds = sorted(ExceptionRow.objects.filter(run=run).values_list("kind", flat=True))
    assert "VARIANCE_OVER_THRESHOLD" in kinds
    # The dashboard of that day, with the run's result.
    assert response.redirect_chain[-1][0] == (
        f"{DASHBOARD}?since={day}&until={day}&reconciled={day}"
    )
    page = response.content.decode()
    assert 'id="reconcile-result"' in page
    assert "<dd data-rows>2</dd>" in page
    assert f"<dd data-exceptions>{len(kinds)} (" in page
    assert f"{day} 已对账：差异行 2 行，异常 {len(kinds)} 条" in page


def test_who_asked_for_which_day_is_recorded(day_of_activity, finance, caplog):
    day = business_today()
    with caplog.at_level(logging.INFO, logger="billing"):
        finance.post(BUTTON, {"day": day.isoformat()})
    run = ReconciliationRun.objects.get(date=day)
    entry = LogEntry.objects.get(
        content_type=ContentType.objects.get_for_model(ReconciliationRun), object_id=str(run.pk)
    )
    assert entry.user == finance.user
    assert day.isoformat() in entry.object_repr
    assert "succeeded" in entry.change_message
    assert timezone.now() - entry.action_time < dt.timedelta(minutes=1)
    logged = [r.getMessage() for r in caplog.records if r.name == "billing"]
    assert any(day.isoformat() in m and "finance01" in m for m in logged), logged


def test_the_form_offers_yesterday_and_asks_first(finance):
    page = finance.get(DASHBOARD).content.decode()
    yesterday = business_today() - dt.timedelta(days=1)
    assert f'name="day" value="{yesterday.isoformat()}"' in page
    form = page[page.index('action="/billing/finance/reconcile/"') - 100 :]
    assert 'method="post"' in form[:200] and "data-confirm=" in form[:400]
    assert "csrfmiddlewaretoken" in form[:800]


def test_get_is_refused(day_of_activity, finance):
    response = finance.get(BUTTON, {"day": business_today().isoformat()})
    assert response.status_code == 405
    assert not ReconciliationRun.objects.exists()


def test_a_future_day_is_refused_with_a_reason(day_of_activity, finance):
    tomorrow = business_today() + dt.timedelta(days=1)
    response = finance.post(BUTTON, {"day": tomorrow.isoformat()}, follow=True)
    assert response.redirect_chain == [(DASHBOARD, 302)]
    assert f"{tomorrow} 尚未到来，只能对账今天及以前的营业日" in response.content.decode()
    assert not ReconciliationRun.objects.exists()
    assert not LogEntry.objects.exists()


def test_a_day_before_the_history_is_refused(day_of_activity, finance):
    yesterday = business_today() - dt.timedelta(days=1)  # all activity is today's
    response = finance.post(BUTTON, {"day": yesterday.isoformat()}, follow=True)
    text = response.content.decode()
    assert f"{yesterday} 早于系统最早的记录（{business_today()}），没有可对账的数据" in text
    assert not ReconciliationRun.objects.exists()


def test_nothing_recorded_yet_means_no_day_to_reconcile(finance):
    response = finance.post(BUTTON, {"day": business_today().isoformat()}, follow=True)
    assert "系统尚无出入库或计费记录" in response.content.decode()
    assert not ReconciliationRun.objects.exists()


def test_csrf_is_required(day_of_activity):
    client = Client(enforce_csrf_checks=True)
    user = logged_in("finance02", roles.FINANCE).user
    client.force_login(user)
    response = client.post(BUTTON, {"day": business_today().isoformat()})
    assert response.status_code == 403
    assert not ReconciliationRun.objects.exists()


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (roles.FINANCE, True),
        (roles.INSURANCE_OFFICE, True),
        (roles.ADMINISTRATOR, True),
        (roles.NURSE, False),
        (roles.PROCUREMENT, False),
        (roles.STOREKEEPER, False),
    ],
)
def test_only_finance_the_insurance_office_and_administrators(day_of_activity, role, allowed):
    client = logged_in(f"user-{role}", role)
    response = client.post(BUTTON, {"day": business_today().isoformat()})
    assert (response.status_code == 302) == allowed
    assert (response.status_code == 403) != allowed
    assert ReconciliationRun.objects.exists() == allowed


def test_a_failed_run_says_so_and_keeps_the_previous_result(day_of_activity, finance):
    day = business_today()
    finance.post(BUTTON, {"day": day.isoformat()})
    before = VarianceRow.objects.filter(run__date=day).count()
    with mock.patch(
        "billing.reconciliation.store_variances", side_effect=RuntimeError("disk full")
    ):
        response = finance.post(BUTTON, {"day": day.isoformat()}, follow=True)
    text = response.content.decode()
    assert f"{day} 对账失败，原有结果保留不变：RuntimeError: disk full" in text
    run = ReconciliationRun.objects.get(date=day)
    assert run.status == ReconciliationRun.Status.FAILED
    assert VarianceRow.objects.filter(run=run).count() == before == 2
    messages = list(LogEntry.objects.order_by("pk").values_list("change_message", flat=True))
    assert [m.split("：")[1].split(" /")[0] for m in messages] == ["succeeded", "failed"]


@override_settings(CELERY_TASK_ALWAYS_EAGER=False)
def test_with_a_worker_the_day_is_queued(day_of_activity, finance):
    day = business_today()
    with mock.patch("billing.tasks.reconcile_day.delay") as delay:
        response = finance.post(BUTTON, {"day": day.isoformat()}, follow=True)
    delay.assert_called_once_with(day.isoformat())
    assert f"{day} 已排队对账" in response.content.decode()
    assert ReconciliationRun.objects.get(date=day).status == ReconciliationRun.Status.QUEUED
    assert "queued" in LogEntry.objects.get().change_message
