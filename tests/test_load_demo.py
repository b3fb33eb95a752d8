"""load_demo: a demo hospital with every role, a five-code catalogue and inpatients, twice."""

import datetime as dt
import io
import time

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db.models import Count, Q
from django.utils import timezone

from billing import demo_history, reconciliation, rules
from billing.models import (
    ChargeLine,
    ChargeRefund,
    Consent,
    DoctorOrder,
    Encounter,
    ExceptionRow,
    Patient,
    ReconciliationRun,
    Use,
    VarianceRow,
)
from billing.selectors.theatre import theatre_uses
from config.business_day import business_day
from config.roles import ROLES
from consumables import demo_data
from consumables.codes import is_valid_insurance_code
from consumables.models import Consumable, DeviceIdentifier, ExternalPrice, PriceVersion
from consumables.prices import FourPrices, four_price_violations, with_prices_in_force
from consumables.submissions.models import SupplierProduct
from consumables.udi import parse_code
from inventory import setup_check
from inventory.demo import SUPPLIER_PAPERS
from inventory.ledger import kept_balances, recompute_balances
from inventory.models import Receipt, ScanEvent, StockBalance, StockMove, Stocktake
from organisation.models import Department, Supplier

pytestmark = pytest.mark.django_db


def load_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    """Everything load_demo writes, as comparable values."""
    User = get_user_model()
    return {
        "departments": sorted(Department.objects.values_list("code", "name", "kind")),
        "members": sorted(Department.members.through.objects.values_list(
            "department__code", "user__username")),
        "users": sorted(User.objects.values_list("username", "is_staff", "is_superuser")),
        "groups": sorted(User.groups.through.objects.values_list("group__name", "user__username")),
        "group_permissions": Group.permissions.through.objects.count(),
        "consumables": sorted(Consumable.objects.values_list(
            "material_code", "charge_code", "order_code", "insurance_code", "name", "spec")),
        "dis": sorted(DeviceIdentifier.objects.values_list(
            "udi_di", "consumable__material_code", "units_per_package", "issuer")),
        "external_prices": sorted(ExternalPrice.objects.values_list(
            "consumable__material_code", "kind", "price", "effective_from")),
        "price_versions": sorted(PriceVersion.objects.values_list(
            "consumable__material_code", "purchase_price", "charge_price", "status")),
        "consumable_history": Consumable.history.count(),
        "department_history": Department.history.count(),
        "patients": sorted(Patient.objects.values_list("patient_id", "name")),
        "encounters": sorted(Encounter.objects.values_list(
            "visit_no", "patient__patient_id", "department__code", "insurance_type",
            "admitted_at")),
        "orders": sorted(DoctorOrder.objects.values_list(
            "order_id", "encounter__visit_no", "order_code", "quantity", "ordered_at")),
        "supplier_products": sorted(SupplierProduct.objects.values_list(
            "supplier_id", "consumable__material_code")),
        "scan_events": ScanEvent.objects.count(),
        "moves": StockMove.objects.count(),
        "balances": sorted(StockBalance.objects.values_list(
            "location_id", "lot_id", "quantity")),
        "uses": Use.objects.count(),
        "charges": sorted(ChargeLine.objects.values_list(
            "event_id", "quantity", "refunded_quantity", "amount")),
        "refunds": ChargeRefund.objects.count(),
        "consents": Consent.objects.count(),
        "stocktakes": sorted(Stocktake.objects.values_list("department__code", "status")),
        "runs": sorted(ReconciliationRun.objects.values_list("date", "status", "computed_at")),
        "variance_rows": VarianceRow.objects.count(),
        "exception_rows": ExceptionRow.objects.count(),
        "encounter_history": Encounter.history.count(),
    }


def test_load_demo_builds_a_demo_hospital():
    output = load_demo("--no-history")

    kinds = Department.objects.values("kind").annotate(n=Count("pk"))
    by_kind = {row["kind"]: row["n"] for row in kinds}
    assert by_kind["ward"] >= 6 and by_kind["theatre"] == 2 and by_kind["store"] >= 1
    names = set(Department.objects.values_list("name", flat=True))
    assert {"中心库房", "心内科病区", "骨科病区", "中心手术室", "介入导管室"} <= names

    User = get_user_model()
    for role in ROLES:
        assert User.objects.filter(groups__name=role).exists(), role
    assert User.objects.get(username="admin").is_superuser
    pricing = User.objects.filter(groups__name="pricing_office", username__startswith="pricing")
    assert pricing.count() >= 2
    assert User.objects.get(username="pricing02").check_password(demo_data.DEMO_PASSWORD)
    assert Department.objects.get(code="XN01").members.filter(username="nurse_xn").exists()
    assert Department.objects.get(code="CK01").members.filter(username="store01").exists()

    consumables = Consumable.objects.annotate(n_dis=Count("device_identifiers"))
    assert consumables.count() >= 300
    assert not consumables.filter(
        Q(charge_code__isnull=True) | Q(order_code__isnull=True)
        | Q(insurance_code__isnull=True) | Q(n_dis=0)
    ).exists()
    assert all(is_valid_insurance_code(c) for c in
               consumables.values_list("insurance_code", flat=True))
    approved = PriceVersion.objects.filter(status=PriceVersion.Status.APPROVED)
    assert not consumables.exclude(pk__in=approved.values("consumable_id")).exists()

    for udi_di, issuer in DeviceIdentifier.objects.values_list("udi_di", "issuer"):
        parsed = parse_code(udi_di)
        assert parsed.issuer in {"gs1", "ma"} and parsed.issuer == issuer, udi_di
        assert parsed.di == udi_di
    assert DeviceIdentifier.objects.filter(issuer="ma").exists()
    boxes = DeviceIdentifier.objects.filter(units_per_package__gt=1)
    assert boxes.filter(consumable__value_class="low").count() >= 100

    stent_vbp = ExternalPrice.objects.filter(
        kind="vbp", consumable__name__contains="药物洗脱支架"
    ).values_list("price", flat=True)
    assert stent_vbp and all(600 <= p <= 900 for p in stent_vbp)

    in_force = with_prices_in_force(Consumable.objects.all(), timezone.now()).values(
        "platform_price", "vbp_price", "purchase_price", "charge_price"
    )
    misaligned = [
        p for p in in_force
        if four_price_violations(FourPrices(
            platform=p["platform_price"], vbp=p["vbp_price"],
            purchase=p["purchase_price"], charge=p["charge_price"],
        ))
    ]
    assert 3 <= len(misaligned) <= 5

    current = [case.visit_no for case in demo_data.inpatients(demo_data.catalogue())]
    assert 15 <= len(current) <= 25
    assert Encounter.objects.filter(visit_no__in=current, discharged_at=None).count() == len(
        current
    )
    assert set(Encounter.objects.values_list("insurance_type", flat=True)) == {
        "职工医保", "居民医保", "自费", "离休", "工伤保险"
    }
    order_codes = set(DoctorOrder.objects.values_list("order_code", flat=True))
    assert order_codes
    assert order_codes <= set(Consumable.objects.values_list("order_code", flat=True))

    assert "http://127.0.0.1:8000/accounts/login/" in output
    assert "http://127.0.0.1:8000/admin/" in output
    assert demo_data.DEMO_PASSWORD in output and "pricing02" in output
    assert "库存" in output

    # The demo is a hospital that could open tomorrow: the set-up check finds nothing (the
    # suppliers came in with their papers, every ward and theatre has staff).
    assert [s.findings for s in setup_check.master_check() if s.count] == []
    assert set(Supplier.objects.values_list("code", "license_no").exclude(license_no="")) == {
        (code, papers[1]) for code, papers in SUPPLIER_PAPERS.items()
    }


def test_demo_supplier_sees_its_own_products_on_the_supplier_page(client):
    load_demo("--no-history")
    products = SupplierProduct.objects.filter(supplier_id="GYS01")
    assert products.count() >= 50
    client.force_login(get_user_model().objects.get(username="supplier01"))
    page = client.get("/master/supplier/")
    assert page.status_code == 200
    assert products.first().consumable.material_code in page.content.decode()


def test_load_demo_twice_changes_nothing():
    started = time.monotonic()
    load_demo()
    first_run = time.monotonic() - started
    first = snapshot()
    assert first["runs"] and first["stocktakes"]
    started = time.monotonic()
    output = load_demo()
    second_run = time.monotonic() - started
    assert snapshot() == first
    assert "the history is there already: unchanged" in output
    # The month is found, not replayed: the second run costs a fraction of the first.
    assert second_run < first_run / 3, (first_run, second_run)
    assert "consumables created" not in output
    assert f"consumables unchanged: {Consumable.objects.count()}" in output


def test_load_demo_keeps_the_password_of_an_existing_real_account():
    User = get_user_model()
    User.objects.create_superuser("admin", "it@hospital.example", "Real-Secret-1")
    load_demo("--no-history")
    admin = User.objects.get(username="admin")
    assert admin.check_password("Real-Secret-1")
    assert admin.groups.filter(name="administrator").exists()


def test_the_demo_hospital_has_a_month_of_history():
    output = load_demo()
    today = business_day(timezone.now())
    month = [today - dt.timedelta(days=n) for n in range(demo_history.HISTORY_DAYS, 0, -1)]

    # Every one of the 30 days before today was reconciled, by the nightly service.
    runs = ReconciliationRun.objects.order_by("date")
    assert [run.date for run in runs] == month
    assert {run.status for run in runs} == {ReconciliationRun.Status.SUCCEEDED}
    assert all(run.totals["used"] > 0 and run.totals["rows"] > 0 for run in runs)
    # ...and each night after its day had ended, not all at once today.
    for run in runs:
        assert business_day(run.finished_at) == run.date + dt.timedelta(days=1)

    # A few of every exception kind the reconciliation knows, spread over the month; but the
    # demo catalogue's items are all chargeable and covered by the fund, so nothing in it can
    # be a split charge or a self-pay charge without consent (tests/billing/test_boundary.py).
    not_in_catalogue = {rules.SPLIT_CHARGE, rules.SELF_PAY_WITHOUT_CONSENT}
    by_kind = {
        kind: ExceptionRow.objects.filter(kind=kind).values_list("run__date", flat=True)
        for kind in reconciliation.EXCEPTION_KINDS
        if kind not in not_in_catalogue
    }
    assert not ExceptionRow.objects.filter(kind__in=not_in_catalogue).exists()
    for kind, days in by_kind.items():
        assert days, f"no {kind} in the demo month"
    assert len(set(by_kind[rules.PRICE_MISMATCH])) >= 2
    assert len(set(by_kind[rules.UNBILLED_USE])) >= 3
    # Yesterday, the day the dashboard and the theatre report open on, has something wrong.
    assert ExceptionRow.objects.filter(run__date=month[-1]).exclude(
        kind=reconciliation.FOUR_PRICE_MISALIGNED
    ).exists()

    # Every department with patients has a month of variance rows; the store its receipts.
    per_department = dict(
        VarianceRow.objects.values_list("department_code").annotate(n=Count("pk")).order_by()
    )
    assert set(demo_history.WARD_FAMILIES) | {"SS01", "DG01", "CK01"} <= set(per_department)
    assert VarianceRow.objects.filter(department_code="CK01", received__gt=0).exists()

    # Bedside uses charged by their scan, HIS charges, refunds, returns and three stocktakes
    # (the ward's two bracket a period of 进销存).
    scan_charges = ChargeLine.objects.filter(source=ChargeLine.Source.SCAN)
    assert scan_charges.count() >= 300
    assert ChargeLine.objects.filter(source=ChargeLine.Source.HIS).count() >= 20
    assert ChargeRefund.objects.filter(user__username="his01").count() >= 3
    assert ChargeRefund.objects.exclude(user__username="his01").exists()  # on a return
    assert StockMove.objects.filter(kind="return", encounter_no="").exists()  # to a store
    assert StockMove.objects.filter(kind="return").exclude(encounter_no="").exists()
    assert StockMove.objects.filter(kind="scrap").exists()
    posted = Stocktake.objects.filter(status=Stocktake.Status.POSTED)
    assert sorted(posted.values_list("department__code", flat=True)) == ["CK01", "XN01", "XN01"]
    assert StockMove.objects.filter(kind="adjust").count() >= 2
    for stocktake in posted:
        assert stocktake.confirmed_by_id != stocktake.counted_by_id
        assert month[0] < business_day(stocktake.posted_at) < today
    assert Receipt.objects.filter(ownership=Receipt.Ownership.CONSIGNMENT).exists()
    assert Encounter.objects.filter(discharged_at__isnull=False).count() >= 50

    # Recorded when it happened: scans stamped through the month, none ahead of now.
    scan_days = {business_day(t) for t in ScanEvent.objects.values_list(
        "created_at", flat=True)}
    assert set(month) <= scan_days
    assert not ScanEvent.objects.filter(created_at__gt=timezone.now()).exists()

    # Yesterday's theatre report has implants with their supplier and ownership.
    rows = theatre_uses(day=month[-1])
    assert rows and all(row["supplier_code"] for row in rows)

    # The ledger's invariants hold: the kept balances are the moves' sums, and a rerun of
    # any night gives what that night stored (the nightly result was final).
    assert kept_balances() == {k: v for k, v in recompute_balances().items() if v}
    before = {
        run.date: sorted(run.variances.values_list(
            "department_code", "material_code", "used", "billed", "variance_amount"))
        for run in runs
    }
    for day in month:
        reconciliation.reconciliation_run(day=day)
    for run in ReconciliationRun.objects.all():
        assert sorted(run.variances.values_list(
            "department_code", "material_code", "used", "billed", "variance_amount"
        )) == before[run.date], run.date

    assert "days reconciled 30" in output
