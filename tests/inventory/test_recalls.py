"""Recalls (召回): registration, refusal at every scan, where the units went, exports."""

import csv
import datetime as dt
import io
import uuid
from decimal import Decimal

import openpyxl
import pytest
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from config import roles
from config.errors import DomainError
from consumables.models import Consumable
from consumables.udi import gtin_check_digit
from inventory.ledger import NewMove, department_location, post_moves, virtual_location
from inventory.models import Lot, Recall, TrackedUnit
from inventory.services.recall import recall_register
from organisation.models import Department, Location, Supplier
from tests.factories import (
    ConsumableFactory,
    DepartmentFactory,
    DeviceIdentifierFactory,
    PriceVersionFactory,
)


def gtin(body12: str) -> str:
    body = "0" + body12
    return body + gtin_check_digit(body)


def gs1(di, lot):
    expiry = (timezone.localdate() + dt.timedelta(days=365)).strftime("%y%m%d")
    return f"01{di}17{expiry}10{lot}"


def person(username, role, *departments):
    user = User.objects.create_user(username, password="pw-123456!")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    for department in departments:
        department.members.add(user)
    return user


def browser(user):
    client = Client()
    client.force_login(user)
    return client


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def scan(client, action, code, department, **extra):
    body = {"event_id": str(uuid.uuid4()), "action": action, "code": code, "department": department}
    return client.post("/api/v1/scans", {**body, **extra}, format="json")


def receive(client, code, quantity=5):
    return scan(
        client,
        "receive",
        code,
        "CK01",
        quantity=quantity,
        supplier="GYS01",
        invoice_no="INV-1",
        unit_cost="10.00",
    )


def move(kind, lot, quantity, source, target, encounter_no=""):
    with transaction.atomic():
        post_moves(
            [
                NewMove(
                    kind=kind,
                    lot=lot,
                    quantity=quantity,
                    from_location=source,
                    to_location=target,
                    occurred_at=timezone.now(),
                    encounter_no=encounter_no,
                )
            ]
        )


@pytest.fixture
def hospital(db):
    store = DepartmentFactory(code="CK01", name="中心库房", kind=Department.Kind.STORE)
    ward = DepartmentFactory(code="XNK", name="心内科病区")
    Supplier.objects.create(code="GYS01", name="四川某医疗器械有限公司")
    consumable = ConsumableFactory(tracking=Consumable.Tracking.LOT)
    di = DeviceIdentifierFactory(consumable=consumable, udi_di=gtin("690123402001"))
    PriceVersionFactory(
        consumable=consumable, purchase_price=Decimal("10"), charge_price=Decimal("10")
    )
    keeper = person("keeper1", roles.STOREKEEPER, store, ward)
    return {
        "store": store,
        "ward": ward,
        "consumable": consumable,
        "di": di.udi_di,
        "keeper": keeper,
    }


@pytest.fixture
def traced(hospital):
    """Lot BAD: 6 received, 4 issued to the ward, 2 used by encounter ZY001 and 1 by ZY002
    (who returned it); lot GOOD: 3 in the store. BAD is then recalled."""
    data = hospital
    store, ward = department_location(data["store"]), department_location(data["ward"])
    supplier, patient = (
        virtual_location(Location.Usage.SUPPLIER),
        virtual_location(Location.Usage.PATIENT),
    )
    bad = Lot.objects.create(consumable=data["consumable"], lot_no="BAD")
    good = Lot.objects.create(consumable=data["consumable"], lot_no="GOOD")
    move("receive", bad, 6, supplier, store)
    move("receive", good, 3, supplier, store)
    move("issue", bad, 4, store, ward)
    move("use", bad, 2, ward, patient, encounter_no="ZY001")
    move("use", bad, 1, ward, patient, encounter_no="ZY002")
    move("return", bad, 1, patient, ward, encounter_no="ZY002")
    (recall,) = recall_register(
        code_or_di=data["di"], lot_nos=["BAD"], reason="无菌屏障破损", user=data["keeper"]
    )
    return {**data, "recall": recall}


def test_registered_recall_refuses_receive_and_issue_scans(hospital):
    data = hospital
    client = api(data["keeper"])
    assert receive(client, gs1(data["di"], "R1")).status_code == 201
    recall_register(code_or_di=data["di"], lot_nos=["R1"], reason="厂家召回", user=data["keeper"])
    received = receive(client, gs1(data["di"], "R1"))
    issued = scan(
        client, "issue", gs1(data["di"], "R1"), "XNK", from_department="CK01", quantity=1
    )
    assert (received.status_code, received.json()["error"]["code"]) == (409, "RECALLED")
    assert (issued.status_code, issued.json()["error"]["code"]) == (409, "RECALLED")


def test_recall_of_other_lots_leaves_this_lot_usable(hospital):
    data = hospital
    recall_register(code_or_di=data["di"], lot_nos=["X9"], reason="厂家召回", user=data["keeper"])
    assert receive(api(data["keeper"]), gs1(data["di"], "R2")).status_code == 201


def test_recall_of_all_lots_refuses_every_lot(hospital):
    data = hospital
    (recall,) = recall_register(
        code_or_di=data["consumable"].material_code, lot_nos=[], reason="注册证注销", user=None
    )
    assert (recall.lot_no, recall.udi_di) == ("", data["di"])
    response = receive(api(data["keeper"]), gs1(data["di"], "ANY"))
    assert response.json()["error"]["code"] == "RECALLED"


def test_scanned_udi_without_lots_recalls_the_lot_it_carries(hospital):
    data = hospital
    (recall,) = recall_register(
        code_or_di=gs1(data["di"], "L77"), lot_nos=[], reason="标签错误", user=data["keeper"]
    )
    assert (recall.consumable, recall.lot_no) == (data["consumable"], "L77")


def test_recall_of_a_lot_already_recalled_is_refused(hospital):
    data = hospital
    kwargs = {"code_or_di": data["di"], "reason": "厂家召回", "user": data["keeper"]}
    recall_register(lot_nos=["A1"], **kwargs)
    with pytest.raises(DomainError) as info:
        recall_register(lot_nos=["A2", "A1"], **kwargs)
    assert (info.value.code, info.value.detail["lots"]) == ("ALREADY_RECALLED", ["A1"])
    assert Recall.objects.count() == 1


def test_unknown_code_cannot_be_recalled(hospital):
    with pytest.raises(DomainError) as info:
        recall_register(code_or_di="NOSUCHCODE", lot_nos=["A"], reason="x", user=None)
    assert info.value.code == "UNKNOWN_CODE"


def test_register_page_creates_one_recall_per_lot(hospital):
    data = hospital
    response = browser(data["keeper"]).post(
        "/inventory/recalls/new/",
        {"code_or_di": data["di"], "lot_nos": "B1\nB2, B3", "reason": "厂家通知召回"},
    )
    assert response.status_code == 302
    assert sorted(Recall.objects.values_list("lot_no", flat=True)) == ["B1", "B2", "B3"]


def test_register_page_needs_lots_or_all_lots_ticked(hospital):
    data = hospital
    response = browser(data["keeper"]).post(
        "/inventory/recalls/new/", {"code_or_di": data["di"], "reason": "厂家通知召回"}
    )
    assert response.status_code == 400
    assert "全部批次" in response.content.decode()
    assert not Recall.objects.exists()


def test_recall_page_shows_remaining_units_per_location(traced):
    data = traced
    page = browser(data["keeper"]).get(f"/inventory/recalls/{data['recall'].pk}/")
    assert page.status_code == 200
    stock = page.context["stock"]
    assert {(row["department_code"], row["lot_no"], row["quantity"]) for row in stock} == {
        ("CK01", "BAD", 2),
        ("XNK", "BAD", 2),
    }
    assert page.context["stock_total"] == 4


def test_recall_page_lists_the_encounters_that_kept_a_unit(traced):
    data = traced
    page = browser(data["keeper"]).get(f"/inventory/recalls/{data['recall'].pk}/")
    rows = page.context["encounters"]
    assert [(r["encounter_no"], r["lot_no"], r["net"], r["department_code"]) for r in rows] == [
        ("ZY001", "BAD", 2, "XNK")
    ]
    assert "ZY001" in page.content.decode()


def test_recall_page_shows_serials_of_tracked_units(hospital):
    data = hospital
    consumable = ConsumableFactory(tracking=Consumable.Tracking.UNIT)
    di = DeviceIdentifierFactory(consumable=consumable, udi_di=gtin("690123402002"))
    lot = Lot.objects.create(consumable=consumable, lot_no="K1")
    ward = department_location(data["ward"])
    move("receive", lot, 2, virtual_location(Location.Usage.SUPPLIER), ward)
    for serial in ("SN1", "SN2"):
        TrackedUnit.objects.create(
            consumable=consumable, lot=lot, serial=serial, location=ward, received_at=timezone.now()
        )
    (recall,) = recall_register(
        code_or_di=di.udi_di, lot_nos=["K1"], reason="召回", user=data["keeper"]
    )
    page = browser(data["keeper"]).get(f"/inventory/recalls/{recall.pk}/")
    assert page.context["stock"][0]["serials"] == ["SN1", "SN2"]
    assert "SN2" in page.content.decode()


def test_encounters_export_as_xlsx_is_readable(traced):
    data = traced
    response = browser(data["keeper"]).get(
        f"/inventory/recalls/{data['recall'].pk}/export/encounters.xlsx"
    )
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    assert header[0] == "就诊号"
    assert len(rows) == 2
    record = dict(zip(header, rows[1], strict=True))
    assert (record["就诊号"], record["批号"], str(record["净使用数量"])) == ("ZY001", "BAD", "2")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_recall_exports_quote_formula_names_and_keep_quantities_numeric(traced, fmt):
    """Both recall downloads go through the one writer (config.exports): a consumable or a
    ward named like a formula comes out as quoted text, a quantity as a number."""
    from tests.security.test_export_injection import (
        PAYLOADS,
        assert_no_formula_in_csv,
        assert_no_formula_in_xlsx,
        assert_payloads_quoted,
        csv_rows,
        csv_texts,
        xlsx_texts,
    )

    Consumable.objects.filter(pk=traced["consumable"].pk).update(name=PAYLOADS[0])
    Department.objects.filter(pk=traced["ward"].pk).update(name=PAYLOADS[1])
    page = browser(traced["keeper"])
    for what, quantity in (("encounters", "净使用数量"), ("stock", "数量")):
        body = page.get(f"/inventory/recalls/{traced['recall'].pk}/export/{what}.{fmt}").content
        if fmt == "csv":
            assert_no_formula_in_csv(body)
            assert_payloads_quoted(csv_texts(body), PAYLOADS[:2])
            header, *rows = csv_rows(body)
            assert rows and all(row[header.index(quantity)].isdigit() for row in rows)
        else:
            assert_no_formula_in_xlsx(body)
            assert_payloads_quoted(xlsx_texts(body), PAYLOADS[:2])
            sheet = openpyxl.load_workbook(io.BytesIO(body)).active
            header = [c.value for c in sheet[1]]
            cells = [row[header.index(quantity)] for row in sheet.iter_rows(min_row=2)]
            assert cells and {c.data_type for c in cells} == {"n"}

def test_encounters_and_stock_export_as_csv(traced):
    data = traced
    page = browser(data["keeper"])
    base = f"/inventory/recalls/{data['recall'].pk}/export"
    encounters = page.get(f"{base}/encounters.csv")
    assert encounters["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(encounters.content.decode("utf-8-sig"))))
    assert [(r["就诊号"], r["净使用数量"]) for r in rows] == [("ZY001", "2")]
    stock = page.get(f"{base}/stock.csv")
    rows = list(csv.DictReader(io.StringIO(stock.content.decode("utf-8-sig"))))
    assert sorted((r["科室编码"], r["数量"]) for r in rows) == [("CK01", "2"), ("XNK", "2")]


@pytest.mark.parametrize(
    "role", [roles.STOREKEEPER, roles.PROCUREMENT, roles.INSURANCE_OFFICE, roles.ADMINISTRATOR]
)
def test_recall_pages_open_for_recall_roles(traced, role):
    page = browser(person("viewer", role))
    pk = traced["recall"].pk
    for url in (
        "/inventory/recalls/",
        "/inventory/recalls/new/",
        f"/inventory/recalls/{pk}/",
        f"/inventory/recalls/{pk}/export/stock.xlsx",
    ):
        assert page.get(url).status_code == 200, url


def test_finance_reads_recalls_but_may_not_register_one(traced):
    page = browser(person("viewer", roles.FINANCE))
    pk = traced["recall"].pk
    for url in ("/inventory/recalls/", f"/inventory/recalls/{pk}/"):
        assert page.get(url).status_code == 200, url
    assert page.get("/inventory/recalls/new/").status_code == 403
    response = page.post(
        "/inventory/recalls/new/", {"code_or_di": traced["di"], "lot_nos": "Z", "reason": "x"}
    )
    assert response.status_code == 403


@pytest.mark.parametrize("role", [roles.NURSE, roles.PRICING_OFFICE])
def test_recall_pages_are_forbidden_to_other_roles(traced, role):
    page = browser(person("viewer", role, traced["ward"]))
    pk = traced["recall"].pk
    for url in (
        "/inventory/recalls/",
        f"/inventory/recalls/{pk}/",
        f"/inventory/recalls/{pk}/export/encounters.csv",
    ):
        assert page.get(url).status_code == 403, url
    response = page.post(
        "/inventory/recalls/new/", {"code_or_di": traced["di"], "lot_nos": "Z", "reason": "x"}
    )
    assert response.status_code == 403
    assert Recall.objects.count() == 1
