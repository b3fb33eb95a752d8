"""load_demo: a demo hospital with every role, a five-code catalogue and inpatients, twice."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db.models import Count, Q
from django.utils import timezone

from billing.models import DoctorOrder, Encounter, Patient
from config.roles import ROLES
from consumables import demo_data
from consumables.codes import is_valid_insurance_code
from consumables.models import Consumable, DeviceIdentifier, ExternalPrice, PriceVersion
from consumables.prices import FourPrices, four_price_violations, with_prices_in_force
from consumables.submissions.models import SupplierProduct
from consumables.udi import parse_code
from inventory.models import Department

pytestmark = pytest.mark.django_db


def load_demo() -> str:
    out = io.StringIO()
    call_command("load_demo", stdout=out)
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
            "supplier_code", "consumable__material_code")),
    }


def test_load_demo_builds_a_demo_hospital():
    output = load_demo()

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

    assert 15 <= Encounter.objects.count() <= 25
    assert set(Encounter.objects.values_list("insurance_type", flat=True)) == {
        "职工医保", "居民医保", "自费"
    }
    order_codes = set(DoctorOrder.objects.values_list("order_code", flat=True))
    assert order_codes
    assert order_codes <= set(Consumable.objects.values_list("order_code", flat=True))

    assert "http://127.0.0.1:8000/admin/" in output
    assert demo_data.DEMO_PASSWORD in output and "pricing02" in output
    assert "库存" in output


def test_demo_supplier_sees_its_own_products_on_the_supplier_page(client):
    load_demo()
    products = SupplierProduct.objects.filter(supplier_code="GYS01")
    assert products.count() >= 50
    client.force_login(get_user_model().objects.get(username="supplier01"))
    page = client.get("/master/supplier/")
    assert page.status_code == 200
    assert products.first().consumable.material_code in page.content.decode()


def test_load_demo_twice_changes_nothing():
    load_demo()
    first = snapshot()
    output = load_demo()
    assert snapshot() == first
    assert "consumables created" not in output
    assert f"consumables unchanged: {Consumable.objects.count()}" in output


def test_load_demo_keeps_the_password_of_an_existing_real_account():
    User = get_user_model()
    User.objects.create_superuser("admin", "it@hospital.example", "Real-Secret-1")
    load_demo()
    admin = User.objects.get(username="admin")
    assert admin.check_password("Real-Secret-1")
    assert admin.groups.filter(name="administrator").exists()
