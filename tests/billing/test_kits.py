"""Order kits (医嘱套包) split for charging: only the components used are charged."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import ChargeLine, DoctorOrder, Kit, Use
from billing.services.kits import encounter_kit_usage, kit_upsert
from config import roles
from inventory.models import StockBalance, StockMove
from tests.billing.conftest import client_for, post_scan, stocked_item
from tests.factories import ConsumableFactory, DepartmentFactory

pytestmark = pytest.mark.django_db

PAGE = "/billing/kits/ZY001/"
KIT_CODE = "TB-CVC-01"


def use(nurse, code, **extra):
    extra.setdefault("encounter", "ZY001")
    return post_scan(nurse, "use", code, "XNK", **extra)


def ward_stock(hospital, consumable) -> int:
    return (
        StockBalance.objects.filter(
            location__department=hospital["ward"], consumable=consumable
        ).aggregate(total=Sum("quantity"))["total"]
        or 0
    )


def kit_order(hospital, order_id="YZ-KIT-1", quantity=1, code=KIT_CODE):
    return DoctorOrder.objects.create(
        order_id=order_id,
        encounter=hospital["encounter"],
        order_code=code,
        quantity=quantity,
        ordered_at=timezone.now(),
        doctor="李医生",
    )


@pytest.fixture
def cvc_kit(hospital):
    """中心静脉置管套包: a catheter, a dressing and a syringe, none with its own order."""
    catheter = stocked_item(hospital, "690555100001", price="320", name="中心静脉导管")
    dressing = stocked_item(hospital, "690555100002", price="18.5", name="透明敷贴")
    syringe = stocked_item(hospital, "690555100003", price="2.4", name="预充式冲洗器")
    kit = kit_upsert(
        order_code=KIT_CODE,
        name="中心静脉置管套包",
        components=[(catheter[0], 1), (dressing[0], 2), (syringe[0], 1)],
    )
    return {"kit": kit, "catheter": catheter, "dressing": dressing, "syringe": syringe}


@pytest.fixture
def page_client():
    def make(username, role, *departments):
        client = client_for(username, role, *departments)
        client.force_login(client.user)
        return client

    return make


def rows(html: str) -> dict[str, str]:
    """material code -> status of each row on the page."""
    return dict(re.findall(r'data-material="([^"]+)" data-status="([^"]+)"', html))


def test_kit_order_charges_only_the_components_used_each_at_its_own_price_and_codes(
    hospital, cvc_kit
):
    order = kit_order(hospital)
    nurse = hospital["nurse"]
    (catheter, catheter_di, (catheter_code,)) = cvc_kit["catheter"]
    (dressing, dressing_di, (dressing_code,)) = cvc_kit["dressing"]
    syringe = cvc_kit["syringe"][0]

    first = use(nurse, catheter_code)
    second = use(nurse, dressing_code, quantity=2)

    assert first.status_code == 201, first.json()
    assert second.status_code == 201, second.json()
    lines = {line.consumable_id: line for line in ChargeLine.objects.all()}
    assert set(lines) == {catheter.pk, dressing.pk}
    for consumable, di, quantity, price, amount in (
        (catheter, catheter_di, 1, "320.0000", "320.00"),
        (dressing, dressing_di, 2, "18.5000", "37.00"),
    ):
        line = lines[consumable.pk]
        assert (
            line.material_code,
            line.charge_code,
            line.order_code,
            line.insurance_code,
            line.udi_di,
        ) == (
            consumable.material_code,
            consumable.charge_code,
            consumable.order_code,
            consumable.insurance_code,
            di,
        )
        assert (line.quantity, str(line.unit_price), str(line.amount)) == (quantity, price, amount)
        assert line.order == order
    assert ward_stock(hospital, syringe) == 10
    assert not StockMove.objects.filter(kind="use", lot__consumable=syringe).exists()


def test_uses_of_kit_components_link_to_the_kit_order_without_no_order_warning(
    hospital, cvc_kit
):
    order = kit_order(hospital)
    nurse = hospital["nurse"]
    for item in ("catheter", "dressing"):
        response = use(nurse, cvc_kit[item][2][0])
        assert response.json()["warnings"] == []
    assert {u.order for u in Use.objects.all()} == {order}
    assert all(u.warnings == [] for u in Use.objects.all())


def test_kit_component_without_a_kit_order_still_warns_no_order(hospital, cvc_kit):
    response = use(hospital["nurse"], cvc_kit["catheter"][2][0])
    assert response.json()["warnings"] == ["NO_ORDER"]
    assert Use.objects.get().order is None


def test_inactive_kit_no_longer_covers_its_components(hospital, cvc_kit):
    kit_order(hospital)
    Kit.objects.filter(pk=cvc_kit["kit"].pk).update(is_active=False)
    response = use(hospital["nurse"], cvc_kit["catheter"][2][0])
    assert response.json()["warnings"] == ["NO_ORDER"]


def test_the_items_own_order_comes_before_a_kit_order(hospital, cvc_kit):
    kit_order(hospital)
    catheter = cvc_kit["catheter"][0]
    own = DoctorOrder.objects.create(
        order_id="YZ-OWN",
        encounter=hospital["encounter"],
        order_code=catheter.order_code,
        ordered_at=timezone.now(),
    )
    use(hospital["nurse"], cvc_kit["catheter"][2][0])
    assert Use.objects.get().order == own


def test_second_kit_order_takes_the_uses_beyond_the_first_kits_plan(hospital, cvc_kit):
    first = kit_order(hospital, "YZ-KIT-1")
    second = kit_order(hospital, "YZ-KIT-2")
    code = cvc_kit["catheter"][2][0]
    use(hospital["nurse"], code)
    use(hospital["nurse"], code)
    assert [u.order for u in Use.objects.order_by("pk")] == [first, second]


def test_use_beyond_every_kits_plan_goes_to_the_earliest_kit_order(hospital, cvc_kit):
    first = kit_order(hospital, "YZ-KIT-1")
    code = cvc_kit["catheter"][2][0]
    use(hospital["nurse"], code)
    response = use(hospital["nurse"], code)
    assert response.json()["warnings"] == []
    assert [u.order for u in Use.objects.order_by("pk")] == [first, first]
    (usage,) = encounter_kit_usage(encounter=hospital["encounter"])
    assert usage.components[0].status == "over"


def test_usage_counts_uses_net_of_returns_and_charges_net_of_refunds(hospital, cvc_kit):
    kit_order(hospital)
    nurse = hospital["nurse"]
    dressing_code = cvc_kit["dressing"][2][0]
    use(nurse, dressing_code, quantity=2)
    back = post_scan(nurse, "return", dressing_code, "XNK", encounter="ZY001", quantity=1)
    assert back.status_code == 201, back.json()

    (usage,) = encounter_kit_usage(encounter=hospital["encounter"])
    dressing = next(
        c for c in usage.components if c.consumable.pk == cvc_kit["dressing"][0].pk
    )
    assert (dressing.planned, dressing.used, dressing.charged, str(dressing.amount)) == (
        2,
        1,
        1,
        "18.50",
    )
    assert dressing.status == "partial"
    assert {c.consumable.pk for c in usage.unused} == {
        cvc_kit["catheter"][0].pk,
        cvc_kit["syringe"][0].pk,
    }


def test_planned_quantity_is_per_kit_times_kits_ordered(hospital, cvc_kit):
    kit_order(hospital, quantity=2)
    (usage,) = encounter_kit_usage(encounter=hospital["encounter"])
    planned = {c.consumable.pk: c.planned for c in usage.components}
    assert planned[cvc_kit["dressing"][0].pk] == 4


def test_item_used_under_the_kit_order_but_not_in_the_kit_is_listed_apart(hospital, cvc_kit):
    kit_order(hospital)
    gauze, _, (code,) = stocked_item(hospital, "690555100009", price="3")
    use(hospital["nurse"], code, order="YZ-KIT-1")
    (usage,) = encounter_kit_usage(encounter=hospital["encounter"])
    outside = usage.components[-1]
    assert (outside.consumable, outside.planned, outside.used, outside.status) == (
        gauze,
        None,
        1,
        "outside",
    )


def test_kits_page_shows_the_unused_component_as_not_used(hospital, cvc_kit, page_client):
    kit_order(hospital)
    nurse = hospital["nurse"]
    use(nurse, cvc_kit["catheter"][2][0])
    use(nurse, cvc_kit["dressing"][2][0], quantity=2)
    client = page_client("nurse02", roles.NURSE, hospital["ward"])

    response = client.get(PAGE)

    assert response.status_code == 200
    html = response.content.decode()
    assert rows(html) == {
        cvc_kit["catheter"][0].material_code: "used",
        cvc_kit["dressing"][0].material_code: "used",
        cvc_kit["syringe"][0].material_code: "unused",
    }
    syringe_row = re.search(
        rf'data-material="{cvc_kit["syringe"][0].material_code}".*?</tr>', html, re.S
    ).group(0)
    assert "未使用" in syringe_row
    assert "中心静脉置管套包" in html and "YZ-KIT-1" in html


def test_kits_page_says_so_when_the_encounter_has_no_kit_order(hospital, page_client):
    client = page_client("nurse02", roles.NURSE, hospital["ward"])
    response = client.get(PAGE)
    assert response.status_code == 200
    assert 'id="no-kits"' in response.content.decode()


def test_kits_page_query_count_does_not_grow_with_kit_orders(hospital, cvc_kit, page_client):
    client = page_client("audit01", roles.INSURANCE_OFFICE)
    kit_order(hospital, "YZ-KIT-1")
    use(hospital["nurse"], cvc_kit["catheter"][2][0])
    with CaptureQueriesContext(connection) as one:
        assert client.get(PAGE).status_code == 200
    for n in range(2, 6):
        kit_order(hospital, f"YZ-KIT-{n}")
        use(hospital["nurse"], cvc_kit["dressing"][2][0])
    with CaptureQueriesContext(connection) as many:
        assert client.get(PAGE).status_code == 200
    assert len(many.captured_queries) == len(one.captured_queries)


@pytest.mark.parametrize(
    ("role", "on_ward", "status"),
    [
        (roles.NURSE, True, 200),
        (roles.NURSE, False, 403),
        (roles.INSURANCE_OFFICE, False, 200),
        (roles.ADMINISTRATOR, False, 200),
        (roles.FINANCE, False, 200),  # finance reads everything
        (roles.STOREKEEPER, True, 403),
        (roles.PRICING_OFFICE, False, 403),
    ],
)
def test_kits_page_roles(hospital, page_client, role, on_ward, status):
    other = DepartmentFactory(code="WK", name="外科病区")
    client = page_client("someone", role, hospital["ward"] if on_ward else other)
    assert client.get(PAGE).status_code == status


def test_kits_page_asks_an_anonymous_user_to_log_in(hospital, client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_kits_page_of_an_unknown_visit_is_not_found(hospital, page_client):
    client = page_client("audit01", roles.INSURANCE_OFFICE)
    assert client.get("/billing/kits/NOPE/").status_code == 404


def test_kit_upsert_replaces_the_components(hospital):
    a, b, c = ConsumableFactory(), ConsumableFactory(), ConsumableFactory()
    kit_upsert(order_code=KIT_CODE, name="套包", components=[(a, 1), (b, 2)])
    kit = kit_upsert(order_code=KIT_CODE, name="套包（新）", components=[(b, 3), (c, 1)])
    assert kit.name == "套包（新）"
    assert {(k.consumable_id, k.quantity) for k in kit.components.all()} == {
        (b.pk, 3),
        (c.pk, 1),
    }
    assert Kit.objects.count() == 1


def test_kit_order_code_may_not_be_a_consumables_order_code(hospital):
    item = ConsumableFactory()
    with pytest.raises(ValidationError):
        kit_upsert(order_code=item.order_code, name="套包", components=[(item, 1)])


def test_admin_adds_a_kit_with_its_components_inline(hospital, admin_client):
    a, b = ConsumableFactory(), ConsumableFactory()
    prefix = "components"
    response = admin_client.post(
        "/admin/billing/kit/add/",
        {
            "order_code": KIT_CODE,
            "name": "中心静脉置管套包",
            "is_active": "on",
            f"{prefix}-TOTAL_FORMS": "2",
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
            f"{prefix}-0-consumable": str(a.pk),
            f"{prefix}-0-quantity": "1",
            f"{prefix}-1-consumable": str(b.pk),
            f"{prefix}-1-quantity": "2",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    kit = Kit.objects.get(order_code=KIT_CODE)
    assert {(k.consumable_id, k.quantity) for k in kit.components.all()} == {
        (a.pk, 1),
        (b.pk, 2),
    }
    assert admin_client.get("/admin/billing/kit/").status_code == 200
