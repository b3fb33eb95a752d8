"""Daily reconciliation: variances, each exception kind from exactly its anomaly, atomic
replacement, reruns, stale runs, the endpoints.

Anomalies are made through the real entry points (scans, the HIS feed), on today's
business day, and each test asserts the complete list of the run's exceptions.
"""

import datetime as dt
import threading
import uuid
from decimal import Decimal
from unittest import mock

import psycopg
import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from billing import reconciliation, rules
from billing.models import (
    ChargeLine,
    Encounter,
    ExceptionRow,
    ReconciliationRun,
    Use,
    VarianceRow,
)
from config import roles
from config.business_day import business_day_bounds
from consumables.models import Consumable, ExternalPrice
from tests.billing.conftest import client_for, gs1, post_scan, stocked_item
from tests.factories import DepartmentFactory, ExternalPriceFactory, PriceVersionFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
START, END = business_day_bounds(TODAY)


def run_today():
    return reconciliation.reconciliation_run(day=TODAY)


def moments(n: int) -> list[dt.datetime]:
    """``n`` increasing instants of today, all already past."""
    now = timezone.now()
    return [START + (now - START) * k / (n + 1) for k in range(1, n + 1)]


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


def exceptions(run) -> list[tuple]:
    return sorted(
        (e.kind, e.department_code, e.material_code, e.encounter_no, e.quantity)
        for e in ExceptionRow.objects.filter(run=run)
    )


def stored(run) -> tuple[list, list]:
    """Everything a run stored, ids and the run aside."""
    variances = sorted(
        VarianceRow.objects.filter(run=run).values_list(
            "department_code",
            "material_code",
            "received",
            "issued",
            "used",
            "billed",
            "variance_qty",
            "variance_amount",
            "variance_pct",
        )
    )
    found = sorted(
        (e.kind, e.department_code, e.material_code, e.encounter_no, e.quantity, e.ref, e.detail)
        for e in ExceptionRow.objects.filter(run=run)
    )
    return variances, [repr(f) for f in found]


@pytest.fixture
def finance(hospital):
    return client_for("finance01", roles.FINANCE)


@pytest.fixture
def his(hospital):
    return client_for("his", roles.INTEGRATION)


def order(his, consumable, encounter="ZY001"):
    response = his.post(
        "/api/v1/orders",
        {
            "order_id": f"O-{uuid.uuid4().hex[:10]}",
            "encounter": encounter,
            "order_code": consumable.order_code,
            "quantity": 100,  # covers the day's charges: CHARGE_OVER_ORDER has its own tests
            "ordered_at": START.isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()


def his_charge(his, consumable, quantity, *, price="25.5", encounter="ZY001", at=None):
    response = his.post(
        "/api/v1/charges",
        {
            "event_id": str(uuid.uuid4()),
            "encounter": encounter,
            "charge_code": consumable.charge_code,
            "quantity": quantity,
            "unit_price": price,
            "charged_at": (at or timezone.now()).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()["charge"]["id"]


def use(hospital, code, quantity=1, *, encounter="ZY001", department="XNK", at=None):
    extra = {"occurred_at": at.isoformat()} if at else {}
    response = post_scan(
        hospital["nurse"], "use", code, department, encounter=encounter, quantity=quantity, **extra
    )
    assert response.status_code == 201, response.json()
    return response.json()


def inpatient(hospital, visit_no, department=None):
    from billing.models import Encounter, Patient

    return Encounter.objects.create(
        visit_no=visit_no,
        patient=Patient.objects.create(patient_id=f"P-{visit_no}", name="李四"),
        department=department or hospital["ward"],
        admitted_at=START - dt.timedelta(days=2),
    )


def transfer(encounter, ward):
    """HIS moves the patient to another ward (转科)."""
    encounter.department = ward
    encounter.save(update_fields=["department"])


def his_billed(hospital, body, **fields):
    return stocked_item(hospital, body, billed_by=Consumable.BilledBy.HIS, **fields)


# -- variance rows ------------------------------------------------------------------------------


def test_day_counts_received_issued_used_and_billed(hospital):
    consumable, _, (code,) = stocked_item(hospital, "690777000001", quantity=10)
    post_scan(hospital["nurse"], "use", code, "XNK", encounter="ZY001", quantity=3)
    post_scan(hospital["nurse"], "return", code, "XNK", encounter="ZY001", quantity=1)
    run = run_today()
    m = consumable.material_code
    assert rows(run) == {("CK01", m): (10, 10, 0, 0, 0), ("XNK", m): (0, 10, 2, 2, 0)}
    assert run.status == "succeeded"
    assert run.totals["used"] == 2


def test_events_of_another_day_are_not_counted(hospital):
    consumable, _, (code,) = stocked_item(hospital, "690777000004")
    yesterday = timezone.now() - dt.timedelta(days=1)
    use(hospital, code, at=yesterday)
    run = run_today()
    assert rows(run)[("XNK", consumable.material_code)][2] == 0


def test_variance_amount_values_each_use_at_the_price_in_force_then(hospital, his):
    """The price changes during the day: the uses before are charged at the old price,
    those after at the new one, and the amount reconciles to the cent."""
    consumable, _, (code,) = stocked_item(hospital, "690777000020", price="3.1416", quantity=20)
    order(his, consumable)
    before, change, after = moments(3)
    use(hospital, code, 3, at=before)
    PriceVersionFactory(
        consumable=consumable,
        purchase_price=Decimal("4.05"),
        charge_price=Decimal("4.05"),
        effective_from=change,
    )
    use(hospital, code, 2, at=after)
    run = run_today()
    row = VarianceRow.objects.get(run=run, department_code="XNK")
    assert (row.used, row.billed, row.variance_qty, row.variance_amount) == (5, 5, 0, Decimal("0"))


def test_unbilled_amount_is_the_value_of_what_was_not_billed(hospital, his):
    consumable, _, (code,) = his_billed(hospital, "690777000021", price="12.34")
    order(his, consumable)
    use(hospital, code, 3)
    his_charge(his, consumable, 1, price="12.34")
    row = VarianceRow.objects.get(run=run_today(), department_code="XNK")
    assert (row.used, row.billed, row.variance_amount, row.variance_pct) == (
        3,
        1,
        Decimal("24.68"),
        Decimal("66.67"),
    )


# -- each exception kind from exactly its anomaly ------------------------------------------------


def test_one_missed_charge_in_a_busy_ward_is_exactly_unbilled_use(hospital, his):
    """100 units used and charged on one patient, one unit used and not charged on another:
    the ward's variance is 1/101 (within 5%), the encounter is one unit short."""
    consumable, _, (code,) = his_billed(hospital, "690777000030", quantity=120)
    inpatient(hospital, "ZY002")
    order(his, consumable, "ZY002")
    use(hospital, code, 100, encounter="ZY002")
    his_charge(his, consumable, 100, encounter="ZY002")
    order(his, consumable)
    use(hospital, code, 1)
    assert exceptions(run_today()) == [
        ("UNBILLED_USE", "XNK", consumable.material_code, "ZY001", 1)
    ]


def test_unbilled_use_alone_in_its_ward_is_also_a_variance(hospital, his):
    """Inseparable: when the only use of an item on a ward that day goes unbilled, the
    encounter is short (UNBILLED_USE) and so is the ward's day, 100% > 5%
    (VARIANCE_OVER_THRESHOLD). docs/contract.md defines both on the same quantities."""
    consumable, _, (code,) = his_billed(hospital, "690777000005")
    order(his, consumable)
    use(hospital, code, 2)
    run = run_today()
    m = consumable.material_code
    assert exceptions(run) == [
        ("UNBILLED_USE", "XNK", m, "ZY001", 2),
        ("VARIANCE_OVER_THRESHOLD", "XNK", m, "", 2),
    ]
    use_id = Use.objects.get(consumable=consumable).pk
    assert run.exceptions.get(kind="UNBILLED_USE").ref == f"use:{use_id}"
    assert run.exceptions.get(kind="VARIANCE_OVER_THRESHOLD").ref == f"variance:XNK:{m}"


def test_his_charge_of_a_scan_billed_item_never_used_is_exactly_charge_without_use(hospital, his):
    consumable, _, _ = stocked_item(hospital, "690777000031")
    order(his, consumable)
    charge = his_charge(his, consumable, 2)
    run = run_today()
    assert exceptions(run) == [("CHARGE_WITHOUT_USE", "XNK", consumable.material_code, "ZY001", 2)]
    assert run.exceptions.get().ref == f"charge:{charge}"


def test_his_charge_on_top_of_a_scanned_use_is_exactly_duplicate_charge(hospital, his):
    """The ward used 100 units that day, so one unit charged twice is a 1% variance."""
    consumable, _, (code,) = stocked_item(hospital, "690777000032", quantity=120)
    inpatient(hospital, "ZY002")
    order(his, consumable, "ZY002")
    use(hospital, code, 100, encounter="ZY002")
    order(his, consumable)
    use(hospital, code, 1)
    charge = his_charge(his, consumable, 1)
    run = run_today()
    assert exceptions(run) == [("DUPLICATE_CHARGE", "XNK", consumable.material_code, "ZY001", 1)]
    assert run.exceptions.get().ref == f"charge:{charge}"


def test_charge_at_another_price_is_exactly_price_mismatch(hospital, his):
    consumable, _, (code,) = his_billed(hospital, "690777000033", price="25.5")
    order(his, consumable)
    use(hospital, code, 2)
    charge = his_charge(his, consumable, 2, price="30")
    run = run_today()
    assert exceptions(run) == [("PRICE_MISMATCH", "XNK", consumable.material_code, "ZY001", 2)]
    mismatch = run.exceptions.get()
    assert mismatch.ref == f"charge:{charge}"
    assert (mismatch.detail["charge_price"], mismatch.detail["amount_difference"]) == (
        "25.5000",
        "9.00",
    )


def test_charge_without_doctor_order_is_exactly_charge_without_order(hospital):
    consumable, _, (code,) = stocked_item(hospital, "690777000034")
    charge = use(hospital, code, 1)["charge"]["id"]
    run = run_today()
    assert exceptions(run) == [
        ("CHARGE_WITHOUT_ORDER", "XNK", consumable.material_code, "ZY001", 1)
    ]
    assert run.exceptions.get().ref == f"charge:{charge}"


def test_order_entered_the_next_day_does_not_change_the_day(hospital, his):
    consumable, _, (code,) = stocked_item(hospital, "690777000035")
    use(hospital, code, 1)
    his.post(
        "/api/v1/orders",
        {
            "order_id": "O-LATE",
            "encounter": "ZY001",
            "order_code": consumable.order_code,
            "quantity": 1,
            "ordered_at": END.isoformat(),
        },
        format="json",
    )
    assert [e[0] for e in exceptions(run_today())] == ["CHARGE_WITHOUT_ORDER"]


def test_receipt_above_the_purchase_price_is_exactly_purchase_price_mismatch(hospital):
    consumable, di, _ = stocked_item(hospital, "690777000006", price="10")
    response = post_scan(
        hospital["keeper"],
        "receive",
        gs1(di, lot="L9"),
        "CK01",
        supplier="GYS01",
        unit_cost="11",
        quantity=1,
    )
    run = run_today()
    assert exceptions(run) == [("PURCHASE_PRICE_MISMATCH", "CK01", consumable.material_code, "", 1)]
    mismatch = run.exceptions.get()
    assert mismatch.ref.startswith("receipt_line:")
    assert (mismatch.detail["unit_cost"], mismatch.detail["purchase_price"]) == (
        "11.0000",
        "10.0000",
    )
    assert response.json()["warnings"] == ["PURCHASE_PRICE_MISMATCH"]


def test_platform_price_below_purchase_is_exactly_four_price_misaligned(hospital):
    consumable, _, _ = stocked_item(hospital, "690777000007", price="10")
    ExternalPriceFactory(
        consumable=consumable,
        kind=ExternalPrice.Kind.PLATFORM,
        price=Decimal("9"),
        effective_from=timezone.now() - dt.timedelta(days=1),
    )
    run = run_today()
    assert exceptions(run) == [("FOUR_PRICE_MISALIGNED", "", consumable.material_code, "", None)]
    found = run.exceptions.get()
    assert found.ref == f"consumable:{consumable.material_code}"
    assert found.detail["violations"] == ["PURCHASE_ABOVE_PLATFORM"]
    assert (found.detail["platform_price"], found.detail["purchase_price"]) == (
        "9.0000",
        "10.0000",
    )


def test_misalignment_during_part_of_the_day_is_reported(hospital):
    consumable, _, _ = stocked_item(hospital, "690777000008", price="10")
    fell, recovered = moments(2)
    for price, at in (("12", START - dt.timedelta(days=5)), ("9", fell), ("12", recovered)):
        ExternalPriceFactory(
            consumable=consumable, kind=ExternalPrice.Kind.PLATFORM, price=price, effective_from=at
        )
    run = run_today()
    (found,) = run.exceptions.all()
    assert (found.kind, found.detail["platform_price"]) == ("FOUR_PRICE_MISALIGNED", "9.0000")
    assert dt.datetime.fromisoformat(found.detail["in_force_at"]) == fell


def test_misalignment_mended_before_the_day_is_not_reported(hospital):
    consumable, _, _ = stocked_item(hospital, "690777000009", price="10")
    for price, days in (("9", 5), ("12", 1)):
        ExternalPriceFactory(
            consumable=consumable,
            kind=ExternalPrice.Kind.PLATFORM,
            price=price,
            effective_from=START - dt.timedelta(days=days),
        )
    assert exceptions(run_today()) == []


def test_use_billed_to_the_patients_own_ward_is_exactly_variance_over_threshold(hospital, his):
    """A patient used an item on XNK, was transferred to another ward, and HIS bills the
    item to the patient's ward of the moment: the encounter is square, XNK used what it did
    not bill (100% > 5%), and the other ward billed what it did not use (used 0: no
    percentage, no exception)."""
    consumable, _, (code,) = his_billed(hospital, "690777000036")
    other = DepartmentFactory(code="WKB", name="外科病区")
    patient = inpatient(hospital, "ZY002")
    order(his, consumable, "ZY002")
    use(hospital, code, 1, encounter="ZY002")
    transfer(patient, other)
    his_charge(his, consumable, 1, encounter="ZY002")
    run = run_today()
    m = consumable.material_code
    assert exceptions(run) == [("VARIANCE_OVER_THRESHOLD", "XNK", m, "", 1)]
    assert rows(run)[("WKB", m)] == (0, 0, 0, 1, -1)
    found = run.exceptions.get()
    assert found.ref == f"variance:XNK:{m}"
    assert (found.detail["variance_pct"], found.detail["threshold_pct"]) == ("100.00", "5")


@override_settings(RECONCILIATION_VARIANCE_THRESHOLD_PCT="60")
def test_the_threshold_is_a_setting(hospital, his):
    consumable, _, (code,) = his_billed(hospital, "690777000037")
    other = DepartmentFactory(code="WKB", name="外科病区")
    patient = inpatient(hospital, "ZY002")
    order(his, consumable, "ZY002")
    use(hospital, code, 2, encounter="ZY002")
    transfer(patient, other)
    his_charge(his, consumable, 1, encounter="ZY002")  # XNK bills 0 of 2, WKB 1
    order(his, consumable)
    use(hospital, code, 2)
    his_charge(his, consumable, 2)
    run = run_today()
    # XNK: used 4, billed 2: 50%, under the 60% threshold; ZY002 is one short.
    assert [e[0] for e in exceptions(run)] == ["UNBILLED_USE"]
    assert run.threshold_pct == Decimal("60")


def test_non_chargeable_item_used_is_no_variance_exception(hospital, his):
    consumable, _, (code,) = stocked_item(
        hospital, "690777000038", chargeable=False, billed_by=Consumable.BilledBy.HIS
    )
    order(his, consumable)
    use(hospital, code, 3)
    run = run_today()
    assert exceptions(run) == []
    assert rows(run)[("XNK", consumable.material_code)][2:] == (3, 0, 3)


# -- runs ---------------------------------------------------------------------------------------


def mixed_day(hospital, his):
    """An HIS-billed item used twice and charged once at another price, and a scan-billed
    item charged again at HIS: pair, line and variance findings on one day."""
    consumable, _, (code,) = his_billed(hospital, "690777000002")
    scan_item, _, (scan_code,) = stocked_item(hospital, "690777000039")
    use(hospital, code, 2)
    his_charge(his, consumable, 1, price="30")
    use(hospital, scan_code, 1)
    his_charge(his, scan_item, 1)


def test_rerun_gives_identical_rows(hospital, his):
    mixed_day(hospital, his)
    first = run_today()
    before = stored(first)
    assert len(before[1]) >= 4
    second = run_today()
    assert second.pk == first.pk
    assert stored(second) == before
    assert second.attempts == 2


@pytest.mark.parametrize(
    "module, step, beside",
    [
        (reconciliation, "four_price_exceptions", False),
        # the matching, read on a second connection when no test transaction is around
        pytest.param(
            rules,
            "matching_for_day",
            True,
            marks=[pytest.mark.postgres, pytest.mark.django_db(transaction=True)],
        ),
    ],
)
def test_failed_run_leaves_the_previous_result(hospital, module, step, beside):
    consumable, _, (code,) = stocked_item(hospital, "690777000003")
    use(hospital, code)
    good = stored(run_today())
    use(hospital, code)
    threads = []

    def killed(*args, **kwargs):
        threads.append(threading.current_thread().name)
        raise RuntimeError("killed half-way")

    with mock.patch.object(module, step, side_effect=killed), pytest.raises(RuntimeError):
        run_today()
    assert [name.startswith("beside") for name in threads] == [beside]
    run = ReconciliationRun.objects.get(date=TODAY)
    assert run.status == "failed"
    assert "killed half-way" in run.error
    assert stored(run) == good


@pytest.mark.postgres
def test_matching_read_beside_the_writes_finds_what_it_finds_in_turn(
    hospital, his, transactional_db, monkeypatch
):
    """The nightly run reads the per-encounter matching on a second connection, in its own
    transaction's snapshot, while it writes (config.beside); a run inside a caller's
    transaction reads it in turn. Both store exactly the same rows."""
    mixed_day(hospital, his)
    matching, sessions = rules.matching_for_day, []

    def spy(**bounds):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid(), current_setting('transaction_isolation')")
            sessions.append((threading.current_thread().name, *cursor.fetchone()))
        return matching(**bounds)

    monkeypatch.setattr(rules, "matching_for_day", spy)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (own,) = cursor.fetchone()
    beside = stored(run_today())
    with transaction.atomic():
        in_turn = stored(run_today())
    assert beside == in_turn
    # Pair kinds read beside, line and variance kinds read in the run's own transaction.
    assert {e.kind for e in ExceptionRow.objects.all()} == {
        "UNBILLED_USE",
        "SUBSTITUTION",
        "PRICE_MISMATCH",
        "CHARGE_WITHOUT_ORDER",
        "VARIANCE_OVER_THRESHOLD",
    }
    (thread, pid, isolation), (thread_2, pid_2, _) = sessions
    assert thread.startswith("beside") and pid != own and isolation == "repeatable read"
    assert not thread_2.startswith("beside") and pid_2 == own


def _hold_day_lock(day: dt.date) -> psycopg.Connection:
    """Another session holding the day's lock, as a running worker does."""
    db = connection.settings_dict
    other = psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname=db["NAME"],
        autocommit=True,
    )
    other.execute("SELECT pg_advisory_lock(%s, %s)", [reconciliation.LOCK_SPACE, day.toordinal()])
    return other


@pytest.mark.postgres
def test_running_run_whose_worker_is_gone_is_reported_failed(finance):
    run = ReconciliationRun.objects.create(date=TODAY, status="running", started_at=timezone.now())
    body = finance.get(f"/api/v1/reconciliation/runs/{TODAY}").json()
    assert (body["status"], body["error"]) == ("failed", reconciliation.INTERRUPTED)
    run.refresh_from_db()
    assert run.status == "failed"


@pytest.mark.postgres
def test_the_next_run_of_any_day_recovers_runs_left_running(hospital):
    yesterday = TODAY - dt.timedelta(days=1)
    ReconciliationRun.objects.create(date=yesterday, status="running", started_at=START)
    run_today()
    assert ReconciliationRun.objects.get(date=yesterday).status == "failed"


@pytest.mark.postgres
def test_running_run_whose_worker_holds_the_day_is_still_running(finance):
    ReconciliationRun.objects.create(date=TODAY, status="running", started_at=timezone.now())
    other = _hold_day_lock(TODAY)
    try:
        body = finance.get(f"/api/v1/reconciliation/runs/{TODAY}").json()
        assert body["status"] == "running"
    finally:
        other.close()
    assert finance.get(f"/api/v1/reconciliation/runs/{TODAY}").json()["status"] == "failed"


def test_previous_business_day_is_the_shanghai_calendar_day():
    at = dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC)  # 00:30 on 2 March in Shanghai
    assert reconciliation.previous_business_day(at) == dt.date(2026, 3, 1)


# -- the endpoints ------------------------------------------------------------------------------


def test_run_endpoint_answers_with_contract_fields(hospital, finance, his):
    consumable, _, (code,) = his_billed(hospital, "690777000010")
    order(his, consumable)
    use(hospital, code, 2)
    created = finance.post(
        "/api/v1/reconciliation/runs", {"date": TODAY.isoformat()}, format="json"
    )
    assert created.status_code == 201, created.json()
    detail = finance.get(f"/api/v1/reconciliation/runs/{TODAY}").json()
    assert detail["status"] == "succeeded"
    assert detail["totals"]["exceptions_by_kind"] == {
        "UNBILLED_USE": 1,
        "VARIANCE_OVER_THRESHOLD": 1,
    }
    variances = finance.get(f"/api/v1/reconciliation/runs/{TODAY}/variances").json()
    ward = next(v for v in variances if v["department"] == "XNK")
    assert ward == {
        "department": "XNK",
        "material_code": consumable.material_code,
        "received": 0,
        "issued": 10,
        "used": 2,
        "billed": 0,
        "variance_qty": 2,
        "variance_amount": "51.00",
        "variance_pct": "100.00",
    }
    found = finance.get(f"/api/v1/reconciliation/runs/{TODAY}/exceptions").json()
    assert {tuple(sorted(row)) for row in found} == {
        ("department", "detail", "encounter", "kind", "material_code", "quantity", "ref")
    }
    only = finance.get(
        f"/api/v1/reconciliation/runs/{TODAY}/exceptions", {"kind": "UNBILLED_USE"}
    ).json()
    assert [(r["kind"], r["encounter"], r["quantity"]) for r in only] == [
        ("UNBILLED_USE", "ZY001", 2)
    ]


def test_unknown_day_is_404_and_bad_date_is_404(finance):
    assert finance.get("/api/v1/reconciliation/runs/2020-01-01").status_code == 404
    assert finance.get("/api/v1/reconciliation/runs/2020-13-45").status_code == 404


def test_nurse_may_not_read_reconciliation(hospital):
    response = hospital["nurse"].get(f"/api/v1/reconciliation/runs/{TODAY}")
    assert response.status_code == 403


def test_failed_run_through_the_api_says_so_and_keeps_the_previous_result(hospital, finance):
    consumable, _, (code,) = stocked_item(hospital, "690777000011")
    use(hospital, code)
    finance.post("/api/v1/reconciliation/runs", {"date": TODAY.isoformat()}, format="json")
    good = stored(ReconciliationRun.objects.get(date=TODAY))
    use(hospital, code)
    with mock.patch.object(
        reconciliation, "purchase_price_exceptions", side_effect=ValueError("bad data")
    ):
        response = finance.post(
            "/api/v1/reconciliation/runs", {"date": TODAY.isoformat()}, format="json"
        )
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "RECONCILIATION_FAILED"
    assert (error["detail"]["status"], error["detail"]["error"]) == (
        "failed",
        "ValueError: bad data",
    )
    assert stored(ReconciliationRun.objects.get(date=TODAY)) == good


# -- the Celery tasks and the beat schedule ------------------------------------------------------


def test_transient_database_error_queues_a_retry_and_says_so(hospital):
    from celery.exceptions import Retry
    from django.db import OperationalError

    from billing import tasks

    ReconciliationRun.objects.create(date=TODAY, status="running")
    lost = OperationalError("server closed the connection unexpectedly")
    with (
        mock.patch.object(reconciliation, "reconciliation_run", side_effect=lost),
        mock.patch.object(tasks.reconcile_day, "retry", side_effect=Retry()) as retry,
        pytest.raises(Retry),
    ):
        tasks.reconcile_day.run(TODAY.isoformat())
    assert retry.call_args.kwargs == {"exc": lost, "countdown": 15}
    run = ReconciliationRun.objects.get(date=TODAY)
    assert run.status == "queued"
    assert run.error.startswith("retrying in 15s after OperationalError")


def test_without_a_broker_a_transient_error_fails_the_run_at_once(hospital):
    from django.db import OperationalError

    from billing import tasks

    with (
        mock.patch.object(reconciliation, "store_variances", side_effect=OperationalError("gone")),
        pytest.raises(OperationalError),
    ):
        tasks.reconcile_day.delay(TODAY.isoformat())
    run = ReconciliationRun.objects.get(date=TODAY)
    assert (run.status, run.error) == ("failed", "OperationalError: gone")


def test_run_that_fails_on_bad_data_is_not_retried(hospital):
    from billing import tasks

    with (
        mock.patch.object(
            reconciliation, "variance_exceptions", side_effect=ValueError("bad data")
        ) as broken,
        pytest.raises(ValueError),
    ):
        tasks.reconcile_day.apply(args=[TODAY.isoformat()]).get()
    assert broken.call_count == 1
    run = ReconciliationRun.objects.get(date=TODAY)
    assert (run.status, run.error) == ("failed", "ValueError: bad data")


def test_the_nightly_task_runs_the_business_day_that_ended(hospital):
    from billing import tasks

    yesterday = reconciliation.previous_business_day()
    assert tasks.reconcile_previous_day.apply().get() == yesterday.isoformat()
    assert ReconciliationRun.objects.get(date=yesterday).status == "succeeded"


def test_beat_runs_the_previous_day_at_half_past_midnight_in_shanghai():
    from django.conf import settings

    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["reconcile-previous-day"]
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({0}, {30})
    assert str(app.conf.timezone) == "Asia/Shanghai"


# -- a day of the synthetic hospital against the definitions, evaluated naively --------------


def _naive_matching(start, end) -> list[tuple]:
    """docs/contract.md's matching, by walking every event before ``end`` in Python."""
    from collections import defaultdict

    from billing.models import ChargeLine, ChargeRefund
    from inventory.models import StockMove

    figures = defaultdict(lambda: [0, 0, 0, 0])  # used, returned, charged, refunded
    active = set()

    def add(key, column, quantity, at):
        figures[key][column] += quantity
        if at >= start:
            active.add(key)

    for u in Use.objects.filter(occurred_at__lt=end).values_list(
        "encounter_id", "consumable_id", "quantity", "occurred_at"
    ):
        add(u[:2], 0, u[2], u[3])
    for r in StockMove.objects.filter(
        kind="return", reverses__use__isnull=False, occurred_at__lt=end
    ).values_list("reverses__use__encounter_id", "consumable_id", "quantity", "occurred_at"):
        add(r[:2], 1, r[2], r[3])
    for c in ChargeLine.objects.filter(charged_at__lt=end).values_list(
        "encounter_id", "consumable_id", "quantity", "charged_at"
    ):
        add(c[:2], 2, c[2], c[3])
    for f in ChargeRefund.objects.filter(refunded_at__lt=end).values_list(
        "charge__encounter_id", "charge__consumable_id", "quantity", "refunded_at"
    ):
        add(f[:2], 3, f[2], f[3])
    items = {c.pk: c for c in Consumable.objects.all()}
    visits = dict(Encounter.objects.values_list("pk", "visit_no"))
    net = {key: (f[0] - f[1], f[2] - f[3]) for key, f in figures.items()}

    def generic(item):
        code = item.insurance_code or ""
        return code[:10] if len(code) >= 10 else None

    found = []
    for key, (net_used, net_charged) in net.items():
        item = items[key[1]]
        scan = item.tracking == Consumable.Tracking.UNIT or item.billed_by == "scan"
        # The items of the same generic classification used beyond their charge (串换).
        others = [
            other
            for other, (u, c) in net.items()
            if other[0] == key[0]
            and other[1] != key[1]
            and u > c
            and items[other[1]].chargeable
            and generic(item) is not None
            and generic(items[other[1]]) == generic(item)
        ]
        kind = None
        if item.chargeable and net_used > net_charged:
            kind = "UNBILLED_USE"
        elif net_charged > net_used and others:
            kind = "SUBSTITUTION"
        elif net_used > 0 and net_charged > net_used:
            kind = "DUPLICATE_CHARGE"
        elif scan and net_used == 0 and net_charged > 0:
            kind = "CHARGE_WITHOUT_USE"
        reported = key in active or (kind == "SUBSTITUTION" and any(o in active for o in others))
        if kind and reported:
            found.append((kind, visits[key[0]], item.material_code, abs(net_used - net_charged)))
    # CHARGE_OVER_ORDER: per encounter and order code (the item's), net charged above the
    # quantity ordered before ``end``, when there is an order.
    from billing.models import DoctorOrder

    ordered = defaultdict(int)
    for e, code, q in DoctorOrder.objects.filter(ordered_at__lt=end).values_list(
        "encounter_id", "order_code", "quantity"
    ):
        ordered[(e, code)] += q
    by_code = defaultdict(list)
    for key in net:
        code = items[key[1]].order_code
        if code:
            by_code[(key[0], code)].append(key)
    for (e, code), keys in by_code.items():
        charged = sum(net[k][1] for k in keys)
        if (e, code) in ordered and charged > ordered[(e, code)] and set(keys) & active:
            material = items[max(k[1] for k in keys)].material_code
            found.append(("CHARGE_OVER_ORDER", visits[e], material, charged - ordered[(e, code)]))
    return sorted(found)


def _naive_lines(start, end) -> list[tuple]:
    """The line checks with the ORM's price-in-force rule, line by line."""
    from billing.models import ChargeLine, DoctorOrder
    from consumables.prices import approved_version_in_force

    found = []
    lines = ChargeLine.objects.filter(charged_at__gte=start, charged_at__lt=end)
    for line in lines.select_related("encounter", "consumable"):
        refunded = sum(r.quantity for r in line.refunds.all() if r.refunded_at < end)
        net = line.quantity - refunded
        if net <= 0:
            continue
        key = (line.encounter.visit_no, line.consumable.material_code, net)
        version = approved_version_in_force(line.consumable_id, line.charged_at)
        if version is None or version.charge_price != line.unit_price:
            found.append(("PRICE_MISMATCH", *key))
        ordered = DoctorOrder.objects.filter(
            encounter_id=line.encounter_id, order_code=line.order_code, ordered_at__lt=end
        ).exists()
        if line.order_id is None and not ordered:
            found.append(("CHARGE_WITHOUT_ORDER", *key))
    return sorted(found)


@pytest.mark.postgres
def test_a_synthetic_hospital_day_agrees_with_the_naive_definitions_and_reruns_identically():
    from bench.generate import Shape, generate
    from bench.reconciliation import BASELINE_SQL, MATCHING_FLOOR_SQL

    shape, _ = generate(
        Shape(consumables=400, departments=6, days=4, uses_per_day=1500, formulary=80),
        bulk=False,
    )
    day = shape.last_day
    start, end = business_day_bounds(day)
    run = reconciliation.reconciliation_run(day=day)
    assert run.status == "succeeded", run.error
    first = stored(run)

    with connection.cursor() as cursor:
        cursor.execute(BASELINE_SQL, rules.sql_params(since=start, until=end))
        plain = {tuple(int(v) for v in row) for row in cursor.fetchall()}
    assert (
        set(
            VarianceRow.objects.filter(run=run).values_list(
                "department_id", "consumable_id", "received", "issued", "used", "billed"
            )
        )
        == plain
    )

    # The bench's matching floor sums what it says: the day's encounters' uses and charges
    # up to the day's end, per encounter and item.
    with connection.cursor() as cursor:
        cursor.execute(MATCHING_FLOOR_SQL, rules.sql_params(since=start, until=end))
        floor = {(e, c): (int(u), int(ch)) for e, c, u, ch in cursor.fetchall()}
    of_day = {"occurred_at__gte": start, "occurred_at__lt": end}
    touched = set(Use.objects.filter(**of_day).values_list("encounter_id", flat=True)) | set(
        ChargeLine.objects.filter(charged_at__gte=start, charged_at__lt=end).values_list(
            "encounter_id", flat=True
        )
    )
    naive: dict = {}
    for e, c, q in Use.objects.filter(encounter_id__in=touched, occurred_at__lt=end).values_list(
        "encounter_id", "consumable_id", "quantity"
    ):
        used, charged = naive.get((e, c), (0, 0))
        naive[(e, c)] = (used + q, charged)
    for e, c, q in ChargeLine.objects.filter(
        encounter_id__in=touched, charged_at__lt=end
    ).values_list("encounter_id", "consumable_id", "quantity"):
        used, charged = naive.get((e, c), (0, 0))
        naive[(e, c)] = (used, charged + q)
    assert floor == naive and len(floor) > 100

    def kinds_of(*wanted):
        return sorted(
            (e.kind, e.encounter_no, e.material_code, e.quantity)
            for e in run.exceptions.filter(kind__in=wanted)
        )

    matching = _naive_matching(start, end)
    lines = _naive_lines(start, end)
    assert {k for k, *_ in matching} >= {"UNBILLED_USE", "DUPLICATE_CHARGE", "CHARGE_OVER_ORDER"}
    assert {k for k, *_ in lines} == {"PRICE_MISMATCH", "CHARGE_WITHOUT_ORDER"}
    pair_kinds = ("UNBILLED_USE", "DUPLICATE_CHARGE", "CHARGE_WITHOUT_USE", "SUBSTITUTION")
    assert kinds_of(*pair_kinds, "CHARGE_OVER_ORDER") == matching
    assert kinds_of("PRICE_MISMATCH", "CHARGE_WITHOUT_ORDER") == lines
    assert set(run.totals["exceptions_by_kind"]) >= {
        "PURCHASE_PRICE_MISMATCH",
        "FOUR_PRICE_MISALIGNED",
        "VARIANCE_OVER_THRESHOLD",
    }

    again = reconciliation.reconciliation_run(day=day)
    assert stored(again) == first


def test_a_day_that_has_not_begun_is_refused(finance):
    tomorrow = TODAY + dt.timedelta(days=1)
    for day in (tomorrow.isoformat(), "9999-12-31", "1899-12-31"):
        response = finance.post("/api/v1/reconciliation/runs", {"date": day}, format="json")
        assert response.status_code == 400, day
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert not ReconciliationRun.objects.exists()
