"""Daily reconciliation: variances, exceptions, atomic replacement, the endpoints."""

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from billing import reconciliation
from billing.models import ReconciliationRun, VarianceRow
from config import roles
from consumables.models import ExternalPrice
from tests.billing.conftest import client_for, post_scan, stocked_item
from tests.factories import ExternalPriceFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def run_today():
    return reconciliation.reconciliation_run(day=TODAY)


def rows(run):
    return {
        (r.department_code, r.material_code): (
            r.received,
            r.issued,
            r.used,
            r.billed,
            r.variance_qty,
        )
        for r in VarianceRow.objects.filter(run=run)
    }


def kinds(run):
    return sorted(run.exceptions.values_list("kind", flat=True))


@pytest.fixture
def finance(hospital):
    return client_for("finance01", roles.FINANCE)


def test_day_counts_received_issued_used_and_billed(hospital):
    consumable, _, (code,) = stocked_item(hospital, "690777000001", quantity=10)
    post_scan(hospital["nurse"], "use", code, "XNK", encounter="ZY001", quantity=3)
    post_scan(hospital["nurse"], "return", code, "XNK", encounter="ZY001", quantity=1)
    run = run_today()
    m = consumable.material_code
    assert rows(run) == {("CK01", m): (10, 10, 0, 0, 0), ("XNK", m): (0, 10, 2, 2, 0)}
    assert run.status == "succeeded"
    assert run.totals["used"] == 2


def test_rerun_gives_identical_rows(hospital):
    consumable, _, (code,) = stocked_item(hospital, "690777000002")
    post_scan(hospital["nurse"], "use", code, "XNK", encounter="ZY001")
    first = run_today()
    before = (rows(first), kinds(first))
    second = run_today()
    assert (rows(second), kinds(second)) == before
    assert second.pk == first.pk


def test_failed_run_leaves_the_previous_result(hospital):
    consumable, _, (code,) = stocked_item(hospital, "690777000003")
    post_scan(hospital["nurse"], "use", code, "XNK", encounter="ZY001")
    good = rows(run_today())
    post_scan(hospital["nurse"], "use", code, "XNK", encounter="ZY001")
    with (
        mock.patch.object(
            reconciliation, "four_price_exceptions", side_effect=RuntimeError("killed half-way")
        ),
        pytest.raises(RuntimeError),
    ):
        run_today()
    run = ReconciliationRun.objects.get(date=TODAY)
    assert run.status == "failed"
    assert "killed half-way" in run.error
    assert rows(run) == good


def test_events_of_another_day_are_not_counted(hospital):
    consumable, _, (code,) = stocked_item(hospital, "690777000004")
    yesterday = timezone.now() - dt.timedelta(days=1)
    post_scan(
        hospital["nurse"], "use", code, "XNK", encounter="ZY001", occurred_at=yesterday.isoformat()
    )
    run = run_today()
    assert rows(run)[("XNK", consumable.material_code)][2] == 0


def test_unbilled_use_of_his_billed_item_is_a_variance_over_threshold(hospital):
    from consumables.models import Consumable

    consumable, _, (code,) = stocked_item(
        hospital, "690777000005", billed_by=Consumable.BilledBy.HIS
    )
    post_scan(hospital["nurse"], "use", code, "XNK", encounter="ZY001", quantity=2)
    run = run_today()
    over = run.exceptions.filter(kind="VARIANCE_OVER_THRESHOLD").get()
    assert (over.department_code, over.material_code, over.quantity) == (
        "XNK",
        consumable.material_code,
        2,
    )


def test_receipt_at_other_than_purchase_price_is_reported(hospital):
    consumable, _, _ = stocked_item(hospital, "690777000006", price="10")
    from tests.billing.conftest import gs1

    di = consumable.device_identifiers.get().udi_di
    post_scan(
        hospital["keeper"],
        "receive",
        gs1(di, lot="L9"),
        "CK01",
        supplier="GYS01",
        unit_cost="11",
        quantity=1,
    )
    run = run_today()
    exception = run.exceptions.get(kind="PURCHASE_PRICE_MISMATCH")
    assert exception.material_code == consumable.material_code
    assert exception.detail["unit_cost"] == "11.0000"


def test_platform_price_below_purchase_is_four_price_misaligned(hospital):
    consumable, _, _ = stocked_item(hospital, "690777000007", price="10")
    ExternalPriceFactory(
        consumable=consumable,
        kind=ExternalPrice.Kind.PLATFORM,
        price=Decimal("9"),
        effective_from=timezone.now(),
    )
    run = run_today()
    exception = run.exceptions.get(kind="FOUR_PRICE_MISALIGNED")
    assert exception.detail["violations"] == ["PURCHASE_ABOVE_PLATFORM"]


def test_run_endpoint_answers_with_contract_fields(hospital, finance):
    consumable, _, (code,) = stocked_item(hospital, "690777000008")
    post_scan(hospital["nurse"], "use", code, "XNK", encounter="ZY001")
    created = finance.post(
        "/api/v1/reconciliation/runs", {"date": TODAY.isoformat()}, format="json"
    )
    assert created.status_code == 201, created.json()
    detail = finance.get(f"/api/v1/reconciliation/runs/{TODAY}").json()
    assert detail["status"] == "succeeded"
    variances = finance.get(f"/api/v1/reconciliation/runs/{TODAY}/variances").json()
    assert set(variances[0]) == {
        "department",
        "material_code",
        "received",
        "issued",
        "used",
        "billed",
        "variance_qty",
        "variance_amount",
        "variance_pct",
    }
    exceptions = finance.get(f"/api/v1/reconciliation/runs/{TODAY}/exceptions").json()
    for row in exceptions:
        assert set(row) == {
            "kind",
            "department",
            "material_code",
            "encounter",
            "quantity",
            "ref",
            "detail",
        }


def test_unknown_day_is_404_and_bad_date_is_404(finance):
    assert finance.get("/api/v1/reconciliation/runs/2020-01-01").status_code == 404
    assert finance.get("/api/v1/reconciliation/runs/2020-13-45").status_code == 404


def test_nurse_may_not_read_reconciliation(hospital):
    response = hospital["nurse"].get(f"/api/v1/reconciliation/runs/{TODAY}")
    assert response.status_code == 403


def test_previous_business_day_is_the_shanghai_calendar_day():
    at = dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC)  # 00:30 on 2 March in Shanghai
    assert reconciliation.previous_business_day(at) == dt.date(2026, 3, 1)
