"""The ward every bedside browser test starts from: the central store CK01, the cardiology
ward XNK (with theatre SSS when asked), the surgical ward WKB, supplier GYS01, a storekeeper
and a nurse, 张三 (ZY001) and 李四 (ZY002) on XNK and 王五 (ZY009) on WKB."""

import datetime as dt

from django.utils import timezone

from billing.models import Encounter, Patient
from config import roles
from consumables.models import Consumable
from organisation.models import Department, Supplier
from tests.billing.conftest import client_for, stocked_item
from tests.factories import DepartmentFactory

PATIENTS = {"ZY001": "张三", "ZY002": "李四"}


def bedside_ward(*, theatre: bool = True) -> dict:
    """The hospital dict ``stocked_item`` takes: store, ward, keeper, nurse (and theatre)."""
    store = DepartmentFactory(code="CK01", name="中心库房", kind=Department.Kind.STORE)
    ward = DepartmentFactory(code="XNK", name="心内科病区")
    nurse_departments = [ward]
    hospital = {"store": store, "ward": ward}
    if theatre:
        hospital["theatre"] = DepartmentFactory(
            code="SSS", name="中心手术室", kind=Department.Kind.THEATRE
        )
        nurse_departments.append(hospital["theatre"])
    other = DepartmentFactory(code="WKB", name="外科病区")
    Supplier.objects.create(code="GYS01", name="四川某医疗器械有限公司")
    hospital["keeper"] = client_for("store01", roles.STOREKEEPER, store)
    hospital["nurse"] = client_for("nurse01", roles.NURSE, *nurse_departments)
    admitted = timezone.now() - dt.timedelta(days=2)
    for visit_no, name, department in [
        *[(v, n, ward) for v, n in PATIENTS.items()],
        ("ZY009", "王五", other),
    ]:
        Encounter.objects.create(
            visit_no=visit_no,
            patient=Patient.objects.create(patient_id=f"P-{visit_no}", name=name),
            department=department,
            admitted_at=admitted,
        )
    return hospital


def stock_stents_and_lens(hospital: dict) -> None:
    """Two serial-tracked stents (SN0001, SN0002) and a self-pay lens issued to XNK:
    ``stent_di``, ``stents`` (their codes) and ``lens`` (its code) go into ``hospital``."""
    _, hospital["stent_di"], hospital["stents"] = stocked_item(
        hospital,
        "690999000003",
        name="药物洗脱冠脉支架",
        spec="3.0×18mm",
        price="5800",
        tracking=Consumable.Tracking.UNIT,
        value_class=Consumable.ValueClass.HIGH,
        serials=["SN0001", "SN0002"],
    )
    _, _, (hospital["lens"],) = stocked_item(
        hospital,
        "690999000004",
        name="人工晶体",
        spec="+21.0D",
        price="3600",
        insurance_class=Consumable.InsuranceClass.SELF_PAY,
    )
