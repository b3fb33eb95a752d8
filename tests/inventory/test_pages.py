"""Inventory pages: receiving, issuing, stock on hand and movement history."""

import datetime as dt
import re
import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from config import roles
from consumables.models import Consumable
from consumables.udi import gtin_check_digit
from inventory.ledger import NewMove, department_location, post_moves, virtual_location
from inventory.models import Lot, Recall
from organisation.models import Department, Location, Supplier
from tests.factories import (
    ConsumableFactory,
    DepartmentFactory,
    DeviceIdentifierFactory,
    PriceVersionFactory,
)

GS = "\x1d"
BAD_GTIN = "01069012340000111712123110L1"  # an element string whose GTIN check digit is wrong
PAGES = ["/inventory/receive/", "/inventory/issue/", "/inventory/stock/", "/inventory/history/"]


def gtin(body12: str) -> str:
    body = "0" + body12
    return body + gtin_check_digit(body)


def gs1(di, lot=None, expiry_days=365, serial=None):
    expiry = (timezone.localdate() + dt.timedelta(days=expiry_days)).strftime("%y%m%d")
    code = f"01{di}17{expiry}"
    if lot:
        code += f"10{lot}"
    if serial:
        code += (GS if lot else "") + f"21{serial}"
    return code


def item(di_body, tracking=Consumable.Tracking.LOT, **fields):
    consumable = ConsumableFactory(tracking=tracking, **fields)
    di = DeviceIdentifierFactory(consumable=consumable, udi_di=gtin(di_body))
    PriceVersionFactory(
        consumable=consumable, purchase_price=Decimal("10"), charge_price=Decimal("10")
    )
    return consumable, di.udi_di


def staff(username, role, *departments):
    user = User.objects.create_user(username, password="pw-123456!", first_name=username)
    user.groups.add(Group.objects.get(name=role))
    for department in departments:
        department.members.add(user)
    client = Client()
    client.force_login(user)
    return client


def api(user_client):
    """An API client for the same user as a page client."""
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=user_client.session["_auth_user_id"]))
    return client


def scan(client, action, code, department, **extra):
    body = {"event_id": str(uuid.uuid4()), "action": action, "code": code,
            "department": department, **extra}  # fmt: skip
    response = client.post("/api/v1/scans", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def receive(client, code, **extra):
    extra = {"supplier": "GYS01", "invoice_no": "INV-1", "unit_cost": "10.00", **extra}
    return scan(client, "receive", code, "CK01", **extra)


def stock_lot(department, consumable, lot_no, expiry_days, quantity=5):
    """Put ``quantity`` of a new lot at ``department`` straight through the ledger."""
    lot = Lot.objects.create(
        consumable=consumable,
        lot_no=lot_no,
        expiry=timezone.localdate() + dt.timedelta(days=expiry_days),
    )
    with transaction.atomic():
        post_moves(
            [
                NewMove(
                    kind="receive",
                    lot=lot,
                    quantity=quantity,
                    from_location=virtual_location(Location.Usage.SUPPLIER),
                    to_location=department_location(department),
                    occurred_at=timezone.now(),
                )
            ]
        )
    return lot


def rows(response):
    """The stock table's rows as {lot: class attribute}."""
    html = response.content.decode()
    return dict(
        (lot, cls)
        for cls, lot in re.findall(r'<tr class="([^"]*)" data-department="[^"]*" '
                                   r'data-material-code="[^"]*" data-lot="([^"]*)"', html)
    )  # fmt: skip


@pytest.fixture
def hospital(db):
    departments = {
        "store": DepartmentFactory(code="CK01", name="中心库房", kind=Department.Kind.STORE),
        "store2": DepartmentFactory(code="CK02", name="分库房", kind=Department.Kind.STORE),
        "theatre": DepartmentFactory(code="SS01", name="手术室", kind=Department.Kind.THEATRE),
        "ward": DepartmentFactory(code="XNK", name="心内科病区"),
        "ward2": DepartmentFactory(code="PFK", name="皮肤科病区"),
        "closed": DepartmentFactory(code="OLD", name="撤销病区", is_active=False),
    }
    Supplier.objects.create(code="GYS01", name="四川某医疗器械有限公司")
    return departments


@pytest.fixture
def keeper(hospital):
    return staff("store01", roles.STOREKEEPER, hospital["store"], hospital["theatre"])


# ---------------------------------------------------------------------- access


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_user_is_sent_to_the_login_page(db, url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/accounts/login/?next={url}")


@pytest.mark.parametrize("url", ["/inventory/receive/", "/inventory/issue/"])
def test_nurse_may_not_open_the_scan_pages_of_the_store(hospital, url):
    nurse = staff("nurse01", roles.NURSE, hospital["ward"])
    assert nurse.get(url).status_code == 403


@pytest.mark.parametrize("url", PAGES)
def test_procurement_may_open_no_inventory_page(hospital, url):
    buyer = staff("buyer01", roles.PROCUREMENT, hospital["store"])
    assert buyer.get(url).status_code == 403


@pytest.mark.parametrize(
    ("role", "url"),
    [
        (roles.STOREKEEPER, "/inventory/stock/"),
        (roles.NURSE, "/inventory/stock/"),
        (roles.FINANCE, "/inventory/history/"),
        (roles.INSURANCE_OFFICE, "/inventory/history/"),
        (roles.ADMINISTRATOR, "/inventory/receive/"),
    ],
)
def test_reading_roles_open_stock_and_history(hospital, role, url):
    assert staff("someone", role, hospital["ward"]).get(url).status_code == 200


def test_receive_page_offers_only_own_stores_and_theatres(keeper, hospital):
    hospital["ward"].members.add(User.objects.get(username="store01"))
    response = keeper.get("/inventory/receive/")
    assert response.status_code == 200
    assert [d.code for d in response.context["stores"]] == ["CK01", "SS01"]
    html = response.content.decode()
    assert 'value="CK01"' in html and 'value="SS01"' in html
    assert 'value="CK02"' not in html and 'value="XNK"' not in html
    assert "data-scanbox" in html and "GYS01" in html


def test_receive_page_preselects_the_store_from_the_address(keeper):
    response = keeper.get("/inventory/receive/?store=SS01&invoice_no=INV-9")
    assert response.context["store"].code == "SS01"
    assert 'value="INV-9"' in response.content.decode()


def test_receive_page_without_a_store_disables_the_scan_box(hospital):
    keeper = staff("store02", roles.STOREKEEPER, hospital["ward"])
    response = keeper.get("/inventory/receive/")
    assert response.context["stores"] == []
    assert re.search(r"<input[^>]*data-scanbox[^>]*disabled", response.content.decode())


def test_issue_page_offers_own_stores_and_every_active_ward_and_theatre(keeper):
    response = keeper.get("/inventory/issue/")
    assert response.status_code == 200
    assert [d.code for d in response.context["stores"]] == ["CK01"]
    assert [d.code for d in response.context["wards"]] == ["PFK", "SS01", "XNK"]
    assert response.context["store"].code == "CK01"  # the only one: preselected


# ---------------------------------------------------------------------- issuing: FEFO panel


def test_fefo_panel_lists_usable_lots_first_expiry_first(keeper, hospital):
    consumable, _ = item("690200000001", name="一次性使用输液器")
    stock_lot(hospital["store"], consumable, "LATE", 300, quantity=4)
    stock_lot(hospital["store"], consumable, "SOON", 40, quantity=6)
    stock_lot(hospital["store"], consumable, "GONE", -1, quantity=9)
    stock_lot(hospital["store2"], consumable, "ELSEWHERE", 10)
    response = keeper.get("/inventory/issue/", {"q": "输液器"})
    (panel,) = response.context["fefo"]["items"]
    assert [(b.lot.lot_no, b.quantity) for b in panel["balances"]] == [("SOON", 6), ("LATE", 4)]
    assert panel["total"] == 10


def test_fefo_panel_warns_when_the_scanned_lot_is_not_the_first(keeper, hospital):
    consumable, di = item("690200000002")
    stock_lot(hospital["store"], consumable, "A1", 20)
    stock_lot(hospital["store"], consumable, "B2", 200)
    response = keeper.get("/inventory/issue/", {"q": gs1(di, lot="B2")})
    assert "建议先发批次 A1" in response.content.decode()


def test_fefo_panel_leaves_out_recalled_lots(keeper, hospital):
    consumable, _ = item("690200000003")
    stock_lot(hospital["store"], consumable, "R1", 20)
    stock_lot(hospital["store"], consumable, "OK1", 200)
    Recall.objects.create(consumable=consumable, lot_no="R1", reason="包装密封不良")
    response = keeper.get("/inventory/issue/", {"q": consumable.material_code})
    (panel,) = response.context["fefo"]["items"]
    assert [b.lot.lot_no for b in panel["balances"]] == ["OK1"]


def test_fefo_panel_explains_an_unreadable_code(keeper):
    response = keeper.get("/inventory/issue/", {"q": BAD_GTIN})
    assert response.status_code == 200
    assert response.context["fefo"]["error"].code == "UNREADABLE_CODE"
    assert "GTIN 校验位错误" in response.content.decode()


# ---------------------------------------------------------------------- stock on hand


def test_stock_page_shows_only_the_users_departments(hospital):
    consumable, _ = item("690200000010")
    stock_lot(hospital["ward"], consumable, "W1", 100)
    stock_lot(hospital["ward2"], consumable, "W2", 100)
    nurse = staff("nurse01", roles.NURSE, hospital["ward"])
    response = nurse.get("/inventory/stock/")
    assert [d.code for d in response.context["departments"]] == ["XNK"]
    assert set(rows(response)) == {"W1"}
    assert nurse.get("/inventory/stock/", {"department": "PFK"}).status_code == 403


def test_finance_sees_every_department_and_may_pick_one(hospital):
    consumable, _ = item("690200000011")
    stock_lot(hospital["ward"], consumable, "W1", 100)
    stock_lot(hospital["ward2"], consumable, "W2", 100)
    finance = staff("fin01", roles.FINANCE)
    assert set(rows(finance.get("/inventory/stock/"))) == {"W1", "W2"}
    assert set(rows(finance.get("/inventory/stock/", {"department": "PFK"}))) == {"W2"}


def test_stock_page_highlights_near_expiry_and_expired_rows(keeper, hospital):
    consumable, _ = item("690200000012")
    stock_lot(hospital["store"], consumable, "EXPIRED", -3)
    stock_lot(hospital["store"], consumable, "NEAR", 30)
    stock_lot(hospital["store"], consumable, "TODAY", 0)
    stock_lot(hospital["store"], consumable, "FINE", 31)
    response = keeper.get("/inventory/stock/", {"department": "CK01"})
    assert rows(response) == {
        "EXPIRED": "expired",
        "TODAY": "near-expiry",
        "NEAR": "near-expiry",
        "FINE": "",
    }
    html = response.content.decode()
    assert "已过期" in html and "近效期" in html
    totals = response.context["totals"]
    assert (totals["lines"], totals["quantity"], totals["expired"], totals["near"]) == (4, 20, 1, 2)


def test_stock_page_filters_by_any_of_the_five_codes_or_the_name(keeper, hospital):
    wanted, di = item("690200000013", name="中心静脉导管包")
    other, _ = item("690200000014", name="医用棉签")
    stock_lot(hospital["store"], wanted, "WANT", 100)
    stock_lot(hospital["store"], other, "OTHER", 100)
    for text in (
        "导管",
        wanted.material_code,
        wanted.charge_code,
        wanted.order_code,
        wanted.insurance_code,
        di,
        gs1(di, lot="XYZ"),
    ):
        response = keeper.get("/inventory/stock/", {"department": "CK01", "q": text})
        assert set(rows(response)) == {"WANT"}, text


def test_stock_page_query_count_does_not_grow_with_rows(keeper, hospital):
    def queries_for(lots):
        consumable = ConsumableFactory()
        for n in range(lots):
            stock_lot(hospital["store"], consumable, f"Q{lots}-{n}", n - 5)
        with CaptureQueriesContext(connection) as captured:
            response = keeper.get("/inventory/stock/", {"q": f"Q{lots}-"})
        assert len(rows(response)) == lots
        return len(captured)

    assert queries_for(3) == queries_for(30)


# ---------------------------------------------------------------------- movement history


@pytest.fixture
def issued_unit(keeper, hospital):
    """A unit tracked one-item-one-code, received then issued to XNK; and a second unit of
    the same lot, received only."""
    _, di = item("690200000020", tracking=Consumable.Tracking.UNIT, name="冠脉支架")
    client = api(keeper)
    code = gs1(di, lot="ST1", serial="SN001")
    first = receive(client, code)
    receive(client, gs1(di, lot="ST1", serial="SN002"))
    second = scan(client, "issue", code, "XNK", from_department="CK01")
    return {"code": code, "di": di, "events": [first["event_id"], second["event_id"]]}


def history_rows(response):
    return [(m.kind, m.from_location.code, m.to_location.code) for m in response.context["moves"]]


def test_history_of_a_unit_lists_its_receipt_then_its_issue(keeper, issued_unit):
    response = keeper.get("/inventory/history/", {"code": issued_unit["code"]})
    assert response.status_code == 200
    assert history_rows(response) == [
        ("receive", "SUPPLIER", "DEPT-CK01"),
        ("issue", "DEPT-CK01", "DEPT-XNK"),
    ]
    assert [str(m.event_id) for m in response.context["moves"]] == issued_unit["events"]
    html = response.content.decode()
    assert html.index("入库") < html.index("出库 / issue")
    assert "中心库房 → 心内科病区" in html and "store01" in html


def test_history_of_a_labelled_unit_is_found_by_its_label(keeper, hospital):
    _, di = item("690200000021", tracking=Consumable.Tracking.UNIT)
    client = api(keeper)
    labels = receive(client, gs1(di, lot="NS1"), quantity=2)["labels"]
    scan(client, "issue", labels[1], "XNK", from_department="CK01")
    response = keeper.get("/inventory/history/", {"code": labels[1]})
    assert history_rows(response) == [
        ("receive", "SUPPLIER", "DEPT-CK01"),
        ("issue", "DEPT-CK01", "DEPT-XNK"),
    ]
    response = keeper.get("/inventory/history/", {"code": labels[0]})
    assert history_rows(response) == [("receive", "SUPPLIER", "DEPT-CK01")]


def test_history_of_a_lot_lists_every_move_of_the_lot(keeper, issued_unit):
    response = keeper.get("/inventory/history/", {"code": gs1(issued_unit["di"], lot="ST1")})
    assert [k for k, _, _ in history_rows(response)] == ["receive", "receive", "issue"]


def test_history_by_consumable_and_lot_params(keeper, issued_unit):
    material_code = Consumable.objects.get(name="冠脉支架").material_code
    response = keeper.get("/inventory/history/", {"consumable": material_code, "lot": "ST1"})
    assert len(response.context["moves"]) == 3


def test_history_of_an_item_with_several_lots_asks_for_the_lot(keeper, hospital):
    consumable, _ = item("690200000022")
    stock_lot(hospital["store"], consumable, "L1", 100)
    stock_lot(hospital["store"], consumable, "L2", 200)
    response = keeper.get("/inventory/history/", {"code": consumable.material_code})
    assert [lot.lot_no for lot in response.context["lots"]] == ["L1", "L2"]
    assert response.context["moves"] is None


def test_nurse_sees_only_moves_touching_her_ward(issued_unit, hospital):
    other_nurse = staff("nurse02", roles.NURSE, hospital["ward2"])
    response = other_nurse.get("/inventory/history/", {"code": issued_unit["code"]})
    assert history_rows(response) == []
    assert "仅显示与您所属科室相关的流转" in response.content.decode()
    nurse = staff("nurse01", roles.NURSE, hospital["ward"])
    response = nurse.get("/inventory/history/", {"code": issued_unit["code"]})
    assert history_rows(response) == [("issue", "DEPT-CK01", "DEPT-XNK")]


def test_insurance_office_sees_every_move(issued_unit):
    auditor = staff("audit01", roles.INSURANCE_OFFICE)
    response = auditor.get("/inventory/history/", {"code": issued_unit["code"]})
    assert len(history_rows(response)) == 2
    assert response.context["scoped"] is False


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (BAD_GTIN, "UNREADABLE_CODE"),
        ("WZ-NO-SUCH-ITEM", "UNKNOWN_CODE"),
    ],
)
def test_history_explains_a_code_it_cannot_use(keeper, code, error):
    response = keeper.get("/inventory/history/", {"code": code})
    assert response.status_code == 200
    assert response.context["error"].code == error
    assert 'class="scan-result err"' in response.content.decode()


def test_history_of_an_ambiguous_code_offers_the_candidates(keeper, hospital):
    first, _ = item("690200000023")
    second, _ = item("690200000024")
    # The same number as one item's charge code and the other's order code.
    Consumable.objects.filter(pk=first.pk).update(charge_code="123456")
    Consumable.objects.filter(pk=second.pk).update(order_code="123456")
    response = keeper.get("/inventory/history/", {"code": "123456"})
    assert response.context["error"].code == "AMBIGUOUS_CODE"
    assert f"?consumable={first.material_code}" in response.content.decode()
