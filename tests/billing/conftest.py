"""A small hospital with stock on a ward, a nurse, and an inpatient."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import Encounter, Patient
from config import roles
from consumables.models import Consumable
from consumables.udi import gtin_check_digit
from organisation.models import Department, Supplier
from tests.factories import (
    ConsumableFactory,
    DepartmentFactory,
    DeviceIdentifierFactory,
    PriceVersionFactory,
)

GS = "\x1d"


def gtin(body12: str) -> str:
    body = "0" + body12
    return body + gtin_check_digit(body)


def expiry_text(days=365) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).strftime("%y%m%d")


def gs1(di, lot="L1", serial=None, expiry_days=365) -> str:
    code = f"01{di}17{expiry_text(expiry_days)}10{lot}"
    return code + (f"{GS}21{serial}" if serial else "")


def client_for(username, role, *departments, superuser=False) -> APIClient:
    user = User.objects.create_user(username, password="pw-123456!", is_superuser=superuser)
    Group.objects.get_or_create(name=role)
    user.groups.add(Group.objects.get(name=role))
    for department in departments:
        department.members.add(user)
    client = APIClient()
    client.force_authenticate(user)
    client.user = user
    return client


def post_scan(client, action, code, department, **extra):
    body = {
        "event_id": str(extra.pop("event_id", uuid.uuid4())),
        "action": action,
        "code": code,
        "department": department,
        **extra,
    }
    return client.post("/api/v1/scans", body, format="json")


@pytest.fixture
def hospital(db):
    store = DepartmentFactory(code="CK01", name="中心库房", kind=Department.Kind.STORE)
    ward = DepartmentFactory(code="XNK", name="心内科病区")
    Supplier.objects.create(code="GYS01", name="四川某医疗器械有限公司")
    keeper = client_for("store01", roles.STOREKEEPER, store)
    nurse = client_for("nurse01", roles.NURSE, ward)
    patient = Patient.objects.create(patient_id="P001", name="张三")
    encounter = Encounter.objects.create(
        visit_no="ZY001",
        patient=patient,
        department=ward,
        admitted_at=timezone.now() - dt.timedelta(days=2),
    )
    return {"store": store, "ward": ward, "keeper": keeper, "nurse": nurse, "encounter": encounter}


def stocked_item(
    hospital,
    di_body,
    *,
    tracking=Consumable.Tracking.LOT,
    price="25.5",
    quantity=10,
    serials=(),
    billed_by=Consumable.BilledBy.SCAN,
    **fields,
):
    """A consumable with a DI and an approved price, received and issued to the ward."""
    consumable = ConsumableFactory(tracking=tracking, billed_by=billed_by, **fields)
    di = DeviceIdentifierFactory(consumable=consumable, udi_di=gtin(di_body)).udi_di
    PriceVersionFactory(
        consumable=consumable,
        purchase_price=Decimal(price),
        charge_price=Decimal(price),
        effective_from=timezone.now() - dt.timedelta(days=30),
    )
    keeper = hospital["keeper"]
    hospital["ward"].members.add(keeper.user)
    codes = [gs1(di, serial=s) for s in serials] or [gs1(di)]
    for code in codes:
        extra = {} if serials else {"quantity": quantity}
        response = post_scan(
            keeper, "receive", code, "CK01", supplier="GYS01", unit_cost=price, **extra
        )
        assert response.status_code == 201, response.json()
        response = post_scan(keeper, "issue", code, "XNK", from_department="CK01", **extra)
        assert response.status_code == 201, response.json()
    return consumable, di, codes
