"""The stock ledger: append-only, balances kept in step, never negative, race-free."""

import threading

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.errors import DomainError
from inventory.ledger import (
    NewMove,
    department_location,
    forget_virtual_locations,
    kept_balances,
    post_moves,
    rebuild_balances,
    recompute_balances,
    virtual_location,
)
from inventory.models import Lot, StockBalance, StockMove
from organisation.models import Department, Location
from tests.factories import ConsumableFactory, DepartmentFactory


@pytest.fixture
def places(db):
    store = department_location(DepartmentFactory(kind=Department.Kind.STORE, name="中心库房"))
    ward = department_location(DepartmentFactory(name="心内科病区"))
    return {
        "store": store,
        "ward": ward,
        "supplier": virtual_location(Location.Usage.SUPPLIER),
        "patient": virtual_location(Location.Usage.PATIENT),
        "scrap": virtual_location(Location.Usage.SCRAP),
    }


@pytest.fixture
def lot(db):
    return Lot.objects.create(consumable=ConsumableFactory(), lot_no="L2026")


def move(kind, lot, qty, src, dst):
    return NewMove(
        kind=kind,
        lot=lot,
        quantity=qty,
        from_location=src,
        to_location=dst,
        occurred_at=timezone.now(),
    )


def post(*moves):
    with transaction.atomic():
        return post_moves(list(moves))


def on_hand(location, lot):
    row = StockBalance.objects.filter(location=location, lot=lot).first()
    return row.quantity if row else 0


def test_receive_and_issue_update_both_balances(places, lot):
    post(move("receive", lot, 10, places["supplier"], places["store"]))
    post(move("issue", lot, 4, places["store"], places["ward"]))
    assert (on_hand(places["store"], lot), on_hand(places["ward"], lot)) == (6, 4)
    assert StockMove.objects.count() == 2


def test_move_beyond_stock_is_refused_and_writes_nothing(places, lot):
    post(move("receive", lot, 3, places["supplier"], places["store"]))
    with pytest.raises(DomainError) as info:
        post(
            move("issue", lot, 2, places["store"], places["ward"]),
            move("issue", lot, 2, places["store"], places["ward"]),
        )
    assert info.value.code == "NOT_IN_STOCK"
    assert info.value.detail["on_hand"] == 1
    assert on_hand(places["store"], lot) == 3
    assert StockMove.objects.count() == 1


def test_database_refuses_a_negative_balance(places, lot):
    post(move("receive", lot, 1, places["supplier"], places["store"]))
    with pytest.raises(IntegrityError), transaction.atomic():
        StockBalance.objects.filter(location=places["store"]).update(quantity=-1)


KINDS = {
    "receive": ("supplier", "store"),
    "issue": ("store", "ward"),
    "use": ("ward", "patient"),
    "return": ("patient", "ward"),
    "scrap": ("ward", "scrap"),
    "back": ("ward", "store"),
}


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(KINDS)), st.integers(1, 5), st.integers(0, 1)), max_size=25
    )
)
def test_rebuild_from_ledger_equals_kept_balances(places, steps):
    lots = [
        Lot.objects.get_or_create(consumable=c, lot_no="H")[0]
        for c in ConsumableFactory.create_batch(2)
    ]
    for kind, qty, which in steps:
        src, dst = KINDS[kind]
        try:
            post(move(kind, lots[which], qty, places[src], places[dst]))
        except DomainError as error:
            assert error.code == "NOT_IN_STOCK"
    assert all(q >= 0 for q in recompute_balances().values())
    assert kept_balances() == {k: v for k, v in recompute_balances().items() if v}
    assert rebuild_balances() == 0


def test_rebuild_repairs_a_tampered_balance(places, lot):
    post(move("receive", lot, 5, places["supplier"], places["store"]))
    StockBalance.objects.filter(location=places["store"]).update(quantity=2)
    assert rebuild_balances() == 1
    assert on_hand(places["store"], lot) == 5


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE inventory_stockmove SET quantity = quantity + 1",
        "DELETE FROM inventory_stockmove",
    ],
)
def test_postgres_ledger_refuses_raw_update_and_delete(places, lot, sql):
    post(move("receive", lot, 5, places["supplier"], places["store"]))
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert StockMove.objects.get().quantity == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_issues_of_the_last_unit_one_succeeds():
    store = department_location(DepartmentFactory(kind=Department.Kind.STORE))
    wards = [department_location(DepartmentFactory()) for _ in range(2)]
    supplier = virtual_location(Location.Usage.SUPPLIER)
    lot = Lot.objects.create(consumable=ConsumableFactory(), lot_no="LAST")
    post(move("receive", lot, 1, supplier, store))

    barrier = threading.Barrier(2)
    results = []

    def issue(ward):
        try:
            barrier.wait()
            post(move("issue", lot, 1, store, ward))
            results.append("ok")
        except DomainError as error:
            results.append(error.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=issue, args=(w,)) for w in wards]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["NOT_IN_STOCK", "ok"]
    assert on_hand(store, lot) == 0
    assert sum(on_hand(w, lot) for w in wards) == 1
    assert StockMove.objects.filter(kind="issue").count() == 1


@pytest.mark.django_db
def test_a_virtual_location_read_inside_a_transaction_that_rolls_back_is_not_kept():
    """The ids ledger.virtual_location keeps are those of committed reads only (this test's
    transaction never commits): a row a rolled-back transaction saw may be gone after it."""
    forget_virtual_locations()
    with CaptureQueriesContext(connection) as captured:
        first = virtual_location(Location.Usage.PATIENT)
        again = virtual_location(Location.Usage.PATIENT)
    assert first.pk == again.pk
    assert len(captured) == 2  # read again: nothing kept


@pytest.mark.django_db(transaction=True)
def test_a_virtual_location_is_read_once_per_process_once_committed():
    forget_virtual_locations()
    seeded = virtual_location(Location.Usage.PATIENT)  # autocommit: kept at once
    with CaptureQueriesContext(connection) as captured:
        kept = virtual_location(Location.Usage.PATIENT)
    assert len(captured) == 0
    assert (kept.pk, kept.code, kept.is_real) == (seeded.pk, "PATIENT", False)
    assert kept is not virtual_location(Location.Usage.PATIENT)  # each caller its own
