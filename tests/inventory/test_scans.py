"""POST /api/v1/scans for receive, issue, return and scrap (docs/contract.md)."""

import datetime as dt
import json
import threading
import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from config import roles
from consumables.models import Consumable
from consumables.udi import gtin_check_digit
from inventory.ledger import department_location
from inventory.models import Recall, ReceiptLine, ScanEvent, StockBalance, StockMove, TrackedUnit
from organisation.models import Department, Supplier
from tests.factories import (
    ConsumableFactory,
    DepartmentFactory,
    DeviceIdentifierFactory,
    PriceVersionFactory,
)

URL = "/api/v1/scans"
GS = "\x1d"


def gtin(body12: str) -> str:
    body = "0" + body12
    return body + gtin_check_digit(body)


def yymmdd(days: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).strftime("%y%m%d")


def gs1(di, lot=None, expiry_days=365, serial=None):
    code = f"01{di}17{yymmdd(expiry_days)}"
    if lot:
        code += f"10{lot}"
    if serial:
        code += (GS if lot else "") + f"21{serial}"
    return code


@pytest.fixture
def hospital(db):
    store = DepartmentFactory(code="CK01", name="中心库房", kind=Department.Kind.STORE)
    ward = DepartmentFactory(code="XNK", name="心内科病区")
    Supplier.objects.create(code="GYS01", name="四川某医疗器械有限公司")
    return {"store": store, "ward": ward}


def item(di_body, tracking=Consumable.Tracking.LOT, per_box=None, price="10"):
    consumable = ConsumableFactory(tracking=tracking)
    di = DeviceIdentifierFactory(consumable=consumable, udi_di=gtin(di_body))
    PriceVersionFactory(
        consumable=consumable, purchase_price=Decimal(price), charge_price=Decimal(price)
    )
    box = None
    if per_box:
        box = DeviceIdentifierFactory(
            consumable=consumable, udi_di=gtin("9" + di_body[1:]), units_per_package=per_box
        )
    return consumable, di.udi_di, box.udi_di if box else None


def staff(username, role, *departments):
    user = User.objects.create_user(username, password="pw-123456!")
    user.groups.add(Group.objects.get(name=role))
    for department in departments:
        department.members.add(user)
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def client(hospital):
    return staff("store01", roles.STOREKEEPER, hospital["store"], hospital["ward"])


def scan(client, action, code, department, **extra):
    body = {
        "event_id": str(extra.pop("event_id", uuid.uuid4())),
        "action": action,
        "code": code,
        "department": department,
        **extra,
    }
    return client.post(URL, body, format="json")


def receive(client, code, **extra):
    extra.setdefault("supplier", "GYS01")
    extra.setdefault("invoice_no", "INV-001")
    extra.setdefault("unit_cost", "10.00")
    return scan(client, "receive", code, "CK01", **extra)


def on_hand(department, consumable):
    location = department_location(department)
    return sum(
        StockBalance.objects.filter(location=location, consumable=consumable).values_list(
            "quantity", flat=True
        )
    )


def error_code(response):
    return response.json()["error"]["code"]


def test_receive_records_move_balance_and_receipt_line(client, hospital):
    consumable, di, _ = item("690123400001")
    response = receive(client, gs1(di, lot="L1"), quantity=20)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["quantity"], body["lot"], body["warnings"]) == (20, "L1", [])
    assert body["consumable"]["material_code"] == consumable.material_code
    assert on_hand(hospital["store"], consumable) == 20
    line = ReceiptLine.objects.get()
    assert (line.unit_cost, line.price_mismatch) == (Decimal("10"), False)


def test_package_di_receives_its_units_per_package(client, hospital):
    consumable, _, box = item("690123400002", per_box=50)
    response = receive(client, gs1(box, lot="B1"))
    assert response.json()["quantity"] == 50
    assert on_hand(hospital["store"], consumable) == 50


def test_replay_of_same_event_returns_first_answer_and_records_once(client, hospital):
    consumable, di, _ = item("690123400003")
    event_id = uuid.uuid4()
    first = receive(client, gs1(di, lot="L1"), quantity=5, event_id=event_id)
    again = receive(client, gs1(di, lot="L1"), quantity=5, event_id=event_id)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert on_hand(hospital["store"], consumable) == 5
    assert StockMove.objects.count() == 1


def test_same_event_id_with_different_content_is_refused(client, hospital):
    _, di, _ = item("690123400004")
    event_id = uuid.uuid4()
    receive(client, gs1(di, lot="L1"), quantity=5, event_id=event_id)
    response = receive(client, gs1(di, lot="L1"), quantity=6, event_id=event_id)
    assert response.status_code == 409
    assert error_code(response) == "EVENT_ID_REUSED"


def test_cost_differing_from_purchase_price_is_accepted_but_flagged(client, hospital):
    _, di, _ = item("690123400005")
    response = receive(client, gs1(di, lot="L1"), unit_cost="11.50")
    assert response.status_code == 201
    assert response.json()["warnings"] == ["PURCHASE_PRICE_MISMATCH"]
    assert ReceiptLine.objects.get().price_mismatch is True


def assert_refused_and_nothing_recorded(response, code):
    assert response.status_code in {400, 404, 409, 422}, response.json()
    assert error_code(response) == code
    assert response.json()["error"]["message"]
    assert StockMove.objects.count() == 0
    assert ScanEvent.objects.count() == 0


def test_chargeable_item_without_charge_code_cannot_be_received(client, hospital):
    consumable, di, _ = item("690123400006")
    Consumable.objects.filter(pk=consumable.pk).update(charge_code=None)
    assert_refused_and_nothing_recorded(receive(client, gs1(di, lot="L1")), "NO_CHARGE_MAPPING")


def test_chargeable_item_without_approved_price_cannot_be_received(client, hospital):
    consumable = ConsumableFactory()
    di = DeviceIdentifierFactory(consumable=consumable, udi_di=gtin("690123400007"))
    response = receive(client, gs1(di.udi_di, lot="L1"))
    assert_refused_and_nothing_recorded(response, "NO_APPROVED_PRICE")


def test_expired_lot_is_refused_at_receipt(client, hospital):
    _, di, _ = item("690123400008")
    response = receive(client, gs1(di, lot="OLD", expiry_days=-1))
    assert_refused_and_nothing_recorded(response, "EXPIRED")


def test_recalled_lot_is_refused_at_receipt(client, hospital):
    consumable, di, _ = item("690123400009")
    Recall.objects.create(consumable=consumable, lot_no="BAD", reason="无菌屏障破损")
    assert_refused_and_nothing_recorded(receive(client, gs1(di, lot="BAD")), "RECALLED")


@pytest.mark.parametrize(
    ("code", "department", "expected"),
    [
        ("(01)09504000059118(10)X", "CK01", "UNKNOWN_CODE"),
        ("(01)09504000059119(10)X", "CK01", "UNREADABLE_CODE"),
        (None, "NOPE", "UNKNOWN_DEPARTMENT"),
    ],
)
def test_bad_scans_are_refused_with_specific_codes(client, hospital, code, department, expected):
    _, di, _ = item("690123400010")
    response = scan(
        client, "receive", code or gs1(di, lot="L"), department, supplier="GYS01", unit_cost="10"
    )
    assert_refused_and_nothing_recorded(response, expected)


def test_missing_event_id_is_a_validation_error(client, hospital):
    response = client.post(
        URL, {"action": "receive", "code": "x", "department": "CK01"}, format="json"
    )
    assert response.status_code == 400
    assert error_code(response) == "VALIDATION_ERROR"
    assert "event_id" in response.json()["error"]["detail"]


def test_unit_item_without_serial_gets_one_label_per_unit(client, hospital):
    consumable, di, _ = item("690123400011", tracking=Consumable.Tracking.UNIT)
    response = receive(client, gs1(di, lot="K1"), quantity=3)
    labels = response.json()["labels"]
    assert len(labels) == len(set(labels)) == 3
    assert TrackedUnit.objects.filter(consumable=consumable).count() == 3
    issued = scan(client, "issue", labels[1], "XNK", from_department="CK01")
    assert issued.status_code == 201, issued.json()
    assert issued.json()["hospital_barcode"] == labels[1]
    unit = TrackedUnit.objects.get(serial=labels[1])
    assert unit.location == department_location(hospital["ward"])


def test_serial_received_twice_is_refused(client, hospital):
    _, di, _ = item("690123400012", tracking=Consumable.Tracking.UNIT)
    assert receive(client, gs1(di, lot="K1", serial="SN1")).status_code == 201
    response = receive(client, gs1(di, lot="K1", serial="SN1"))
    assert error_code(response) == "ALREADY_RECEIVED"


def test_unit_issued_twice_is_refused_the_second_time(client, hospital):
    _, di, _ = item("690123400013", tracking=Consumable.Tracking.UNIT)
    receive(client, gs1(di, lot="K1", serial="SN1"))
    code = gs1(di, lot="K1", serial="SN1")
    assert scan(client, "issue", code, "XNK", from_department="CK01").status_code == 201
    again = scan(client, "issue", code, "XNK", from_department="CK01")
    assert error_code(again) == "NOT_IN_STOCK"


def test_issue_without_lot_takes_first_expiring_lot(client, hospital):
    consumable, di, _ = item("690123400014")
    receive(client, gs1(di, lot="LATE", expiry_days=300), quantity=5)
    receive(client, gs1(di, lot="SOON", expiry_days=30), quantity=3)
    response = scan(client, "issue", f"(01){di}", "XNK", from_department="CK01", quantity=4)
    assert response.status_code == 201, response.json()
    assert response.json()["moves"] == [
        {"lot": "SOON", "quantity": 3},
        {"lot": "LATE", "quantity": 1},
    ]
    assert on_hand(hospital["ward"], consumable) == 4


def test_issue_beyond_stock_is_refused(client, hospital):
    _, di, _ = item("690123400015")
    receive(client, gs1(di, lot="L1"), quantity=2)
    response = scan(client, "issue", gs1(di, lot="L1"), "XNK", from_department="CK01", quantity=3)
    assert error_code(response) == "NOT_IN_STOCK"


def test_recalled_lot_is_refused_at_issue_but_may_be_returned(client, hospital):
    consumable, di, _ = item("690123400016")
    receive(client, gs1(di, lot="R1"), quantity=2)
    scan(client, "issue", gs1(di, lot="R1"), "XNK", from_department="CK01", quantity=1)
    Recall.objects.create(consumable=consumable, lot_no="R1", reason="厂家召回")
    refused = scan(client, "issue", gs1(di, lot="R1"), "XNK", from_department="CK01", quantity=1)
    assert error_code(refused) == "RECALLED"
    returned = scan(client, "return", gs1(di, lot="R1"), "XNK", quantity=1)
    assert returned.status_code == 201, returned.json()
    assert on_hand(hospital["store"], consumable) == 2
    to_supplier = scan(client, "return", gs1(di, lot="R1"), "CK01", quantity=2)
    assert to_supplier.json()["to"] == "SUPPLIER"
    assert on_hand(hospital["store"], consumable) == 0


def test_scrap_needs_a_reason_and_moves_to_scrap(client, hospital):
    consumable, di, _ = item("690123400017")
    receive(client, gs1(di, lot="S1"), quantity=2)
    assert error_code(scan(client, "scrap", gs1(di, lot="S1"), "CK01", quantity=1)) == (
        "VALIDATION_ERROR"
    )
    response = scan(client, "scrap", gs1(di, lot="S1"), "CK01", quantity=1, reason="包装破损")
    assert response.status_code == 201
    assert on_hand(hospital["store"], consumable) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_same_event_sent_16_times_at_once_makes_one_move(django_user_model):
    DepartmentFactory(code="CK01", kind=Department.Kind.STORE)
    Supplier.objects.create(code="GYS01", name="供应商")
    consumable, di, _ = item("690123400020")
    user = django_user_model.objects.create_user("conc", password="x", is_superuser=True)
    event_id = str(uuid.uuid4())
    barrier = threading.Barrier(16)
    answers = []

    def send():
        client = APIClient()
        client.force_authenticate(user)
        try:
            barrier.wait()
            response = receive(client, gs1(di, lot="C1"), quantity=7, event_id=event_id)
            answers.append((response.status_code, response.json()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] * 15 + [201]
    assert len({json.dumps(body, sort_keys=True) for _, body in answers}) == 1
    assert StockMove.objects.count() == 1
    assert StockBalance.objects.get(consumable=consumable).quantity == 7


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_wards_issuing_the_last_unit_at_once_one_succeeds(django_user_model):
    DepartmentFactory(code="CK01", kind=Department.Kind.STORE)
    DepartmentFactory(code="W1")
    DepartmentFactory(code="W2")
    Supplier.objects.create(code="GYS01", name="供应商")
    _, di, _ = item("690123400021", tracking=Consumable.Tracking.UNIT)
    user = django_user_model.objects.create_user("conc", password="x", is_superuser=True)
    seed = APIClient()
    seed.force_authenticate(user)
    code = gs1(di, lot="K", serial="ONLY")
    assert receive(seed, code).status_code == 201
    barrier = threading.Barrier(2)
    results = []

    def send(ward):
        client = APIClient()
        client.force_authenticate(user)
        try:
            barrier.wait()
            response = scan(client, "issue", code, ward, from_department="CK01")
            results.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(w,)) for w in ("W1", "W2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201, 409]
    assert StockMove.objects.filter(kind="issue").count() == 1
    assert all(b.quantity >= 0 for b in StockBalance.objects.all())


def test_nurse_may_not_receive_stock(hospital):
    nurse = staff("nurse01", roles.NURSE, hospital["ward"])
    _, di, _ = item("690123400030")
    response = receive(nurse, gs1(di, lot="L1"))
    assert response.status_code == 403
    assert StockMove.objects.count() == 0


def test_storekeeper_may_not_receive_into_another_store(hospital):
    other = DepartmentFactory(code="CK02", kind=Department.Kind.STORE)
    keeper = staff("store02", roles.STOREKEEPER, other)
    _, di, _ = item("690123400031")
    response = receive(keeper, gs1(di, lot="L1"))
    assert response.status_code == 403
    assert error_code(response) == "PERMISSION_DENIED"


def test_scan_without_login_is_refused(hospital):
    response = APIClient().post(URL, {}, format="json")
    assert response.status_code in {401, 403}


def test_scan_whose_separator_may_have_been_dropped_is_refused(client, hospital):
    _, di, _ = item("690123400032", tracking=Consumable.Tracking.UNIT)
    response = receive(client, f"01{di}17{yymmdd(300)}10K1" + "211234")
    assert_refused_and_nothing_recorded(response, "UNREADABLE_CODE")
    assert response.json()["error"]["detail"]["reason"] == "AMBIGUOUS_SEPARATOR"


def test_lot_ending_like_a_serial_is_accepted_with_a_warning(client, hospital):
    consumable, di, _ = item("690123400033")
    response = receive(client, f"01{di}17{yymmdd(300)}10A2101")
    assert response.status_code == 201, response.json()
    assert response.json()["lot"] == "A2101"
    assert response.json()["warnings"] == ["POSSIBLE_MISSING_SEPARATOR"]


def test_a_lot_the_ledger_holds_is_not_doubted_again(client, hospital):
    """The doubt belongs to the lot's first receipt: once the store holds lot A2101, its
    next receipt and its issue carry no separator warning (issue 12, item 8)."""
    _, di, _ = item("690123400034")
    code = f"01{di}17{yymmdd(300)}10A2101"
    first = receive(client, code)
    again = receive(client, code)
    assert first.json()["warnings"] == ["POSSIBLE_MISSING_SEPARATOR"]
    assert again.status_code == 201, again.json()
    assert again.json()["warnings"] == []
