"""Stocktake (盘点): count, submit, second-person confirmation, adjustments in the ledger."""

import datetime as dt
import threading

import pytest
from django.contrib.auth.models import Group, User
from django.db import IntegrityError, connections, transaction
from django.test import Client
from django.utils import timezone

from config import roles
from config.errors import DomainError
from consumables.models import Consumable
from consumables.udi import gtin_check_digit
from inventory.ledger import NewMove, department_location, post_moves, virtual_location
from inventory.models import Lot, StockBalance, StockMove, Stocktake, TrackedUnit
from inventory.services import stocktake as st
from organisation.models import Department, Location
from tests.factories import ConsumableFactory, DepartmentFactory, DeviceIdentifierFactory

GS = "\x1d"


def gtin(body12: str) -> str:
    body = "0" + body12
    return body + gtin_check_digit(body)


def gs1(di, lot=None, serial=None):
    expiry = (timezone.localdate() + dt.timedelta(days=365)).strftime("%y%m%d")
    code = f"01{di}17{expiry}"
    if lot:
        code += f"10{lot}"
    if serial:
        code += (GS if lot else "") + f"21{serial}"
    return code


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


def item(di_body, tracking=Consumable.Tracking.LOT):
    consumable = ConsumableFactory(tracking=tracking)
    di = DeviceIdentifierFactory(consumable=consumable, udi_di=gtin(di_body))
    return consumable, di.udi_di


def put(location, consumable, lot_no, quantity, source=None):
    """Stock arrives at ``location`` through the ledger (as a receive would post it)."""
    lot, _ = Lot.objects.get_or_create(consumable=consumable, lot_no=lot_no)
    with transaction.atomic():
        post_moves(
            [
                NewMove(
                    kind="receive",
                    lot=lot,
                    quantity=quantity,
                    from_location=source or virtual_location(Location.Usage.SUPPLIER),
                    to_location=location,
                    occurred_at=timezone.now(),
                )
            ]
        )
    return lot


def put_units(location, consumable, lot_no, *serials):
    lot = put(location, consumable, lot_no, len(serials))
    TrackedUnit.objects.bulk_create(
        [
            TrackedUnit(
                consumable=consumable,
                lot=lot,
                serial=s,
                location=location,
                received_at=timezone.now(),
            )
            for s in serials
        ]
    )
    return lot


def on_hand(location, lot):
    row = StockBalance.objects.filter(location=location, lot=lot).first()
    return row.quantity if row else 0


def refused(expected, call, /, **kwargs):
    with pytest.raises(DomainError) as info:
        call(**kwargs)
    assert info.value.code == expected, info.value
    assert info.value.message
    return info.value


@pytest.fixture
def store(db):
    return DepartmentFactory(code="CK01", name="中心库房", kind=Department.Kind.STORE)


@pytest.fixture
def ward(db):
    return DepartmentFactory(code="XNK", name="心内科病区")


@pytest.fixture
def counter(store, ward):
    return person("keeper1", roles.STOREKEEPER, store, ward)


@pytest.fixture
def checker(store, ward):
    return person("keeper2", roles.STOREKEEPER, store, ward)


@pytest.fixture
def counted_store(store, counter):
    """The store holds lot A ×10 and lot B ×5; the count finds 12 of A and 3 of B."""
    consumable, di = item("690123401001")
    location = department_location(store)
    lot_a = put(location, consumable, "A", 10)
    lot_b = put(location, consumable, "B", 5)
    stocktake = st.stocktake_open(department=store, user=counter)
    st.stocktake_count(stocktake_id=stocktake.pk, code=gs1(di, "A"), quantity=12, user=counter)
    st.stocktake_count(stocktake_id=stocktake.pk, code=gs1(di, "B"), quantity=3, user=counter)
    st.stocktake_submit(stocktake_id=stocktake.pk, user=counter)
    lines = {line.lot.lot_no: line.pk for line in stocktake.lines.select_related("lot")}
    return {
        "stocktake": stocktake,
        "location": location,
        "lots": (lot_a, lot_b),
        "reasons": {lines["A"]: "上次入库少录", lines["B"]: "破损未报"},
        "di": di,
    }


def test_confirmed_count_brings_balances_to_counted_with_adjustment_moves(
    counted_store, checker
):
    data = counted_store
    st.stocktake_confirm(
        stocktake_id=data["stocktake"].pk, user=checker, reasons=data["reasons"]
    )
    lot_a, lot_b = data["lots"]
    location, adjustment = data["location"], virtual_location(Location.Usage.ADJUSTMENT)
    assert (on_hand(location, lot_a), on_hand(location, lot_b)) == (12, 3)
    adjustments = set(
        StockMove.objects.filter(kind="adjust").values_list(
            "lot__lot_no", "from_location", "to_location", "quantity"
        )
    )
    assert adjustments == {
        ("A", adjustment.pk, location.pk, 2),
        ("B", location.pk, adjustment.pk, 2),
    }
    assert StockMove.objects.exclude(kind__in=["receive", "adjust"]).count() == 0
    stocktake = Stocktake.objects.get()
    assert (stocktake.status, stocktake.confirmed_by) == (Stocktake.Status.POSTED, checker)


def test_counter_may_not_confirm_own_count_and_nothing_is_posted(counted_store, counter):
    data = counted_store
    error = refused(
        "SELF_CONFIRMATION",
        st.stocktake_confirm,
        stocktake_id=data["stocktake"].pk,
        user=counter,
        reasons=data["reasons"],
    )
    assert error.http_status == 403
    assert not StockMove.objects.filter(kind="adjust").exists()
    assert Stocktake.objects.get().status == Stocktake.Status.SUBMITTED
    assert on_hand(data["location"], data["lots"][0]) == 10


def test_someone_who_scanned_lines_may_not_confirm(store, counter, checker):
    consumable, di = item("690123401002")
    put(department_location(store), consumable, "A", 4)
    stocktake = st.stocktake_open(department=store, user=counter)
    st.stocktake_count(stocktake_id=stocktake.pk, code=gs1(di, "A"), quantity=4, user=checker)
    st.stocktake_submit(stocktake_id=stocktake.pk, user=counter)
    refused("SELF_CONFIRMATION", st.stocktake_confirm, stocktake_id=stocktake.pk, user=checker)


def test_confirming_twice_is_refused(counted_store, checker, store):
    data = counted_store
    third = person("keeper3", roles.STOREKEEPER, store)
    st.stocktake_confirm(stocktake_id=data["stocktake"].pk, user=checker, reasons=data["reasons"])
    moves = StockMove.objects.count()
    refused(
        "ALREADY_POSTED",
        st.stocktake_confirm,
        stocktake_id=data["stocktake"].pk,
        user=third,
        reasons=data["reasons"],
    )
    assert StockMove.objects.count() == moves
    assert on_hand(data["location"], data["lots"][0]) == 12


def test_database_refuses_a_posted_count_confirmed_by_its_counter(counted_store, counter):
    stocktake = counted_store["stocktake"]
    with pytest.raises(IntegrityError), transaction.atomic():
        Stocktake.objects.filter(pk=stocktake.pk).update(
            status=Stocktake.Status.POSTED, confirmed_by=counter
        )


def test_difference_without_reason_is_refused_and_nothing_posted(counted_store, checker):
    data = counted_store
    reasons = dict(list(data["reasons"].items())[:1])
    error = refused(
        "VALIDATION_ERROR",
        st.stocktake_confirm,
        stocktake_id=data["stocktake"].pk,
        user=checker,
        reasons=reasons,
    )
    assert error.detail["reason"] == "REASON_REQUIRED"
    assert not StockMove.objects.filter(kind="adjust").exists()


def test_counting_stops_once_submitted(counted_store, counter):
    data = counted_store
    refused(
        "STOCKTAKE_NOT_OPEN",
        st.stocktake_count,
        stocktake_id=data["stocktake"].pk,
        code=gs1(data["di"], "A"),
        user=counter,
    )


def test_second_live_count_of_a_location_is_refused(store, counter, checker):
    first = st.stocktake_open(department=store, user=counter)
    error = refused("STOCKTAKE_IN_PROGRESS", st.stocktake_open, department=store, user=checker)
    assert error.detail["stocktake"] == first.pk


def test_book_moved_during_the_count_must_be_accepted_then_counted_wins(
    store, ward, counter, checker
):
    consumable, di = item("690123401003")
    location = department_location(store)
    lot = put(location, consumable, "A", 10)
    stocktake = st.stocktake_open(department=store, user=counter)
    with transaction.atomic():  # 2 issued to the ward while the count is open
        post_moves(
            [
                NewMove(
                    kind="issue",
                    lot=lot,
                    quantity=2,
                    from_location=location,
                    to_location=department_location(ward),
                    occurred_at=timezone.now(),
                )
            ]
        )
    st.stocktake_count(stocktake_id=stocktake.pk, code=gs1(di, "A"), quantity=7, user=counter)
    st.stocktake_submit(stocktake_id=stocktake.pk, user=counter)
    line = stocktake.lines.get()
    error = refused(
        "STOCK_MOVED_DURING_COUNT",
        st.stocktake_confirm,
        stocktake_id=stocktake.pk,
        user=checker,
        reasons={line.pk: "丢失"},
    )
    assert error.detail["lines"][0]["on_hand"] == 8
    st.stocktake_confirm(
        stocktake_id=stocktake.pk, user=checker, reasons={line.pk: "丢失"}, accept_drift=True
    )
    line.refresh_from_db()
    assert (on_hand(location, lot), line.on_hand_at_post, line.adjusted) == (7, 8, -1)


def test_typed_material_code_counts_the_only_lot_of_the_item(store, counter):
    consumable, _ = item("690123401004")
    lot = put(department_location(store), consumable, "ONLY", 6)
    stocktake = st.stocktake_open(department=store, user=counter)
    result = st.stocktake_count(
        stocktake_id=stocktake.pk, code=consumable.material_code, quantity=6, user=counter
    )
    assert (result.line.lot, result.line.counted, result.line.expected) == (lot, 6, 6)


def test_lot_item_with_several_lots_needs_the_lot(store, counter):
    consumable, _ = item("690123401005")
    put(department_location(store), consumable, "L1", 1)
    put(department_location(store), consumable, "L2", 1)
    stocktake = st.stocktake_open(department=store, user=counter)
    error = refused(
        "VALIDATION_ERROR",
        st.stocktake_count,
        stocktake_id=stocktake.pk,
        code=consumable.material_code,
        quantity=1,
        user=counter,
    )
    assert (error.detail["reason"], error.detail["lots"]) == ("LOT_REQUIRED", ["L1", "L2"])


@pytest.fixture
def ward_units(ward):
    consumable, di = item("690123401010", tracking=Consumable.Tracking.UNIT)
    location = department_location(ward)
    lot = put_units(location, consumable, "K1", "SN1", "SN2")
    return {"consumable": consumable, "di": di, "lot": lot, "location": location}


def test_tracked_unit_is_counted_once_by_its_serial_and_the_missing_one_leaves(
    ward, ward_units, counter, checker
):
    data = ward_units
    stocktake = st.stocktake_open(department=ward, user=counter)
    code = gs1(data["di"], "K1", serial="SN1")
    result = st.stocktake_count(stocktake_id=stocktake.pk, code=code, user=counter)
    assert (result.quantity, result.serial, result.line.counted) == (1, "SN1", 1)
    again = {"stocktake_id": stocktake.pk, "code": code, "user": counter}
    refused("ALREADY_COUNTED", st.stocktake_count, **again)
    st.stocktake_submit(stocktake_id=stocktake.pk, user=counter)
    line = stocktake.lines.get()
    posted = st.stocktake_confirm(
        stocktake_id=stocktake.pk, user=checker, reasons={line.pk: "未找到"}
    )
    assert posted.missing_serials == ["SN2"]
    assert on_hand(data["location"], data["lot"]) == 1
    units = dict(TrackedUnit.objects.values_list("serial", "location"))
    assert units == {"SN1": data["location"].pk, "SN2": None}


def test_unit_found_missing_may_be_counted_back_by_the_next_count(
    ward, ward_units, counter, checker
):
    data = ward_units
    first = st.stocktake_open(department=ward, user=counter)
    st.stocktake_count(
        stocktake_id=first.pk, code=gs1(data["di"], "K1", serial="SN1"), user=counter
    )
    st.stocktake_submit(stocktake_id=first.pk, user=counter)
    line = first.lines.get()
    st.stocktake_confirm(stocktake_id=first.pk, user=checker, reasons={line.pk: "未找到"})
    again = st.stocktake_open(department=ward, user=counter)
    for serial in ("SN1", "SN2"):
        result = st.stocktake_count(
            stocktake_id=again.pk, code=gs1(data["di"], "K1", serial=serial), user=counter
        )
    assert "UNIT_WAS_MISSING" in result.warnings
    st.stocktake_submit(stocktake_id=again.pk, user=counter)
    line = again.lines.get()
    st.stocktake_confirm(stocktake_id=again.pk, user=checker, reasons={line.pk: "找回"})
    assert on_hand(data["location"], data["lot"]) == 2
    assert TrackedUnit.objects.get(serial="SN2").location == data["location"]


def test_unit_recorded_at_another_location_is_transferred_here_when_posted(
    store, ward, counter, checker
):
    consumable, di = item("690123401011", tracking=Consumable.Tracking.UNIT)
    store_location, ward_location = department_location(store), department_location(ward)
    lot = put_units(store_location, consumable, "K2", "SN9")
    stocktake = st.stocktake_open(department=ward, user=counter)
    result = st.stocktake_count(
        stocktake_id=stocktake.pk, code=gs1(di, "K2", serial="SN9"), user=counter
    )
    assert "UNIT_RECORDED_ELSEWHERE" in result.warnings
    st.stocktake_submit(stocktake_id=stocktake.pk, user=counter)
    st.stocktake_confirm(stocktake_id=stocktake.pk, user=checker)
    assert (on_hand(store_location, lot), on_hand(ward_location, lot)) == (0, 1)
    assert TrackedUnit.objects.get(serial="SN9").location == ward_location
    assert list(StockMove.objects.exclude(kind="receive").values_list("kind", flat=True)) == [
        "transfer"
    ]


def test_unit_recorded_as_used_is_refused(ward, ward_units, counter):
    TrackedUnit.objects.filter(serial="SN1").update(location=None)
    stocktake = st.stocktake_open(department=ward, user=counter)
    refused(
        "UNIT_LEFT_STOCK",
        st.stocktake_count,
        stocktake_id=stocktake.pk,
        code=gs1(ward_units["di"], "K1", serial="SN1"),
        user=counter,
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_people_confirming_at_once_post_once():
    store = DepartmentFactory(code="CK01", kind=Department.Kind.STORE)
    counter = person("keeper1", roles.STOREKEEPER, store)
    checkers = [person(f"check{i}", roles.STOREKEEPER, store) for i in range(2)]
    consumable, di = item("690123401020")
    location = department_location(store)
    lot = put(location, consumable, "A", 10)
    stocktake = st.stocktake_open(department=store, user=counter)
    st.stocktake_count(stocktake_id=stocktake.pk, code=gs1(di, "A"), quantity=4, user=counter)
    st.stocktake_submit(stocktake_id=stocktake.pk, user=counter)
    reasons = {stocktake.lines.get().pk: "过期报损未登记"}
    barrier, outcomes = threading.Barrier(2), []

    def confirm(user):
        try:
            barrier.wait()
            st.stocktake_confirm(stocktake_id=stocktake.pk, user=user, reasons=reasons)
            outcomes.append("posted")
        except DomainError as error:
            outcomes.append(error.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=confirm, args=(u,)) for u in checkers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ALREADY_POSTED", "posted"]
    assert StockMove.objects.filter(kind="adjust").count() == 1
    assert on_hand(location, lot) == 4


# Pages


def test_count_confirmed_through_the_pages(store, counter, checker):
    consumable, di = item("690123401030")
    location = department_location(store)
    lot = put(location, consumable, "A", 5)
    page = browser(counter)
    started = page.post("/inventory/stocktake/", {"department": store.pk})
    assert started.status_code == 302
    stocktake = Stocktake.objects.get()
    assert started["Location"] == f"/inventory/stocktake/{stocktake.pk}/"
    page.post(f"/inventory/stocktake/{stocktake.pk}/scan/", {"code": gs1(di, "A"), "quantity": 6})
    detail = page.get(f"/inventory/stocktake/{stocktake.pk}/")
    assert detail.status_code == 200
    assert "<input data-scanbox" in detail.content.decode()
    assert 'class="surplus"' in detail.content.decode()
    page.post(f"/inventory/stocktake/{stocktake.pk}/submit/")
    own = page.post(f"/inventory/stocktake/{stocktake.pk}/confirm/")
    assert own.status_code == 403
    line = stocktake.lines.get()
    confirm_page = browser(checker).get(f"/inventory/stocktake/{stocktake.pk}/confirm/")
    assert confirm_page.status_code == 200
    assert f'name="reason_{line.pk}"' in confirm_page.content.decode()
    posted = browser(checker).post(
        f"/inventory/stocktake/{stocktake.pk}/confirm/", {f"reason_{line.pk}": "赠品未入库"}
    )
    assert posted.status_code == 302
    assert on_hand(location, lot) == 6


def test_nurse_may_count_her_ward_but_not_the_store(store, ward):
    nurse = person("nurse1", roles.NURSE, ward, store)
    page = browser(nurse)
    assert page.get("/inventory/stocktake/").status_code == 200
    assert page.post("/inventory/stocktake/", {"department": ward.pk}).status_code == 302
    assert page.post("/inventory/stocktake/", {"department": store.pk}).status_code == 400
    keeper = person("keeper9", roles.STOREKEEPER, store)
    store_count = st.stocktake_open(department=store, user=keeper)
    assert page.get(f"/inventory/stocktake/{store_count.pk}/").status_code == 403


@pytest.mark.parametrize("role", [roles.PROCUREMENT, roles.PRICING_OFFICE, roles.SUPPLIER])
def test_stocktake_pages_are_forbidden_to_other_roles(store, counter, role):
    stocktake = st.stocktake_open(department=store, user=counter)
    page = browser(person("other", role, store))
    for url in (
        "/inventory/stocktake/",
        f"/inventory/stocktake/{stocktake.pk}/",
        f"/inventory/stocktake/{stocktake.pk}/confirm/",
    ):
        assert page.get(url).status_code == 403, url


@pytest.mark.parametrize("role", [roles.FINANCE, roles.INSURANCE_OFFICE])
def test_finance_and_insurance_read_every_count_but_count_nothing(counted_store, counter, role):
    stocktake = counted_store["stocktake"]
    stocktake.refresh_from_db()
    page = browser(person("reader", role))  # no department: these offices read all of them
    listing = page.get("/inventory/stocktake/")
    assert listing.status_code == 200
    assert f"/inventory/stocktake/{stocktake.pk}/" in listing.content.decode()
    assert "开始盘点" not in listing.content.decode()
    detail = page.get(f"/inventory/stocktake/{stocktake.pk}/")
    assert detail.status_code == 200
    html = detail.content.decode()
    assert "<form" not in html.split("</header>", 1)[1]  # no counting, submitting or posting
    start = page.post("/inventory/stocktake/", {"department": stocktake.department_id})
    assert start.status_code == 403
    assert page.get(f"/inventory/stocktake/{stocktake.pk}/confirm/").status_code == 403
    scan = page.post(f"/inventory/stocktake/{stocktake.pk}/scan/", {"code": "X", "quantity": 1})
    assert scan.status_code == 403
    assert Stocktake.objects.get(pk=stocktake.pk).status == stocktake.status == "submitted"
    assert Stocktake.objects.count() == 1


def test_stocktake_pages_need_a_login(store, counter):
    response = Client().get("/inventory/stocktake/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_storekeeper_may_not_open_another_departments_count(store, ward, counter):
    other = person("keeper5", roles.STOREKEEPER, ward)
    stocktake = st.stocktake_open(department=store, user=counter)
    assert browser(other).get(f"/inventory/stocktake/{stocktake.pk}/").status_code == 403


def test_posted_count_page_shows_what_was_adjusted_and_why(counted_store, checker, counter):
    data = counted_store
    st.stocktake_confirm(stocktake_id=data["stocktake"].pk, user=checker, reasons=data["reasons"])
    page = browser(counter).get(f"/inventory/stocktake/{data['stocktake'].pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "破损未报" in html and "已过账" in html
    assert "<input data-scanbox" not in html


def test_confirm_page_asks_to_accept_drift(store, ward, counter, checker):
    consumable, di = item("690123401031")
    location = department_location(store)
    lot = put(location, consumable, "A", 3)
    stocktake = st.stocktake_open(department=store, user=counter)
    put(location, consumable, "A", 2)  # received while counting
    st.stocktake_count(stocktake_id=stocktake.pk, code=gs1(di, "A"), quantity=5, user=counter)
    st.stocktake_submit(stocktake_id=stocktake.pk, user=counter)
    page = browser(checker)
    url = f"/inventory/stocktake/{stocktake.pk}/confirm/"
    shown = page.get(url).content.decode()
    assert 'name="accept_drift"' in shown and 'class="num drift"' in shown
    refused_page = page.post(url)
    assert refused_page.status_code == 409
    assert "STOCK_MOVED_DURING_COUNT" in refused_page.content.decode()
    assert page.post(url, {"accept_drift": "1"}).status_code == 302
    assert on_hand(location, lot) == 5
